/**
 * `deno task bench`: our training steps next to PyTorch's, on the same machine, in one run.
 *
 * Runs `step_timing.ts` in a fresh process per backend (native, wasm) and thread count (1, 2;
 * the wasm thread count is fixed per process), and, when Debian's `python3-torch` is installed (`/usr/bin/python3
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
import { STEP_BATCH, STEP_MODELS, type StepModel } from "./step_fixture.ts";
import type { Timing } from "./step_timing.ts";

const PYTHON = "/usr/bin/python3";
const WHATS = ["sgd", "sam", "grad", "hvp"] as const;
type What = (typeof WHATS)[number];
/** Where a timing comes from. */
type Source = "native" | "wasm" | "torch";
/** ms by model, what, thread count and source. */
type Table = Map<string, number>;
const key = (m: string, w: string, t: number, source: Source) => `${m}/${w}/${t}/${source}`;

function decode(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/** Our timings on `backend` with `threads` threads, from a fresh process. */
async function ours(
  backend: Source,
  threads: number,
  models: readonly StepModel[],
  into: Table,
): Promise<string | null> {
  const script = new URL("./step_timing.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      script,
      "--models",
      models.join(","),
      "--backend",
      backend,
      "--threads",
      String(threads),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    const why = decode(out.stderr).trim().split("\n").pop();
    if (backend === "native") return `native: ${why}`;
    throw new Error(`step_timing.ts failed: ${decode(out.stderr)}`);
  }
  const res = JSON.parse(decode(out.stdout).trim().split("\n").pop()!) as {
    threadCount: number;
    results: Timing[];
  };
  if (res.threadCount !== threads) {
    throw new Error(`asked for ${threads} ${backend} threads, ran on ${res.threadCount}`);
  }
  for (const r of res.results) into.set(key(r.model, r.what, threads, backend), r.ms);
  return null;
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
  for (const r of res.results) into.set(key(r.model, r.what, r.threads, "torch"), r.ms);
  return null;
}

const fmt = (ms: number | undefined) => (ms == null ? "–" : ms.toFixed(ms < 100 ? 1 : 0));
const ratio = (a: number | undefined, b: number | undefined) =>
  a == null || b == null ? "–" : `${(a / b).toFixed(2)}×`;

/** The side-by-side table as Markdown. */
export function sideBySide(t: Table, models: readonly StepModel[]): string {
  const columns: [Source, number][] = [
    ["native", 1],
    ["native", 2],
    ["wasm", 1],
    ["wasm", 2],
    ["torch", 1],
    ["torch", 2],
  ];
  const name = (s: Source) => (s === "torch" ? "PyTorch" : s);
  const lines = [
    `| model | measured | ${columns.map(([s, n]) => `${name(s)} ${n} thr`).join(" | ")} | ` +
    "native/PyTorch 1 thr | native/PyTorch 2 thr |",
    `| --- | --- | ${columns.map(() => "---:").join(" | ")} | ---: | ---: |`,
  ];
  const label: Record<What, string> = {
    sgd: "SGD step (ms)",
    sam: "SAM step (ms)",
    grad: "gradient (ms)",
    hvp: "HVP (ms)",
  };
  for (const m of models) {
    for (const w of WHATS) {
      const cells = columns.map(([s, n]) => fmt(t.get(key(m, w, n, s))));
      const vs = [1, 2].map((n) =>
        ratio(t.get(key(m, w, n, "native")), t.get(key(m, w, n, "torch")))
      );
      lines.push(`| ${m} | ${label[w]} | ${cells.join(" | ")} | ${vs.join(" | ")} |`);
    }
    for (const [w, base, what] of [["sam", "sgd", "SAM/SGD"], ["hvp", "grad", "HVP/gradient"]]) {
      const cells = columns.map(([s, n]) =>
        ratio(t.get(key(m, w, n, s)), t.get(key(m, base, n, s)))
      );
      lines.push(`| ${m} | ${what} cost | ${cells.join(" | ")} | | |`);
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
  const missing: string[] = [];
  for (const backend of ["native", "wasm"] as const) {
    for (const threads of [1, 2]) {
      const why = await ours(backend, threads, models, table);
      if (why != null && !missing.includes(why)) missing.push(why);
    }
  }
  const torch = await pytorch(models, table);
  if (torch != null) missing.push(`PyTorch: ${torch}`);
  console.log(
    `\nTraining steps, batch ${STEP_BATCH}: ours (native: oneDNN kernels; wasm: tfjs wasm) ` +
      `vs PyTorch (CPU), ` +
      `1-minute load ${before} before, ${load()} after. HVP: ours central-difference ` +
      `(2 gradients), PyTorch exact (double backprop).\n`,
  );
  console.log(sideBySide(table, models));
  for (const why of missing) console.log(`\nMissing column(s), ${why}.`);
  console.log();
}

if (Deno.env.get("LATE_SAM_BENCH_SKIP_SIDE_BY_SIDE") !== "1") await main();
