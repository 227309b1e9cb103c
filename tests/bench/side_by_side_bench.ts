/**
 * `deno task bench`: our training steps next to PyTorch's, on the same machine, in one run.
 *
 * Runs `step_timing.ts` in a fresh process with 1 and with 2 wasm threads (the thread count
 * is fixed per process), and, when Debian's `python3-torch` is installed (`/usr/bin/python3
 * -c "import torch"` works), `torch_step.py` with 1 and 2 PyTorch threads, then prints one
 * table: SGD step, SAM step, gradient and HVP per model, milliseconds and the ratio ours /
 * PyTorch at equal thread counts, images/s, and the SAM/SGD and HVP/gradient cost ratios.
 * The 1-minute load average before and after is printed too: on a shared machine, compare
 * numbers only from a quiet run (load below ~1.2 with 2 cores).
 *
 * This module registers no `Deno.bench` (the in-process step benchmarks are in
 * `train_bench.ts`); it prints its table when `deno bench` loads it. Set
 * `LATE_SAM_BENCH_SKIP_SIDE_BY_SIDE=1` to skip it, `LATE_SAM_BENCH_MODELS=cnn` to time only
 * some models (about 2.5 minutes for both on a quiet machine).
 *
 * @module
 */
import { WASM_THREADS_ENV } from "../../core/backend.ts";
import { STEP_BATCH, STEP_MODELS, type StepModel } from "./step_fixture.ts";
import type { Timing } from "./step_timing.ts";

const PYTHON = "/usr/bin/python3";
const WHATS = ["sgd", "sam", "grad", "hvp"] as const;
type What = (typeof WHATS)[number];
/** ms by model, what and thread count. */
type Table = Map<string, number>;
const key = (m: string, w: string, t: number) => `${m}/${w}/${t}`;

function decode(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/** Our timings with `threads` wasm threads, from a fresh process. */
async function ours(threads: number, models: readonly StepModel[], into: Table): Promise<void> {
  const script = new URL("./step_timing.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "--models", models.join(",")],
    env: { [WASM_THREADS_ENV]: String(threads) },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(`step_timing.ts failed: ${decode(out.stderr)}`);
  const res = JSON.parse(decode(out.stdout).trim().split("\n").pop()!) as {
    threadCount: number;
    results: Timing[];
  };
  if (res.threadCount !== threads) {
    throw new Error(`asked for ${threads} wasm threads, ran on ${res.threadCount}`);
  }
  for (const r of res.results) into.set(key(r.model, r.what, threads), r.ms);
}

/** PyTorch's timings (threads 1 and 2), or the reason there are none. */
async function pytorch(models: readonly StepModel[], into: Table): Promise<string | null> {
  let probe: Deno.CommandOutput;
  try {
    probe = await new Deno.Command(PYTHON, { args: ["-c", "import torch"], stderr: "piped" })
      .output();
  } catch {
    return `${PYTHON} not found`;
  }
  if (probe.code !== 0) {
    return "PyTorch is not installed (Debian: apt-get install -y python3-torch)";
  }
  const out = await new Deno.Command(PYTHON, {
    args: [
      new URL("./torch_step.py", import.meta.url).pathname,
      ...["--threads", "1,2", "--models", models.join(",")],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(`torch_step.py failed: ${decode(out.stderr)}`);
  const res = JSON.parse(decode(out.stdout)) as {
    torch: string;
    results: { model: string; what: What; threads: number; ms: number }[];
  };
  for (const r of res.results) into.set(key(r.model, r.what, r.threads) + "/torch", r.ms);
  return null;
}

const fmt = (ms: number | undefined) => (ms == null ? "–" : ms.toFixed(ms < 100 ? 1 : 0));
const ratio = (a: number | undefined, b: number | undefined) =>
  a == null || b == null ? "–" : `${(a / b).toFixed(2)}×`;

/** The side-by-side table as Markdown. */
export function sideBySide(t: Table, models: readonly StepModel[]): string {
  const lines = [
    "| model | measured | ours 1 thr (ms) | ours 2 thr | PyTorch 1 thr | PyTorch 2 thr | " +
    "ours/PyTorch 1 thr | ours/PyTorch 2 thr | ours images/s (2 thr) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const label: Record<What, string> = {
    sgd: "SGD step",
    sam: "SAM step",
    grad: "gradient",
    hvp: "HVP",
  };
  for (const m of models) {
    for (const w of WHATS) {
      const o1 = t.get(key(m, w, 1));
      const o2 = t.get(key(m, w, 2));
      const p1 = t.get(key(m, w, 1) + "/torch");
      const p2 = t.get(key(m, w, 2) + "/torch");
      const ips = o2 == null ? "–" : (STEP_BATCH / (o2 / 1000)).toFixed(0);
      lines.push(
        `| ${m} | ${label[w]} | ${fmt(o1)} | ${fmt(o2)} | ${fmt(p1)} | ${fmt(p2)} | ` +
          `${ratio(o1, p1)} | ${ratio(o2, p2)} | ${w === "sgd" || w === "sam" ? ips : ""} |`,
      );
    }
    for (const [w, base, what] of [["sam", "sgd", "SAM/SGD"], ["hvp", "grad", "HVP/gradient"]]) {
      const cell = (threads: number, torch: boolean) => {
        const s = torch ? "/torch" : "";
        return ratio(t.get(key(m, w, threads) + s), t.get(key(m, base, threads) + s));
      };
      lines.push(
        `| ${m} | ${what} cost | ${cell(1, false)} | ${cell(2, false)} | ${cell(1, true)} | ` +
          `${cell(2, true)} | | | |`,
      );
    }
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const wanted = Deno.env.get("LATE_SAM_BENCH_MODELS")?.split(",") ?? [...STEP_MODELS];
  const models = STEP_MODELS.filter((m) => wanted.includes(m));
  const load = () => Deno.loadavg()[0].toFixed(2);
  const before = load();
  const table: Table = new Map();
  await ours(1, models, table);
  await ours(2, models, table);
  const missing = await pytorch(models, table);
  console.log(
    `\nTraining steps, batch ${STEP_BATCH}: ours (tfjs wasm) vs PyTorch (CPU), ` +
      `1-minute load ${before} before, ${load()} after. HVP: ours central-difference ` +
      `(2 gradients), PyTorch exact (double backprop).\n`,
  );
  console.log(sideBySide(table, models));
  if (missing != null) console.log(`\nNo PyTorch column: ${missing}.`);
  console.log();
}

if (Deno.env.get("LATE_SAM_BENCH_SKIP_SIDE_BY_SIDE") !== "1") await main();
