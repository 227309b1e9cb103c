/**
 * Switching between SGD and a SAM-family optimizer (Figures 3 and 5, `deno task switch`):
 * the config, what is measured on each final model (its test error, from the last epoch, and
 * its sharpness λ_max, docs/paper.md#measurements), the aggregation over seeds (mean ± std
 * per proportion of the gap to the full focus run and of λ_max), the seed-paired comparisons
 * with their 95 % intervals (`paired.ts`, docs/statistics.md), `data.csv`, and the task
 * definition shared by the three scripts.
 *
 * @module
 */
import { z } from "zod";
import { toCsv } from "../core/csv.ts";
import type { FigureContext, FigureDefinition } from "../core/figure.ts";
import type { ChartSpec } from "../core/render.ts";
import { sharpnessSpecSchema } from "./measure_specs.ts";
import { meanStd } from "../core/stats.ts";
import {
  bySeed,
  PAIRED_COLUMNS,
  pairedDiff,
  pairedRow,
  pairedShare,
  type PairedStat,
} from "./paired.ts";
import { SWEEP_TASK_DEFAULTS, type SweepRunFlags } from "./sweep.ts";
import {
  gapsToFull,
  overSeeds,
  runSwitching,
  switchesWithinT,
  type Switching,
  type SwitchingResult,
  type SwitchingRun,
  switchingShape,
} from "./switching.ts";

/** The config fields of an optimizer-switching figure. */
export const optimizerSwitchShape = {
  ...switchingShape,
  authorsWindow: z.boolean().describe(
    "SAM→SGD only: SAM on epochs 0…t inclusive, the authors' off-by-one (t + 1 SAM epochs)",
  ),
  sharpness: sharpnessSpecSchema.omit({ kind: true }),
};

/** Config of an optimizer-switching figure (Figures 3 and 5). */
export const switchFigureSchema = switchesWithinT(z.strictObject(optimizerSwitchShape));

/** A validated optimizer-switching config. */
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

/**
 * The authors' sharpness settings (docs/paper.md#measurements): 5,000 images, top 2. The
 * finite-difference step is 0.1, not 0.01: on ResNet-20 with train-mode BatchNorm, 0.01
 * overestimated λ_max by 25–61 % against exact double-backprop HVPs and 0.1 came within 4 %
 * at 512 images (docs/sharpness.md#ε-on-a-batchnorm-network-resnet-20); every paper-scale model
 * has BatchNorm.
 */
export const PAPER_SHARPNESS = {
  ...SWEEP_SHARPNESS,
  examples: 5000,
  iterations: 30,
  epsilon: 1e-1,
};

/** How Lanczos ended for λ_max: iterations, βⱼ|sⱼ|/|θ|, and whether that met the tolerance. */
export interface LambdaConvergence {
  iterations: number;
  relativeResidual: number;
  converged: boolean;
}

/** A final model's measurements: test error (%), training loss, top Hessian eigenvalues. */
export interface MeasuredRun extends SwitchingRun {
  testError: number;
  trainLoss: number;
  eigenvalues: number[];
  lambdaConvergence: LambdaConvergence;
}

/** λ_max's convergence from a stored `sharpness` measurement (`measures.ts`). */
export function lambdaConvergenceOf(measured: unknown): LambdaConvergence {
  const m = measured as {
    iterations: number;
    relativeResiduals: number[];
    convergedValues: boolean[];
  };
  return {
    iterations: m.iterations,
    relativeResidual: m.relativeResiduals[0],
    converged: m.convergedValues[0],
  };
}

/** What an optimizer-switching figure computes. */
export interface SwitchResult extends Omit<SwitchingResult, "runs"> {
  runs: MeasuredRun[];
}

/** Trains the sweep and measures every final model's test error and sharpness. */
export async function measureSwitch(
  switching: Switching,
  config: SwitchFigureConfig,
  context: FigureContext<SweepRunFlags>,
  label: string,
): Promise<SwitchResult> {
  const measure = { kind: "sharpness", ...config.sharpness };
  const result = await runSwitching(switching, config, context, { label, measure });
  const runs = result.runs.map((r) => ({
    ...r,
    testError: 100 * (1 - r.last.testAcc),
    trainLoss: r.last.trainLoss,
    eigenvalues: (r.measured as { eigenvalues: number[] }).eigenvalues,
    lambdaConvergence: lambdaConvergenceOf(r.measured),
  }));
  return { ...result, runs };
}

/** Test-error gap of each run to the full focus run of its seed (percentage points). */
export function errorGaps(result: SwitchResult, epochs: number): Map<MeasuredRun, number> {
  return gapsToFull(result, epochs, (r, full) => r.testError - full.testError);
}

/** Mean ± std over seeds per proportion: test error, gap to the full run, λ_max. */
export function switchSummary(result: SwitchResult, epochs: number) {
  const gap = errorGaps(result, epochs);
  return overSeeds(result.runs, (r) => r.proportion).map(([proportion, runs]) => ({
    proportion,
    switchEpoch: runs[0].switchEpoch,
    focusEpochs: runs[0].focusEpochs,
    testError: meanStd(runs.map((r) => r.testError)),
    gap: meanStd(runs.map((r) => gap.get(r)!)),
    lambdaMax: meanStd(runs.map((r) => r.eigenvalues[0])),
    lambdaUnconverged: runs.filter((r) => !r.lambdaConvergence.converged).length,
  }));
}

/** One proportion's paired comparisons with the two full runs of each seed. */
export interface SwitchPaired {
  proportion: number;
  switchEpoch: number;
  focusEpochs: number;
  stats: PairedStat[];
}

/**
 * Per proportion p, the seed-paired comparisons with the two full runs of the same seed
 * (p = 0: none of the focus optimizer, e.g. SGD; p = 1: all of it, e.g. SAM):
 * `test_error_gap` and `lambda_max_gap` (the run's value − the p = 1 run's, for p < 1; mean
 * and 95 % t-interval), and for 0 < p < 1 `test_error_recovered` and `lambda_max_recovered`
 * ((x₀ − x_p)/(x₀ − x₁), the share of the way from the p = 0 run to the p = 1 run; Fieller's
 * 95 % interval).
 */
export function switchPaired(result: SwitchResult): SwitchPaired[] {
  const groups = overSeeds(result.runs, (r) => r.proportion);
  const at = (p: number) => groups.find(([q]) => q === p)?.[1] ?? [];
  const err = (runs: MeasuredRun[]) => bySeed(runs, (r) => r.testError);
  const lam = (runs: MeasuredRun[]) => bySeed(runs, (r) => r.eigenvalues[0]);
  const [none, full] = [at(0), at(1)];
  return groups.filter(([p]) => p < 1).map(([proportion, runs]) => ({
    proportion,
    switchEpoch: runs[0].switchEpoch,
    focusEpochs: runs[0].focusEpochs,
    stats: [
      pairedDiff("test_error_gap", [err(runs), err(full)], (x, y) => x - y),
      pairedDiff("lambda_max_gap", [lam(runs), lam(full)], (x, y) => x - y),
      ...(proportion > 0
        ? [
          pairedShare("test_error_recovered", err(runs), err(none), err(full)),
          pairedShare("lambda_max_recovered", lam(runs), lam(none), lam(full)),
        ]
        : []),
    ],
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
  "lambda_iters",
  "lambda_residual",
  "lambda_converged",
  "lambda_unconverged",
  "train_loss",
  "run",
  ...PAIRED_COLUMNS,
] as const;

/**
 * `data.csv`: one row per run, one mean row per proportion, then the paired rows
 * ({@link switchPaired}; `kind = paired`, one per proportion and quantity, with `n`, `mean`,
 * `lo`, `hi`). `sam_epochs` counts the epochs of the focus optimizer (SAM in Figures 3 and 5).
 * Run rows carry λ_max's Lanczos iterations, relative residual βⱼ|sⱼ|/|θ| and whether it met
 * the tolerance (`lambda_converged` false: the cap stopped it, λ_max is a lower bound); mean
 * rows count the seeds whose λ_max did not converge (`lambda_unconverged`).
 */
export function switchTable(result: SwitchResult, epochs: number): string {
  const gap = errorGaps(result, epochs);
  const runRows = result.runs.map((r) => ({
    kind: "run",
    proportion: r.proportion,
    switch_epoch: r.switchEpoch,
    sam_epochs: r.focusEpochs,
    seed: r.seed,
    test_error: r.testError,
    gap: gap.get(r),
    lambda_max: r.eigenvalues[0],
    lambda_2: r.eigenvalues[1] ?? null,
    lambda_iters: r.lambdaConvergence.iterations,
    lambda_residual: r.lambdaConvergence.relativeResidual,
    lambda_converged: r.lambdaConvergence.converged,
    train_loss: r.trainLoss,
    run: r.id,
  }));
  const meanRows = switchSummary(result, epochs).map((s) => ({
    kind: "mean",
    proportion: s.proportion,
    switch_epoch: s.switchEpoch,
    sam_epochs: s.focusEpochs,
    n: s.testError.n,
    test_error: s.testError.mean,
    test_error_std: s.testError.std,
    gap: s.gap.mean,
    gap_std: s.gap.std,
    lambda_max: s.lambdaMax.mean,
    lambda_max_std: s.lambdaMax.std,
    lambda_unconverged: s.lambdaUnconverged,
  }));
  const pairedRows = switchPaired(result).flatMap((p) =>
    p.stats.map((stat) =>
      pairedRow(stat, {
        proportion: p.proportion,
        switch_epoch: p.switchEpoch,
        sam_epochs: p.focusEpochs,
      })
    )
  );
  return toCsv(COLUMNS, [...runRows, ...meanRows, ...pairedRows]);
}

/** Headline numbers: per proportion, mean test error, gap and λ_max. */
export function switchHeadline(result: SwitchResult, epochs: number) {
  return {
    perProportion: switchSummary(result, epochs).map((s) => ({
      proportion: s.proportion,
      testError: s.testError.mean,
      gap: s.gap.mean,
      lambdaMax: s.lambdaMax.mean,
    })),
    gradientEvaluations: result.cost,
    runs: result.listing,
  };
}

/** The manifest's seeds and streams of an optimizer-switching sweep. */
export function switchSeeds(config: SwitchFigureConfig) {
  return {
    roots: config.seeds,
    streams: {
      init: "<seed>:init",
      data: "<seed>:epoch/<e>/shuffle and <seed>:epoch/<e>/augment",
      sharpness: `${config.sharpness.seed}:sharpness/lanczos (Lanczos start vector)`,
    },
  };
}

/**
 * The task of an optimizer-switching figure: `switching(config)` names its optimizers (the
 * runs), test error and λ_max are measured, means are over seeds, `chart` draws it.
 */
export function optimizerSwitchTask<S extends z.ZodObject>(
  options: {
    name: string;
    description: string;
    schema: S;
    scales: Record<string, z.input<S>>;
    switching: (config: z.output<S> & SwitchFigureConfig) => Switching;
    chart: (result: SwitchResult, config: z.output<S> & SwitchFigureConfig) => ChartSpec;
  },
): FigureDefinition<S, SwitchResult, SweepRunFlags> {
  type C = z.output<S> & SwitchFigureConfig;
  return {
    name: options.name,
    description: options.description,
    schema: options.schema,
    scales: options.scales,
    ...SWEEP_TASK_DEFAULTS,
    backendOf: (config) => (config as C).backend,
    seeds: (config) => switchSeeds(config as C),
    compute: (config, context) =>
      measureSwitch(options.switching(config as C), config as C, context, options.name),
    table: (result, config) => switchTable(result, (config as C).epochs),
    chart: (result, config) => options.chart(result, config as C),
    summary: (result, config) => switchHeadline(result, (config as C).epochs),
    datasets: (result) => result.datasets,
  };
}
