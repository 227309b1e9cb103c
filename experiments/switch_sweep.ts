/**
 * The switching sweeps of Figures 3 and 5: for every seed and switch epoch t, one run that
 * changes optimizer at t, plus the pure SGD and SAM baselines; for every final model its test
 * error, its gap to full SAM of the same seed, and its sharpness (top Hessian eigenvalues).
 *
 * - Figure 3, SGD→SAM: SGD on [0, t), SAM on [t, T); SAM proportion (T − t)/T. Every run of
 *   a seed branches from that seed's SGD run.
 * - Figure 5, SAM→SGD: SAM on [0, t), SGD on [t, T); SAM proportion t/T. With
 *   `authorsWindow` the SAM phase is the authors' inclusive `0 <= epoch <= t` (t + 1 epochs,
 *   SPEC §3.2); by default it is exactly t epochs.
 *
 * @module
 */
import { z } from "zod";
import { toCsv } from "../core/csv.ts";
import type { FigureContext, FigureDefinition } from "../core/figure.ts";
import type { ChartSpec } from "../core/render.ts";
import { authorsWindow, type Phase, switchAt } from "../core/schedule.ts";
import { planSweep, runId, type RunRequest } from "../core/sweep/plan.ts";
import { proportionPanel } from "./charts.ts";
import { sharpnessSpecSchema } from "./measures.ts";
import { RUN_COSTS, runBase, runData, runSettingsOf, runSettingsShape } from "./runs.ts";
import { groupBy, meanStd } from "./stats.ts";
import {
  executeSweep,
  measureResult,
  runRecords,
  SWEEP_TASK_DEFAULTS,
  type SweepOutcome,
  switchEpochs,
} from "./sweep.ts";

/** Which way the optimizer switches. */
export type Direction = "sgd-to-sam" | "sam-to-sgd";

/** Config of a switching figure. */
export const switchFigureSchema = z.strictObject({
  ...runSettingsShape,
  epochs: z.number().int().positive().describe("total epochs T"),
  seeds: z.array(z.number().int().nonnegative()).min(1).describe("root seeds"),
  switches: z.array(z.number().int().nonnegative()).min(1).describe(
    "switch epochs t (full SGD and full SAM are always included)",
  ),
  authorsWindow: z.boolean().describe(
    "SAM→SGD only: SAM on epochs 0…t inclusive, the authors' off-by-one (t + 1 SAM epochs)",
  ),
  sharpness: sharpnessSpecSchema.omit({ kind: true }),
}).refine((c) => c.switches.every((t) => t <= c.epochs), {
  message: "every switch epoch must be at most epochs",
  path: ["switches"],
});

/** A validated switching-figure config. */
export type SwitchFigureConfig = z.output<typeof switchFigureSchema>;

/** The sharpness settings of the small and smoke scales (measured ε range: see README). */
export const SWEEP_SHARPNESS = {
  examples: 512,
  chunk: 128,
  k: 2,
  iterations: 10,
  tolerance: 1e-3,
  epsilon: 1e-2,
  bnMode: "train" as const,
  seed: 0,
};

/** The authors' sharpness settings (SPEC §5.2): 5,000 images, chunks of 128, top 2. */
export const PAPER_SHARPNESS = { ...SWEEP_SHARPNESS, examples: 5000, iterations: 30 };

/** The phases of a run switching at t. */
export function switchPhases(direction: Direction, t: number, config: SwitchFigureConfig): Phase[] {
  const T = config.epochs;
  if (direction === "sgd-to-sam") return switchAt({ first: "sgd", then: "sam", at: t, epochs: T });
  if (config.authorsWindow && t < T) return authorsWindow({ startSam: 0, endSam: t, epochs: T });
  return switchAt({ first: "sam", then: "sgd", at: t, epochs: T });
}

/** SAM epochs of a run. */
function samEpochs(phases: Phase[]): number {
  return phases.filter((p) => p.optimizer !== "sgd").reduce((s, p) => s + p.to - p.from, 0);
}

/** The SAM proportion on the figure's x axis. */
export function samProportion(direction: Direction, t: number, epochs: number): number {
  return direction === "sgd-to-sam" ? (epochs - t) / epochs : t / epochs;
}

/** One run of a switching figure, with its outcome. */
export interface SwitchRun {
  seed: number;
  switchEpoch: number;
  proportion: number;
  samEpochs: number;
  run: string;
  testError: number;
  trainLoss: number;
  eigenvalues: number[];
}

/** What a switching figure computes. */
export interface SwitchResult {
  direction: Direction;
  runs: SwitchRun[];
  cost: SweepOutcome["cost"];
  /** The sweep's runs, for the manifest (`summary.runs`). */
  sweepRuns: SweepOutcome["runs"];
  datasets: Record<string, string>;
}

/** Every (seed, t) run of the sweep. */
export function switchRuns(direction: Direction, config: SwitchFigureConfig) {
  const settings = runSettingsOf(config);
  return config.seeds.flatMap((seed) =>
    switchEpochs(config).map((t) => {
      const phases = switchPhases(direction, t, config);
      const run: RunRequest = {
        base: runBase(settings, seed, config.epochs),
        epochs: config.epochs,
        phases,
      };
      return { seed, t, run, samEpochs: samEpochs(phases) };
    })
  );
}

/** Plans, executes and collects a switching sweep. */
export async function computeSwitch(
  direction: Direction,
  config: SwitchFigureConfig,
  context: FigureContext,
  label: string,
): Promise<SwitchResult> {
  const requested = switchRuns(direction, config);
  const spec = { kind: "sharpness", ...config.sharpness };
  const plan = planSweep({
    runs: requested.map((r) => r.run),
    measures: requested.map((r) => ({ spec, runs: [runId(r.run)] })),
  }, RUN_COSTS);
  const outcome = await executeSweep(plan, context, { label });
  const runs: SwitchRun[] = [];
  for (const [i, r] of requested.entries()) {
    const records = await runRecords(outcome, plan.runs[i]);
    const last = records[records.length - 1];
    const sharp = await measureResult<{ eigenvalues: number[] }>(outcome, plan.measures[i]);
    runs.push({
      seed: r.seed,
      switchEpoch: r.t,
      proportion: samProportion(direction, r.t, config.epochs),
      samEpochs: r.samEpochs,
      run: plan.runs[i],
      testError: 100 * (1 - last.testAcc),
      trainLoss: last.trainLoss,
      eigenvalues: sharp.eigenvalues,
    });
  }
  const data = await runData(runSettingsOf(config), context.run["data-dir"]);
  return {
    direction,
    runs,
    cost: outcome.cost,
    sweepRuns: outcome.runs,
    datasets: data.files,
  };
}

/** Test-error gap of each run to full SAM of the same seed (percentage points). */
function gaps(result: SwitchResult): Map<SwitchRun, number> {
  const out = new Map<SwitchRun, number>();
  for (const runs of groupBy(result.runs, (r) => r.seed).values()) {
    const sam = runs.find((r) => r.proportion === 1);
    for (const r of runs) out.set(r, sam ? r.testError - sam.testError : NaN);
  }
  return out;
}

/** Mean ± std over seeds per SAM proportion. */
export function switchSummary(result: SwitchResult) {
  const gap = gaps(result);
  return [...groupBy(result.runs, (r) => r.proportion)].sort(([a], [b]) => a - b).map((
    [proportion, runs],
  ) => ({
    proportion,
    switchEpoch: runs[0].switchEpoch,
    samEpochs: runs[0].samEpochs,
    testError: meanStd(runs.map((r) => r.testError)),
    gap: meanStd(runs.map((r) => gap.get(r)!)),
    lambdaMax: meanStd(runs.map((r) => r.eigenvalues[0])),
  }));
}

const COLUMNS = [
  "kind",
  "proportion",
  "switch_epoch",
  "sam_epochs",
  "seed",
  "n",
  "test_error",
  "test_error_std",
  "gap",
  "gap_std",
  "lambda_max",
  "lambda_max_std",
  "lambda_2",
  "train_loss",
  "run",
] as const;

/** `data.csv`: one row per run, then one mean row per proportion. */
export function switchTable(result: SwitchResult): string {
  const gap = gaps(result);
  const runRows = result.runs.map((r) => ({
    kind: "run",
    proportion: r.proportion,
    switch_epoch: r.switchEpoch,
    sam_epochs: r.samEpochs,
    seed: r.seed,
    test_error: r.testError,
    gap: gap.get(r),
    lambda_max: r.eigenvalues[0],
    lambda_2: r.eigenvalues[1] ?? null,
    train_loss: r.trainLoss,
    run: r.run,
  }));
  const meanRows = switchSummary(result).map((s) => ({
    kind: "mean",
    proportion: s.proportion,
    switch_epoch: s.switchEpoch,
    sam_epochs: s.samEpochs,
    n: s.testError.n,
    test_error: s.testError.mean,
    test_error_std: s.testError.std,
    gap: s.gap.mean,
    gap_std: s.gap.std,
    lambda_max: s.lambdaMax.mean,
    lambda_max_std: s.lambdaMax.std,
  }));
  return toCsv(COLUMNS, [...runRows, ...meanRows]);
}

/** The two-row chart: gap to full SAM (top) and λ_max (bottom) against the SAM proportion. */
export function switchChart(
  result: SwitchResult,
  config: SwitchFigureConfig,
  title: string,
): ChartSpec {
  const summary = switchSummary(result);
  const points = summary.flatMap((s) => [
    {
      panel: "gap",
      proportion: s.proportion,
      mean: s.gap.mean,
      lo: s.gap.mean - s.gap.std,
      hi: s.gap.mean + s.gap.std,
    },
    {
      panel: "lambda",
      proportion: s.proportion,
      mean: s.lambdaMax.mean,
      lo: s.lambdaMax.mean - s.lambdaMax.std,
      hi: s.lambdaMax.mean + s.lambdaMax.std,
    },
  ]);
  const seeds = result.runs.map((r) => ({
    proportion: r.proportion,
    lambda: r.eigenvalues[0],
    gap: gaps(result).get(r),
  }));
  const xTitle = result.direction === "sgd-to-sam"
    ? "SAM training proportion (T − t)/T"
    : "SAM training proportion t/T";
  const x = { field: "proportion", type: "quantitative", title: xTitle, scale: { domain: [0, 1] } };
  const panel = (name: "gap" | "lambda", yTitle: string, seedField: string) =>
    proportionPanel({
      x,
      yTitle,
      seeds,
      seedField,
      points: points.filter((p) => p.panel === name),
      color: "#d62728",
      zeroRule: name === "gap",
    });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title,
      subtitle: [
        `${config.model} on ${config.dataset} (${
          config.trainSize || "all"
        } training images), T = ${config.epochs}, ρ = ${config.rho}, lr ${config.lr} (${config.lrSchedule}); ` +
        `red: mean ± std over ${config.seeds.length} seeds, gray: each seed`,
        `λ_max: Lanczos on the plain-CE Hessian of ${config.sharpness.examples} training images ` +
        `(${config.sharpness.bnMode}-mode BatchNorm); branching saved ${
          (100 * result.cost.savedFraction).toFixed(0)
        }% of gradient evaluations`,
      ],
      anchor: "start",
    },
    vconcat: [
      panel("gap", "test error − full SAM's (%)", "gap"),
      panel("lambda", "λ_max of the final model", "lambda"),
    ],
    config: { view: { stroke: "#cccccc" }, title: { subtitleFontSize: 11 } },
  } as ChartSpec;
}

/** Headline numbers: per proportion, mean gap and mean λ_max. */
export function switchHeadline(result: SwitchResult) {
  return {
    perProportion: switchSummary(result).map((s) => ({
      proportion: s.proportion,
      testError: s.testError.mean,
      gap: s.gap.mean,
      lambdaMax: s.lambdaMax.mean,
    })),
    gradientEvaluations: result.cost,
    runs: result.sweepRuns,
  };
}

/** The parts of a switching figure's task definition that Figures 3 and 5 share. */
export function switchTask(
  options: {
    name: string;
    direction: Direction;
    description: string;
    title: string;
    scales: Record<string, SwitchFigureConfig>;
  },
): FigureDefinition<typeof switchFigureSchema, SwitchResult> {
  return {
    name: options.name,
    description: options.description,
    schema: switchFigureSchema,
    scales: options.scales,
    ...SWEEP_TASK_DEFAULTS,
    seeds: (config) => ({
      roots: config.seeds,
      streams: {
        init: "<seed>:init",
        data: "<seed>:epoch/<e>/shuffle and <seed>:epoch/<e>/augment",
        sharpness: `${config.sharpness.seed}:sharpness/lanczos (Lanczos start vector)`,
      },
    }),
    compute: (config, context) => computeSwitch(options.direction, config, context, options.name),
    table: switchTable,
    chart: (result, config) => switchChart(result, config, options.title),
    summary: switchHeadline,
    datasets: (result) => result.datasets,
  };
}
