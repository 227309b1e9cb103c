/**
 * `deno task theory`: the paper's four theoretical claims (docs/paper.md#theory), checked numerically on
 * problems where everything can be computed exactly, in float64 plain TypeScript.
 *
 *     deno task theory [--scale smoke|small] [--out results] [--force] [--FIELD VALUE ...]
 *
 * Every check runs USAM as the paper's Eq. 4 writes it (one mini-batch for ascent and
 * descent), and each is run a second time as a negative control, outside the theorem's
 * assumptions, where it must say FAIL ("detected"):
 *
 * - P3, Theorem 4.1 (linear stability): every (η, ρ, B) that violates the condition diverges,
 *   USAM's stability region lies inside SGD's and its stability edge in ‖H‖_F² below SGD's,
 *   and the band of minima SGD tolerates and USAM leaves is non-empty
 *   (experiments/theory/p3_stability.ts). Control: full batch (no noise, Assumption 4.1 fails).
 * - P1, Corollary 4.2 (exponential escape): from an SGD-stable minimum in that band,
 *   E[L̃_t] ≥ Cᵗ·L̃₀ exactly and in simulation (p1_escape.ts). Control: full batch.
 * - P2, Proposition 4.1 (stays in the valley): on a 1-D sub-quadratic loss, every start in
 *   (−b, b) stays in (−2b, 2b), also for ηa > 2b under the ρ bound through a (p2_valley.ts).
 *   Control: ρ far above the bound.
 * - P4, Theorem 4.3 (exponential convergence under smoothness + PL): full batch under the
 *   envelope (1 − 2ημc)ᵗ, and the exact E[L̃] of mini-batch USAM contracts
 *   (p4_convergence.ts). Control: f = x⁴, smooth but not PL.
 *
 * Writes `<out>/theory-p1/` … `<out>/theory-p4/` (data.csv, spec.vl.json, figure.svg,
 * figure.png, manifest.json each) and `<out>/theory/` (the summary table as data and chart),
 * and prints a PASS/FAIL line per claim and the summary table. A rerun with the same config
 * and code reuses the stored result; `--force` recomputes.
 *
 * @module
 */
import { type FigureCliSpec, parseFigureArgs, runMain } from "../core/cli.ts";
import { configHash, type Json } from "../core/config.ts";
import { toCsv } from "../core/csv.ts";
import { storeFigure } from "../core/figure.ts";
import { sourceHash } from "../core/provenance.ts";
import type { ChartSpec } from "../core/render.ts";
import { figureDir, isComplete, readManifest } from "../core/store.ts";
import { computeBand } from "./theory/band.ts";
import { type Verdict, verdictLine } from "./theory/common.ts";
import { lsContext } from "./theory/ls_setup.ts";
import { P1_COLUMNS, p1Chart, p1Rows } from "./theory/p1_chart.ts";
import { computeP1 } from "./theory/p1_escape.ts";
import { P2_COLUMNS, p2Chart, p2Rows } from "./theory/p2_chart.ts";
import { computeP2 } from "./theory/p2_valley.ts";
import { P3_COLUMNS, p3Chart, p3Rows } from "./theory/p3_chart.ts";
import { computeP3 } from "./theory/p3_stability.ts";
import { P4_COLUMNS, p4Chart, p4Rows } from "./theory/p4_chart.ts";
import { computeP4 } from "./theory/p4_convergence.ts";
import { THEORY_SCALES, type TheoryConfig, theorySchema } from "./theory/schema.ts";
import { SUMMARY_COLUMNS, summaryChart, summaryRows, summaryTable } from "./theory/summary.ts";

export { THEORY_SCALES, type TheoryConfig, theorySchema } from "./theory/schema.ts";

/** The figure folders the task writes, in claim order, then the summary. */
export const THEORY_FIGURES = [
  "theory-p1",
  "theory-p2",
  "theory-p3",
  "theory-p4",
  "theory",
] as const;

/** The command line of the task. */
export const theoryCli: FigureCliSpec<typeof theorySchema> = {
  name: "theory",
  description:
    "The paper's theory checked numerically (docs/paper.md#theory), one section and chart per " +
    "claim: P3 Theorem 4.1 (USAM's linear stability on least squares with mini-batch noise, " +
    "with the alignment γ), P1 Corollary 4.2 (exponential escape from an SGD-stable minimum), " +
    "P2 Proposition 4.1 (SAM stays in a sub-quadratic valley) and P4 Theorem 4.3 (geometric " +
    "convergence under smoothness + PL). USAM shares one batch between its passes (Eq. 4). " +
    "Prints PASS/FAIL per claim, its negative control (detected when the check says FAIL " +
    "outside the theorem's assumptions) and a summary table.",
  schema: theorySchema,
  scales: THEORY_SCALES,
  defaultScale: "small",
};

/** One figure folder's content. */
export interface TheorySection {
  name: (typeof THEORY_FIGURES)[number];
  table: string;
  chart: ChartSpec;
  summary: Record<string, Json>;
  wallSeconds: number;
}

/** Everything the task computes: the four verdicts and the five folders' contents. */
export interface TheoryResult {
  verdicts: Verdict[];
  sections: TheorySection[];
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const value = f();
  return [value, (performance.now() - t0) / 1000];
}

function section(name: TheorySection["name"], v: Verdict, seconds: number) {
  const control = {
    detected: v.control.detected,
    setting: v.control.setting,
    line: v.control.line,
  };
  return {
    summary: { pass: v.pass, line: v.line, ...v.numbers, control },
    wallSeconds: seconds,
    name,
  };
}

/**
 * Runs the four checks (pure: no files) in dependency order: the least-squares problem and γ,
 * the band, P3, P1, then P2 and P4.
 *
 * @param log receives each PASS/FAIL line as soon as its section is done.
 */
export function computeTheory(
  config: TheoryConfig,
  log: (line: string) => void = () => {},
): TheoryResult {
  const [ctx, tCtx] = timed(() => lsContext(config.seed, config.data, config.gamma));
  const [band, tBand] = timed(() =>
    computeBand(ctx, {
      eta: config.band.eta,
      rho: config.band.rho,
      batch: config.band.batchSize,
      position: config.band.position,
      sweepPoints: config.band.sweepPoints,
      ...config.power,
    })
  );
  const [p3, t3] = timed(() => computeP3(ctx, band, { ...config.p3, ...config.power }));
  log(verdictLine(p3.verdict));
  const [p1, t1] = timed(() => computeP1(ctx, band, config.p1));
  log(verdictLine(p1.verdict));
  const [p2, t2] = timed(() => computeP2(config.p2));
  log(verdictLine(p2.verdict));
  const [p4, t4] = timed(() => computeP4(ctx, config.p4, config.power));
  log(verdictLine(p4.verdict));
  const verdicts = [p1.verdict, p2.verdict, p3.verdict, p4.verdict];
  const sections: TheorySection[] = [
    {
      ...section("theory-p1", p1.verdict, t1),
      table: toCsv(P1_COLUMNS, p1Rows(p1)),
      chart: p1Chart(p1, band, config.p1),
    },
    {
      ...section("theory-p2", p2.verdict, t2),
      table: toCsv(P2_COLUMNS, p2Rows(p2)),
      chart: p2Chart(p2, config.p2),
    },
    {
      ...section("theory-p3", p3.verdict, tCtx + tBand + t3),
      table: toCsv(P3_COLUMNS, p3Rows(ctx, band, p3)),
      chart: p3Chart(ctx, band, p3, config.p3),
    },
    {
      ...section("theory-p4", p4.verdict, t4),
      table: toCsv(P4_COLUMNS, p4Rows(p4)),
      chart: p4Chart(p4, config.p4),
    },
    {
      name: "theory",
      table: toCsv(SUMMARY_COLUMNS, summaryRows(verdicts)),
      chart: summaryChart(verdicts),
      summary: {
        passed: verdicts.filter((v) => v.pass).length,
        failed: verdicts.filter((v) => !v.pass).length,
        controlsDetected: verdicts.filter((v) => v.control.detected).length,
        table: summaryTable(verdicts),
        ...Object.fromEntries(verdicts.map((v) => [v.claim, v.pass ? "PASS" : "FAIL"])),
        controls: Object.fromEntries(
          verdicts.map((v) => [v.claim, v.control.detected ? "detected" : "MISSED"]),
        ),
      },
      wallSeconds: tCtx + tBand + t1 + t2 + t3 + t4,
    },
  ];
  return { verdicts, sections };
}

/** The streams the task draws from, for the manifests. */
export function theorySeeds(config: TheoryConfig): Json {
  const s = config.seed;
  return {
    root: s,
    streams: {
      data: `${s}:theory/data/x, ${s}:theory/data/theta-star, ${s}:theory/data/start`,
      gamma: `${s}:theory/gamma/directions`,
      p3: `${s}:theory/p3/batch/<B>/trial/<i> (shared by the grid points with batch size B)`,
      p1: `${s}:theory/p1/trial/<i> (shared by SGD and USAM)`,
      p4: `${s}:theory/p4/start`,
      p2: "none (deterministic grid of starts)",
    },
  };
}

/** What {@link runTheory} did. */
export interface TheoryOutcome {
  dirs: string[];
  configHash: string;
  reused: boolean;
  /** `null` when reused. */
  result: TheoryResult | null;
}

/**
 * The task end to end: parse and validate the command line, reuse a complete stored result
 * (all five folders with this config and code), or compute, write the five folders and print
 * the verdicts and the summary table.
 *
 * @returns `null` when `--help` was printed.
 */
export async function runTheory(args: string[]): Promise<TheoryOutcome | null> {
  const parsed = parseFigureArgs(theoryCli, args);
  if ("help" in parsed) {
    console.log(parsed.help);
    return null;
  }
  const { config, scale } = parsed;
  const hash = configHash(config);
  const codeHash = await sourceHash();
  const dirs = THEORY_FIGURES.map((name) => figureDir(parsed.out, name));
  const complete = await Promise.all(
    dirs.map((d) => isComplete(d, { configHash: hash, codeHash })),
  );
  if (!parsed.force && complete.every(Boolean)) {
    console.log(
      `theory: reusing ${parsed.out}/theory*/ (config ${
        hash.slice(0, 12)
      }, same code; --force recomputes)`,
    );
    const stored = await readManifest(dirs[dirs.length - 1]);
    const table = (stored?.summary as Record<string, Json> | undefined)?.table;
    if (typeof table === "string") console.log(table);
    return { dirs, configHash: hash, reused: true, result: null };
  }
  console.error(`theory: scale ${scale}, config ${hash.slice(0, 12)}, float64 on the CPU`);
  const startedAt = new Date();
  const result = computeTheory(config, (line) => console.log(line));
  for (const [i, s] of result.sections.entries()) {
    await storeFigure({
      dir: dirs[i],
      name: s.name,
      scale,
      config: config as Json,
      configHash: hash,
      codeHash,
      seeds: theorySeeds(config),
      backend: "float64 (plain TypeScript, no tfjs)",
      table: s.table,
      chart: s.chart,
      summary: s.summary,
      startedAt,
      wallSeconds: s.wallSeconds,
    });
  }
  console.log(`theory: wrote ${dirs.join("/, ")}/`);
  console.log(summaryTable(result.verdicts));
  return { dirs, configHash: hash, reused: false, result };
}

if (import.meta.main) await runMain(() => runTheory(Deno.args).then(() => {}));
