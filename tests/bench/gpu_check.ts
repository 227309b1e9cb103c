/**
 * `deno task gpu-check`: which backends run here, whether they compute what wasm computes,
 * and how fast.
 *
 *     deno task gpu-check [--backends webgpu,tensorflow,native,wasm] [--batch 32] [--steps 3]
 *
 * For each backend, in a fresh process (`--unstable-webgpu` on): a seeded CNN and ResNet-20,
 * two SGD and two SAM steps from the same initial parameters and batch (`step_fixture.ts`),
 * the parameters after them compared with wasm's (max |Δ| / max |wasm|; tolerance 1e-3 for
 * float32 kernels that sum in their own order, TF32 or reduced-precision GPU math shows up
 * above it), then the median time of `--steps` more steps. It prints one table: what ran,
 * what could not load and why. Meant for a machine with a GPU; on a CPU machine webgpu and
 * tensorflow report why they cannot load. Under five minutes on two CPU cores.
 *
 * @module
 */
import { join } from "node:path";
import { CliError, parseToolArgs, runMain } from "../../core/cli.ts";
import { backendInfo, type BackendName, BACKENDS, useBackend } from "../../core/backend.ts";
import { flatParams, makeStepper, STEP_MODELS } from "./step_fixture.ts";

/** Relative difference to wasm above which a backend's steps are reported as differing. */
export const GPU_CHECK_TOLERANCE = 1e-3;

const OPTIMIZERS = ["sgd", "sam"] as const;

const HELP =
  `deno task gpu-check [--backends webgpu,tensorflow,native,wasm] [--batch 32] [--steps 3]

Runs two seeded SGD and SAM steps of the CNN and ResNet-20 on every listed backend (each in
its own process), compares the parameters with wasm's (tolerance ${1e-3}) and times further
steps; prints one table of what ran, what could not load and why. Exits 1 when a backend that
ran differs from wasm.`;

/** What one backend's process reports. */
interface ProbeResult {
  ok: boolean;
  why?: string;
  device?: string;
  /** ms per step by `${model}/${optimizer}`. */
  ms?: Record<string, number>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** In the child process: runs the steps on one backend, writes parameters to `dir`. */
async function probe(backend: BackendName, dir: string, batch: number, steps: number) {
  const result: ProbeResult = { ok: false };
  try {
    await useBackend(backend);
    const info = backendInfo();
    result.device = [info.name, info.library, info.device].filter(Boolean).join(", ");
    result.ms = {};
    for (const model of STEP_MODELS) {
      for (const optimizer of OPTIMIZERS) {
        const step = makeStepper(model, optimizer, batch);
        step();
        const flat = flatParams(step());
        await Deno.writeFile(
          join(dir, `${backend}-${model}-${optimizer}.f32`),
          new Uint8Array(flat.buffer),
        );
        const times: number[] = [];
        for (let i = 0; i < steps; i++) {
          const t0 = performance.now();
          step();
          times.push(performance.now() - t0);
        }
        result.ms[`${model}/${optimizer}`] = median(times);
      }
    }
    result.ok = true;
  } catch (e) {
    result.why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    if (/clearRect/.test(result.why)) {
      result.why += ` (${backend} loads, but tfjs-backend-webgpu reads tensors synchronously ` +
        "through a 2-D canvas, which Deno lacks; training reads losses and weights with dataSync)";
    }
  }
  console.log(JSON.stringify(result));
}

async function readParams(dir: string, name: string): Promise<Float32Array | null> {
  try {
    return new Float32Array((await Deno.readFile(join(dir, name))).buffer);
  } catch {
    return null;
  }
}

function relDiff(a: Float32Array, b: Float32Array): number {
  let err = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return a.length !== b.length ? Infinity : err / (scale || 1);
}

async function main(args: string[]): Promise<void> {
  const parsed = parseToolArgs("gpu-check", args, {
    backends: { type: "string", default: "webgpu,tensorflow,native,wasm" },
    batch: { type: "string", default: "32" },
    steps: { type: "string", default: "3" },
    probe: { type: "string" },
    dir: { type: "string" },
  }, { help: HELP });
  if (parsed == null) return;
  const flags = parsed.values;
  const batch = Number(flags.batch), steps = Number(flags.steps);
  if (!(batch >= 2 && steps >= 1)) throw new CliError("gpu-check: --batch ≥ 2 and --steps ≥ 1");
  if (flags.probe != null) return await probe(flags.probe as BackendName, flags.dir!, batch, steps);
  const backends = String(flags.backends).split(",") as BackendName[];
  for (const b of backends) {
    if (!BACKENDS.includes(b)) throw new Error(`gpu-check: unknown backend ${b}`);
  }
  if (!backends.includes("wasm")) backends.push("wasm");
  const dir = await Deno.makeTempDir({ prefix: "late-sam-gpu-check-" });
  const results = new Map<BackendName, ProbeResult>();
  try {
    for (const backend of backends) {
      const t0 = performance.now();
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--unstable-webgpu",
          new URL(import.meta.url).pathname,
          ...["--probe", backend, "--dir", dir, "--batch", String(batch), "--steps", String(steps)],
        ],
        env: { XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? dir },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const last = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
      let r: ProbeResult;
      try {
        r = JSON.parse(last);
      } catch {
        const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
        r = { ok: false, why: `process failed (exit ${out.code}): ${err}` };
      }
      results.set(backend, r);
      console.error(
        `gpu-check: ${backend} ${r.ok ? "ran" : "could not run"} in ` +
          `${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
    }
    const lines = [
      `Batch ${batch}; parameters after 2 steps compared with wasm (tolerance ` +
      `${GPU_CHECK_TOLERANCE}); ms = median of ${steps} further steps.`,
      "",
      "| backend | device | model | optimizer | max rel. diff vs wasm | ms / step | verdict |",
      "| --- | --- | --- | --- | ---: | ---: | --- |",
    ];
    let failed = false;
    for (const backend of backends) {
      const r = results.get(backend)!;
      if (!r.ok) {
        lines.push(`| ${backend} | – | – | – | – | – | could not load: ${r.why} |`);
        continue;
      }
      for (const model of STEP_MODELS) {
        for (const optimizer of OPTIMIZERS) {
          const name = `-${model}-${optimizer}.f32`;
          const [mine, ref] = await Promise.all([
            readParams(dir, backend + name),
            readParams(dir, "wasm" + name),
          ]);
          const d = mine && ref ? relDiff(mine, ref) : NaN;
          const ok = d <= GPU_CHECK_TOLERANCE;
          failed ||= !ok;
          lines.push(
            `| ${backend} | ${r.device} | ${model} | ${optimizer} | ${d.toExponential(1)} | ` +
              `${r.ms![`${model}/${optimizer}`].toFixed(1)} | ${ok ? "ok" : "DIFFERS"} |`,
          );
        }
      }
    }
    console.log(lines.join("\n"));
    if (failed) throw new Error("gpu-check: a backend's steps differ from wasm's");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
