/**
 * Per-kernel profile of one training step on the wasm backend (`deno task profile`).
 *
 *     deno run -A tests/bench/profile_step.ts [--model cnn|resnet20] [--optimizer sgd|sam]
 *       [--steps 5] [--warmup 2] [--clock wall|cpu] [--backend wasm|native] [--threads N]
 *
 * Runs a few warm-up steps, then profiles `--steps` steps and prints, per kernel name, the
 * number of calls per step, the median over steps of the kernel time per step, and its share
 * of the median time of a step (which includes the host read of the loss that ends each step;
 * whatever is not kernel time is JavaScript: tfjs' engine, tapes, tidy). The wasm backend runs
 * kernels synchronously, so each kernel's time is its own.
 *
 * - `--clock wall` (default) uses `tf.profile`. Custom ops (`tf.customGrad`, e.g. BatchNorm)
 *   appear under their scope name, marked "op": their time includes the kernels they run,
 *   which are also listed, so it is left out of the totals.
 * - `--clock cpu` wraps every registered kernel of the backend and charges it the process's
 *   CPU time (`process.cpuUsage`), which other jobs on a busy machine inflate much less than
 *   wall time. Kernels a kernel runs are charged to the outer one. Single-threaded only: with
 *   wasm threads the process's CPU time includes every thread.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { parseArgs } from "node:util";
import { backendInfo, useBackend } from "../../core/backend.ts";
import { makeStepper, type StepModel } from "./step_fixture.ts";

/** One row of a profile: a kernel's (or custom op's) calls and milliseconds per step. */
export interface ProfileRow {
  kernel: string;
  count: number;
  ms: number;
  /** A custom op (not a registered kernel): its time includes kernels listed elsewhere. */
  op: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

type PerStep = Map<string, { count: number; ms: number }>;

function add(m: PerStep, name: string, ms: number): void {
  const entry = m.get(name) ?? { count: 0, ms: 0 };
  entry.count++;
  entry.ms += ms;
  m.set(name, entry);
}

/** One step under `tf.profile`: per kernel (or op) wall time, and the step's wall time. */
async function wallStep(step: () => void): Promise<{ byName: PerStep; total: number }> {
  const t0 = performance.now();
  const info = await tf.profile(() => step());
  const total = performance.now() - t0;
  const byName: PerStep = new Map();
  for (const k of info.kernels) add(byName, k.name, k.kernelTimeMs as number);
  return { byName, total };
}

/** CPU milliseconds since `t0` (a `process.cpuUsage()` reading). */
function cpuSince(t0: { user: number; system: number }): number {
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

/** One step with every kernel of the backend wrapped to charge it the process's CPU time. */
function cpuStep(step: () => void): { byName: PerStep; total: number } {
  const backend = tf.getBackend();
  const originals = tf.getKernelsForBackend(backend);
  const byName: PerStep = new Map();
  let depth = 0;
  for (const k of originals) {
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        if (depth > 0) return k.kernelFunc(args);
        depth++;
        const t0 = process.cpuUsage();
        try {
          return k.kernelFunc(args);
        } finally {
          depth--;
          add(byName, k.kernelName, cpuSince(t0));
        }
      },
    });
  }
  try {
    const t0 = process.cpuUsage();
    step();
    return { byName, total: cpuSince(t0) };
  } finally {
    for (const k of originals) {
      tf.unregisterKernel(k.kernelName, backend);
      tf.registerKernel(k);
    }
  }
}

/** Profiles `steps` steps after `warmup` unprofiled ones; rows sorted by time, descending. */
export async function profileSteps(
  model: StepModel,
  optimizer: "sgd" | "sam",
  options: { steps: number; warmup: number; clock?: "wall" | "cpu" },
): Promise<{ rows: ProfileRow[]; wallMs: number; kernelMs: number }> {
  const step = makeStepper(model, optimizer);
  for (let i = 0; i < options.warmup; i++) step();
  const perStep: PerStep[] = [];
  const walls: number[] = [];
  for (let i = 0; i < options.steps; i++) {
    const { byName, total } = options.clock === "cpu" ? cpuStep(step) : await wallStep(step);
    walls.push(total);
    perStep.push(byName);
  }
  const names = new Set(perStep.flatMap((m) => [...m.keys()]));
  const isOp = (name: string) => tf.getKernel(name, tf.getBackend()) == null;
  const rows = [...names].map((kernel) => ({
    kernel,
    count: perStep[0].get(kernel)?.count ?? 0,
    ms: median(perStep.map((m) => m.get(kernel)?.ms ?? 0)),
    op: isOp(kernel),
  })).sort((a, b) => b.ms - a.ms);
  const kernelSum = (m: Map<string, { ms: number }>) =>
    [...m].reduce((a, [name, e]) => a + (isOp(name) ? 0 : e.ms), 0);
  return { rows, wallMs: median(walls), kernelMs: median(perStep.map(kernelSum)) };
}

/** The profile as a Markdown table (kernel, calls per step, ms per step, share of the step). */
export function profileTable(p: { rows: ProfileRow[]; wallMs: number; kernelMs: number }): string {
  const lines = ["| kernel | calls | ms | share |", "| --- | ---: | ---: | ---: |"];
  const pct = (ms: number) => `${(100 * ms / p.wallMs).toFixed(1)} %`;
  const small = (r: ProfileRow) => !r.op && r.ms / p.wallMs < 0.002;
  for (const r of p.rows) {
    if (small(r)) continue;
    const name = r.op ? `${r.kernel} (op, incl. its kernels)` : r.kernel;
    lines.push(`| ${name} | ${r.count} | ${r.ms.toFixed(1)} | ${pct(r.ms)} |`);
  }
  const rest = p.rows.filter(small);
  if (rest.length > 0) {
    const ms = rest.reduce((a, r) => a + r.ms, 0);
    const count = rest.reduce((a, r) => a + r.count, 0);
    lines.push(`| ${rest.length} other kernels | ${count} | ${ms.toFixed(1)} | ${pct(ms)} |`);
  }
  const js = p.wallMs - p.kernelMs;
  lines.push(`| (outside kernels: JS, engine, host read) | | ${js.toFixed(1)} | ${pct(js)} |`);
  lines.push(`| **step** | | **${p.wallMs.toFixed(1)}** | 100 % |`);
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", default: "cnn" },
      optimizer: { type: "string", default: "sgd" },
      steps: { type: "string", default: "5" },
      warmup: { type: "string", default: "2" },
      clock: { type: "string", default: "wall" },
      backend: { type: "string", default: "wasm" },
      threads: { type: "string", default: "1" },
    },
    strict: true,
  });
  const model = values.model as StepModel;
  if (model !== "cnn" && model !== "resnet20") throw new Error(`unknown --model ${model}`);
  const optimizer = values.optimizer as "sgd" | "sam";
  if (optimizer !== "sgd" && optimizer !== "sam") {
    throw new Error(`unknown --optimizer ${optimizer}`);
  }
  const clock = values.clock as "wall" | "cpu";
  if (clock !== "wall" && clock !== "cpu") throw new Error(`unknown --clock ${clock}`);
  const backend = values.backend as "wasm" | "native";
  if (backend !== "wasm" && backend !== "native") throw new Error(`unknown --backend ${backend}`);
  const threads = Number(values.threads);
  if (backend === "native") await useBackend("native", { threads });
  else await useBackend("wasm", { threads });
  const p = await profileSteps(model, optimizer, {
    steps: Number(values.steps),
    warmup: Number(values.warmup),
    clock,
  });
  const info = backendInfo();
  console.log(
    `${model}, ${optimizer} step, batch 128, ${info.name}, ${info.threadCount} thread(s), ${clock} ` +
      `clock, median of ${values.steps} steps, 1-minute load ${Deno.loadavg()[0].toFixed(2)}\n`,
  );
  console.log(profileTable(p));
}
