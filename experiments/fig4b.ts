/**
 * Figure 4(b) on a network: train with SGD until it has converged (no augmentation, as the
 * authors' `ERM.py`), then continue from that point in many seeded trials of batch sampling
 * with three update rules on the same batches: SAM, the authors' released `escape.py` loop
 * (ascent only, θ ← θ + ρ·g/‖g‖, never calling `second_step()`), and SGD as the control. The
 * chart plots the loss excess L_t − L_0 over the starting loss on a fixed training subset
 * against the step t′.
 *
 * The growth is fitted on the mean excess over a window chosen by a stated rule
 * (`fit.fraction`, `fit.minPoints`; {@link fitExcessGrowth}) and compared with the linearized
 * prediction from the top Hessian eigenvalue measured by Lanczos at the starting point, η, ρ,
 * the momentum and the first step's mini-batch gradient norm ({@link predictEscapeRate};
 * derivation in docs/sharpness.md#escape-rate).
 *
 *     deno task fig4b [--scale smoke|small|medium|paper] [--workers N] [--dry-run] [--FIELD VALUE ...]
 *
 * Streams: the SGD run from (seed, init) and (seed, epoch/e); trial i's batch order from
 * (i, escape/batches), the same for all three rules (paired trials); the Lanczos start vector
 * from (sharpness.seed, sharpness).
 *
 * @module
 */
import { z } from "zod";
import { runMain } from "../core/cli.ts";
import { toCsv } from "../core/csv.ts";
import { type FigureContext, type FigureDefinition, runFigure } from "../core/figure.ts";
import { fmt } from "../core/format.ts";
import type { ChartSpec } from "../core/render.ts";
import { meanStd, type PairedDifference, quantileSortedNearest } from "../core/stats.ts";
import { learningRate, switchAt } from "../core/schedule.ts";
import { planSweep, runId } from "../core/sweep/plan.ts";
import type { EscapeResult } from "./measures.ts";
import { sharpnessSpecSchema } from "./measure_specs.ts";
import { type ExcessFit, fitExcessGrowth, lossExcess } from "./escape.ts";
import {
  escapeContrasts,
  type EscapeRatePrediction,
  type EscapeVariant,
  escapeVerdicts,
  linearRegimeEnd,
  predictEscapeRate,
  ratioVerdict,
} from "./escape_rate.ts";
import type { Verdict } from "./trends.ts";
import { figureSpec, nominalScale, OPTIMIZER_COLORS, quant } from "./charts.ts";
import { PAPER_SHARPNESS, SWEEP_SHARPNESS } from "./optimizer_switch.ts";
import { RUN_COSTS, runData } from "./runs.ts";
import { lrScheduleOf, runSettingsOf, runSettingsShape, seededSettings } from "./run_settings.ts";
import {
  MEDIUM_EPOCHS,
  MEDIUM_SETTINGS,
  PAPER_WRN_C10,
  SMALL_EPOCHS,
  SMALL_SETTINGS,
  SMOKE_EPOCHS,
  SMOKE_SETTINGS,
} from "./settings.ts";
import {
  executeSweep,
  measureResult,
  runRecords,
  SWEEP_TASK_DEFAULTS,
  type SweepOutcome,
  type SweepRunFlags,
} from "./sweep.ts";

/** The update rules, control first. */
export const FIG4B_VARIANTS: readonly EscapeVariant[] = ["sgd", "sam", "ascent"];

/** Config of Figure 4(b). */
export const fig4bSchema = z.strictObject({
  ...runSettingsShape,
  epochs: z.number().int().positive().describe("SGD epochs to convergence"),
  seed: z.number().int().nonnegative().describe("root seed of the SGD run"),
  trials: z.number().int().positive().describe("seeded batch-sampling trials per update rule"),
  steps: z.number().int().positive().describe("steps t′ after the switch"),
  fit: z.strictObject({
    fraction: z.number().gt(0).max(1).describe(
      "fit the mean excess from step 1 to the first step reaching this fraction of its maximum",
    ),
    minPoints: z.number().int().min(3).describe("fewest positive excesses in a fit window"),
  }),
  margin: z.number().positive().describe(
    "an escape: a loss excess of at least this fraction of the starting loss",
  ),
  ratioBand: z.number().gt(1).describe("fitted/predicted growth must lie in [1/band, band]"),
  escape: z.strictObject({
    rho: z.number().positive().describe("SAM radius of the escape steps"),
    lr: z.number().nonnegative().describe("learning rate of the SAM steps (0: the run's last)"),
    batchSize: z.number().int().positive().describe("batch of each SAM step"),
    evalSize: z.number().int().positive().describe("first N training examples for the loss"),
  }),
  sharpness: sharpnessSpecSchema.omit({ kind: true }),
});

/** A validated Figure 4(b) config. */
export type Fig4bConfig = z.output<typeof fig4bSchema>;

const FIT = { fraction: 0.5, minPoints: 3 };

/** Named configs. */
export const FIG4B_SCALES: Record<string, Fig4bConfig> = {
  smoke: {
    ...SMOKE_SETTINGS,
    epochs: SMOKE_EPOCHS,
    seed: 0,
    trials: 4,
    steps: 6,
    fit: FIT,
    margin: 0.1,
    ratioBand: 2,
    escape: { rho: 0.15, lr: 0, batchSize: 32, evalSize: 256 },
    sharpness: { ...SWEEP_SHARPNESS, examples: 256, iterations: 20 },
  },
  small: {
    ...SMALL_SETTINGS,
    epochs: SMALL_EPOCHS,
    seed: 0,
    trials: 20,
    steps: 20,
    fit: FIT,
    margin: 0.1,
    ratioBand: 2,
    escape: { rho: 0.1, lr: 0, batchSize: 32, evalSize: 500 },
    sharpness: { ...SWEEP_SHARPNESS, iterations: 20 },
  },
  medium: {
    ...MEDIUM_SETTINGS,
    epochs: MEDIUM_EPOCHS,
    seed: 0,
    // A hundred steps at the decayed rate: a third of the 10 % late window (316 steps).
    trials: 5,
    steps: 100,
    fit: FIT,
    margin: 0.1,
    ratioBand: 2,
    escape: { rho: MEDIUM_SETTINGS.rho, lr: 0, batchSize: 128, evalSize: 1000 },
    sharpness: { ...SWEEP_SHARPNESS, examples: 2000, iterations: 40, epsilon: 0.1 },
  },
  paper: {
    ...PAPER_WRN_C10,
    augment: "none",
    epochs: 200,
    seed: 0,
    trials: 100,
    steps: 50,
    fit: FIT,
    margin: 0.1,
    ratioBand: 2,
    escape: { rho: 0.05, lr: 0, batchSize: 128, evalSize: 50000 },
    sharpness: PAPER_SHARPNESS,
  },
};

/** The Lanczos measurement at the starting point (`measures.ts`'s `sharpness` result). */
export interface StartSharpness {
  eigenvalues: number[];
  residuals: number[];
  iterations: number;
  converged: boolean;
}

/** What Figure 4(b) computes. */
export interface Fig4bResult {
  trials: EscapeResult[];
  sharpness: StartSharpness;
  /** The converged SGD run's last training loss (label-smoothed KL, pass-1 mean). */
  sgdTrainLoss: number;
  sgdTestError: number;
  escapeLr: number;
  cost: SweepOutcome["cost"];
  /** The sweep's runs, for the manifest (`summary.runs`). */
  sweepRuns: SweepOutcome["runs"];
  datasets: Record<string, string>;
}

async function computeFig4b(
  config: Fig4bConfig,
  context: FigureContext<SweepRunFlags>,
): Promise<Fig4bResult> {
  const T = config.epochs;
  const settings = runSettingsOf(config);
  const run = {
    base: seededSettings(settings, config.seed, T),
    epochs: T,
    phases: switchAt({ first: "sgd", then: "sgd", at: T, epochs: T }),
  };
  // The steps continue at the learning rate SGD ended with, unless one is given.
  const escapeLr = config.escape.lr || learningRate(lrScheduleOf(settings), T - 1, T);
  const specs = FIG4B_VARIANTS.flatMap((variant) =>
    Array.from({ length: config.trials }, (_, trial) => ({
      kind: "escape",
      trial,
      steps: config.steps,
      variant,
      rho: config.escape.rho,
      lr: escapeLr,
      momentum: config.momentum,
      weightDecay: config.weightDecay,
      batchSize: config.escape.batchSize,
      evalSize: config.escape.evalSize,
    }))
  );
  const sharpnessSpec = { kind: "sharpness", ...config.sharpness };
  const plan = planSweep({
    runs: [run],
    measures: [...specs, sharpnessSpec].map((spec) => ({ spec, runs: [runId(run)] })),
  }, RUN_COSTS);
  const outcome = await executeSweep(plan, context, { label: "fig4b" });
  const ids = plan.measures.slice(0, specs.length);
  const trials: EscapeResult[] = [];
  for (const id of ids) trials.push(await measureResult<EscapeResult>(outcome, id));
  const sharpness = await measureResult<StartSharpness>(outcome, plan.measures[specs.length]);
  const records = await runRecords(outcome, plan.runs[0]);
  const last = records[records.length - 1];
  const data = await runData(settings, context.flags.dataDir);
  return {
    trials,
    sharpness: {
      eigenvalues: sharpness.eigenvalues,
      residuals: sharpness.residuals,
      iterations: sharpness.iterations,
      converged: sharpness.converged,
    },
    sgdTrainLoss: last.trainLoss,
    sgdTestError: 100 * (1 - last.testAcc),
    escapeLr,
    cost: outcome.cost,
    sweepRuns: outcome.runs,
    datasets: data.files,
  };
}

/** One update rule's curve at one step: the loss and its excess over the trials. */
export interface Fig4bCurvePoint {
  variant: EscapeVariant;
  step: number;
  loss: number;
  lossStd: number;
  excess: number;
  excessStd: number;
  /** 10th and 90th percentile of the excess over trials. */
  q10: number;
  q90: number;
  /** Mean ‖g_B(θ_t)‖ over trials (NaN after the last step). */
  gradNorm: number;
}

/** Everything the table, chart and summary show, computed once from the result. */
export interface Fig4bAnalysis {
  /** L_0: the loss at the converged point (the same in every trial). */
  startLoss: number;
  curves: Fig4bCurvePoint[];
  fits: Record<EscapeVariant, ExcessFit>;
  predictions: Record<EscapeVariant, EscapeRatePrediction>;
  /** Fitted/predicted growth factor (null without a fit). */
  ratios: Record<EscapeVariant, number | null>;
  ratioVerdicts: Record<EscapeVariant, Verdict>;
  /** The last step the linear regime reaches ({@link linearRegimeEnd}): the window's limit. */
  linearEnd: Record<EscapeVariant, number>;
  /** σ: the mean norm of the first step's mini-batch gradient. */
  gradNorm: number;
  lambdaMax: number;
  /** Per-trial excess at the last step: SAM − SGD, ascent − SGD, and SGD − 0. */
  contrasts: Record<EscapeVariant, PairedDifference>;
  contrastVerdicts: Record<EscapeVariant, Verdict>;
  /** The escape margin Δ = margin·L_0. */
  margin: number;
}

const byVariant = <T>(make: (variant: EscapeVariant) => T) =>
  Object.fromEntries(FIG4B_VARIANTS.map((v) => [v, make(v)])) as Record<EscapeVariant, T>;

/** The curves, fits, predictions and paired contrasts of a result. */
export function analyzeFig4b(result: Fig4bResult, config: Fig4bConfig): Fig4bAnalysis {
  const trialsOf = (variant: EscapeVariant) =>
    result.trials.filter((t) => t.variant === variant).sort((a, b) => a.trial - b.trial);
  const startLoss = result.trials[0].losses[0];
  const curves = FIG4B_VARIANTS.flatMap((variant) => {
    const trials = trialsOf(variant);
    const excesses = trials.map((t) => lossExcess(t.losses));
    return trials[0].losses.map((_, step): Fig4bCurvePoint => {
      const losses = meanStd(trials.map((t) => t.losses[step]));
      const excess = excesses.map((e) => e[step]);
      const sorted = [...excess].sort((a, b) => a - b);
      const norms = trials.map((t) => t.gradNorms?.[step]).filter((g) => g !== undefined);
      return {
        variant,
        step,
        loss: losses.mean,
        lossStd: losses.std,
        excess: meanStd(excess).mean,
        excessStd: meanStd(excess).std,
        q10: quantileSortedNearest(sorted, 0.1),
        q90: quantileSortedNearest(sorted, 0.9),
        gradNorm: norms.length === trials.length ? meanStd(norms).mean : NaN,
      };
    });
  });
  const curveOf = (variant: EscapeVariant) => curves.filter((c) => c.variant === variant);
  const linearEnd = byVariant((v) => linearRegimeEnd(curveOf(v).map((c) => c.gradNorm)));
  const fits = byVariant((v) =>
    fitExcessGrowth(curveOf(v).map((c) => c.excess), config.fit, linearEnd[v])
  );
  // Every trial's first step is taken at θ₀ on its own batch, the same batch for every rule.
  const gradNorm = curves.find((c) => c.variant === "sgd" && c.step === 0)!.gradNorm;
  const lambdaMax = Math.max(...result.sharpness.eigenvalues);
  const inputs = {
    lambda: lambdaMax,
    gradNorm,
    lr: result.escapeLr,
    rho: config.escape.rho,
    momentum: config.momentum,
    weightDecay: config.weightDecay,
  };
  const predictions = byVariant((variant) => predictEscapeRate(variant, inputs));
  const ratios = byVariant((v) =>
    fits[v].growth === null ? null : fits[v].growth! / predictions[v].growth
  );
  const ratioVerdicts = byVariant((v) =>
    ratioVerdict(fits[v].growth, predictions[v].growth, config.ratioBand)
  );
  const final = byVariant((v) => trialsOf(v).map((t) => t.losses[t.losses.length - 1] - startLoss));
  const contrasts = escapeContrasts(final);
  const margin = config.margin * startLoss;
  return {
    startLoss,
    curves,
    fits,
    predictions,
    ratios,
    ratioVerdicts,
    linearEnd,
    gradNorm,
    lambdaMax,
    contrasts,
    contrastVerdicts: escapeVerdicts(contrasts, margin),
    margin,
  };
}

const COLUMNS = [
  "kind",
  "variant",
  "trial",
  "step",
  "loss",
  "loss_std",
  "excess",
  "excess_std",
  "q10",
  "q90",
  "grad_norm",
  "fit_from",
  "fit_to",
  "points",
  "growth",
  "predicted",
  "ratio",
  "gain",
  "linear_to",
  "band",
  "lambda_max",
  "versus",
  "diff_mean",
  "diff_lo",
  "diff_hi",
  "n",
  "margin",
  "verdict",
  "index",
  "eigenvalue",
  "residual",
  "iterations",
  "converged",
];

/** What each contrast compares the rule's excess with. */
const VERSUS: Record<EscapeVariant, string> = { sgd: "start", sam: "sgd", ascent: "sgd" };

function fig4bTable(result: Fig4bResult, config: Fig4bConfig): string {
  const a = analyzeFig4b(result, config);
  const trialRows = result.trials.flatMap((t) =>
    t.losses.map((loss, step) => ({
      kind: "trial",
      variant: t.variant,
      trial: t.trial,
      step,
      loss,
      excess: loss - a.startLoss,
      grad_norm: t.gradNorms?.[step] ?? "",
    }))
  );
  const meanRows = a.curves.map((c) => ({
    kind: "mean",
    variant: c.variant,
    step: c.step,
    loss: c.loss,
    loss_std: c.lossStd,
    excess: c.excess,
    excess_std: c.excessStd,
    q10: c.q10,
    q90: c.q90,
    grad_norm: Number.isFinite(c.gradNorm) ? c.gradNorm : "",
  }));
  const fitRows = FIG4B_VARIANTS.map((variant) => ({
    kind: "fit",
    variant,
    fit_from: a.fits[variant].from,
    fit_to: a.fits[variant].to,
    points: a.fits[variant].points,
    growth: a.fits[variant].growth ?? "",
    predicted: a.predictions[variant].growth,
    ratio: a.ratios[variant] ?? "",
    gain: a.predictions[variant].gain,
    linear_to: a.linearEnd[variant],
    band: config.ratioBand,
    grad_norm: a.gradNorm,
    lambda_max: a.lambdaMax,
    verdict: a.ratioVerdicts[variant],
  }));
  const contrastRows = FIG4B_VARIANTS.map((variant) => ({
    kind: "paired",
    variant,
    versus: VERSUS[variant],
    step: config.steps,
    diff_mean: a.contrasts[variant].mean,
    diff_lo: a.contrasts[variant].lo,
    diff_hi: a.contrasts[variant].hi,
    n: a.contrasts[variant].n,
    margin: a.margin,
    verdict: a.contrastVerdicts[variant],
  }));
  const hessianRows = result.sharpness.eigenvalues.map((eigenvalue, index) => ({
    kind: "hessian",
    index,
    eigenvalue,
    residual: result.sharpness.residuals?.[index] ?? "",
    iterations: result.sharpness.iterations,
    converged: String(result.sharpness.converged),
  }));
  return toCsv(COLUMNS, [...trialRows, ...meanRows, ...fitRows, ...contrastRows, ...hessianRows]);
}

const COLORS: Record<EscapeVariant, string> = {
  sgd: OPTIMIZER_COLORS.sgd,
  sam: OPTIMIZER_COLORS.sam,
  ascent: "#7f7f7f",
};
const LABELS: Record<EscapeVariant, string> = {
  sgd: "SGD (control: same point, same batches)",
  sam: "SAM (descent at θ + ε)",
  ascent: "released escape.py (ascent only)",
};
const SHORT: Record<EscapeVariant, string> = { sgd: "SGD", sam: "SAM", ascent: "ascent-only" };
const VERDICT_WORDS: Record<Verdict, string> = {
  pass: "shown",
  fail: "contradicted",
  unresolved: "not resolved at this scale",
};

/** "×1.23 fitted … vs ×1.50 predicted (ratio 0.82): shown", or why there is no fit. */
function rateText(a: Fig4bAnalysis, config: Fig4bConfig, variant: EscapeVariant): string {
  const fit = a.fits[variant];
  const predicted = `×${fmt(a.predictions[variant].growth)} predicted`;
  const linear = a.linearEnd[variant];
  const left = linear < config.steps ? `; ‖g_B‖ > 2σ from step ${linear}` : "";
  if (fit.growth === null) {
    const why = fit.to < fit.from
      ? "the mean excess never rises"
      : `${fit.points} positive point(s) in steps ${fit.from}–${fit.to}${left}`;
    return `no fit (${why}), ${predicted}: not resolved at this scale`;
  }
  return `×${fmt(fit.growth)} fitted on steps ${fit.from}–${fit.to} vs ${predicted} ` +
    `(ratio ${fmt(a.ratios[variant]!)}${left}): ${VERDICT_WORDS[a.ratioVerdicts[variant]]}`;
}

/** "+0.012 [0.008, 0.016] (n = 20): shown" for one paired contrast. */
function contrastText(a: Fig4bAnalysis, variant: EscapeVariant): string {
  const c = a.contrasts[variant];
  return `${fmt(c.mean)} [${fmt(c.lo)}, ${fmt(c.hi)}] (n = ${c.n}): ` +
    VERDICT_WORDS[a.contrastVerdicts[variant]];
}

function fig4bChart(result: Fig4bResult, config: Fig4bConfig): ChartSpec {
  const a = analyzeFig4b(result, config);
  const curves = a.curves.map((c) => ({ ...c, label: LABELS[c.variant] }));
  const fitLines = FIG4B_VARIANTS.flatMap((variant) => {
    const { growth, intercept, from, to } = a.fits[variant];
    if (growth === null || intercept === null) return [];
    return Array.from({ length: to - from + 1 }, (_, i) => ({
      label: LABELS[variant],
      step: from + i,
      excess: Math.exp(intercept + (from + i) * Math.log(growth)),
    }));
  });
  const color = nominalScale(
    "label",
    FIG4B_VARIANTS.map((v) => LABELS[v]),
    FIG4B_VARIANTS.map((v) => COLORS[v]),
    {
      // The labels name the update rules in full (below the plot they need no truncation); the
      // merged legend takes its symbols from the faint band layer, so draw them solid.
      legend: { orient: "bottom", direction: "vertical", labelLimit: 0, symbolOpacity: 1 },
    },
  );
  const x = quant("step", "steps after the switch t′", { axis: { tickMinStep: 1, format: "d" } });
  // Symmetric log, linear within ±Δ: the SGD control's excess stays near zero, may be negative.
  const low = Math.min(0, ...a.curves.map((c) => c.q10));
  const scale = { type: "symlog", constant: a.margin, domainMin: low, nice: false };
  // Decades as ticks (symlog's own ticks skip the small excesses of SAM and the control).
  const high = Math.max(...a.curves.map((c) => c.q90));
  const decades = [-3, -2, -1, 0, 1, 2].map((e) => 10 ** e);
  const values = [0, ...decades, ...decades.map((d) => -d)].filter((v) => v >= low && v <= high);
  const y = (field: string, title?: string) =>
    quant(field, title, { scale, axis: { values, format: "~g" } });
  const { eigenvalues, residuals, iterations, converged } = result.sharpness;
  const lambdas = eigenvalues.map((l, i) => `${fmt(l)} (residual ${fmt(residuals[i])})`)
    .join(", ");
  const lanczos = `${iterations} Lanczos iterations, ` +
    (converged ? "converged" : "not all converged");
  return figureSpec({
    text: "Figure 4(b): loss excess after leaving a converged SGD minimum",
    subtitle: [
      `${config.model} on ${config.dataset} (${config.trainSize || "all"} images, no ` +
      `augmentation), SGD for ${config.epochs} epochs (final train loss ${
        fmt(result.sgdTrainLoss)
      }), then lr ${
        fmt(result.escapeLr)
      }, momentum ${config.momentum}, ρ = ${config.escape.rho}, ` +
      `batch ${config.escape.batchSize}; excess L_t − L_0 over L_0 = ${fmt(a.startLoss)}`,
      `mean (line) and 10–90% band over ${config.trials} paired trials (same batches for every ` +
      `rule); dashed: fit of the mean excess from step 1 until it first reaches ` +
      `${config.fit.fraction} of its maximum`,
      `at the start: λ = ${lambdas}, ${lanczos}; first-step ‖g_B‖ σ = ${fmt(a.gradNorm)}; ` +
      `fit windows end where the mean ‖g_B‖ first exceeds 2σ (the linear regime)`,
      ...FIG4B_VARIANTS.map((v) => `${SHORT[v]}: ${rateText(a, config, v)}`),
      `excess after ${config.steps} steps, paired over trials, 95% t-interval, escape margin ` +
      `Δ = ${config.margin}·L_0 = ${fmt(a.margin)}: SAM − SGD ${contrastText(a, "sam")}; ` +
      `ascent − SGD ${contrastText(a, "ascent")}; SGD control ${contrastText(a, "sgd")}`,
    ],
    width: 520,
  }, {
    width: 460,
    height: 300,
    layer: [
      {
        data: { values: curves },
        mark: { type: "area", opacity: 0.15 },
        encoding: { x, y: y("q10"), y2: { field: "q90" }, fill: color },
      },
      {
        data: { values: curves },
        mark: { type: "line", point: { size: 16 } },
        encoding: { x, y: y("excess", "training-loss excess L_t − L_0 (symlog)"), color },
      },
      {
        data: { values: fitLines },
        mark: { type: "line", strokeDash: [5, 3], strokeWidth: 1.5 },
        encoding: { x, y: y("excess"), color },
      },
    ],
  });
}

/** The task definition. */
export const fig4bTask: FigureDefinition<typeof fig4bSchema, Fig4bResult, SweepRunFlags> = {
  name: "fig4b",
  description: "Figure 4(b): from a converged SGD minimum (no augmentation), SAM, the " +
    "authors' released ascent-only loop and SGD (the control) on the same seeded batches; the " +
    "mean loss excess over the starting loss against the step, its fitted growth against the " +
    "linearized prediction from the measured top Hessian eigenvalue, and paired intervals.",
  schema: fig4bSchema,
  scales: FIG4B_SCALES,
  ...SWEEP_TASK_DEFAULTS,
  seeds: (config) => ({
    root: config.seed,
    streams: {
      sgd: `${config.seed}:init and ${config.seed}:epoch/<e>`,
      trials: `<trial>:escape/batches for trial = 0…${config.trials - 1}, shared by the rules`,
      sharpness: `${config.sharpness.seed}:sharpness (Lanczos start vector)`,
    },
  }),
  compute: computeFig4b,
  table: fig4bTable,
  chart: fig4bChart,
  summary: (result, config) => {
    const a = analyzeFig4b(result, config);
    return {
      sgdTrainLoss: result.sgdTrainLoss,
      sgdTestError: result.sgdTestError,
      escapeLr: result.escapeLr,
      startLoss: a.startLoss,
      lambdaMax: a.lambdaMax,
      lanczos: { iterations: result.sharpness.iterations, converged: result.sharpness.converged },
      firstGradNorm: a.gradNorm,
      ...Object.fromEntries(
        FIG4B_VARIANTS.map((v) => [`rate ${SHORT[v]}`, rateText(a, config, v)]),
      ),
      ...Object.fromEntries(
        FIG4B_VARIANTS.map((v) => [
          `excess ${v === "sgd" ? "SGD control" : `${SHORT[v]} − SGD`} at step ${config.steps}`,
          contrastText(a, v),
        ]),
      ),
      gradientEvaluations: result.cost,
      runs: result.sweepRuns,
    };
  },
  datasets: (result) => result.datasets,
};

if (import.meta.main) await runMain(() => runFigure(fig4bTask, Deno.args).then(() => {}));
