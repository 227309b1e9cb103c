/**
 * Figure 4(b) on a network: train with SGD until it has converged (no augmentation, as the
 * authors' `ERM.py`), then take SAM steps from that point in many seeded trials of batch
 * sampling, and plot the training loss on a fixed subset against the SAM step t′: its mean
 * grows geometrically at first (exponential escape, docs/paper.md#measurements). Also the authors' released
 * `escape.py` loop, which never calls `second_step()`: ascent only, θ ← θ + ρ·g/‖g‖.
 *
 *     deno task fig4b [--scale smoke|small|paper] [--workers N] [--dry-run] [--FIELD VALUE ...]
 *
 * Streams: the SGD run from (seed, init) and (seed, epoch/e); trial i's batch order from
 * (i, escape/batches), the same for both variants (paired trials).
 *
 * @module
 */
import { z } from "zod";
import { runMain } from "../core/cli.ts";
import { toCsv } from "../core/csv.ts";
import { type FigureContext, type FigureDefinition, runFigure } from "../core/figure.ts";
import { fmt } from "../core/format.ts";
import type { ChartSpec } from "../core/render.ts";
import { meanStd, quantileSortedNearest } from "../core/stats.ts";
import { switchAt } from "../core/schedule.ts";
import { planSweep, runId } from "../core/sweep/plan.ts";
import type { EscapeResult } from "./measures.ts";
import { escapeFitCurve, fitEscapeRate } from "./escape.ts";
import { figureSpec, nominalScale, quant } from "./charts.ts";
import { learningRate } from "../core/schedule.ts";
import { RUN_COSTS, runData } from "./runs.ts";
import { lrScheduleOf, runSettingsOf, runSettingsShape, seededSettings } from "./run_settings.ts";
import {
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

const VARIANTS = ["sam", "ascent"] as const;

/** Config of Figure 4(b). */
export const fig4bSchema = z.strictObject({
  ...runSettingsShape,
  epochs: z.number().int().positive().describe("SGD epochs to convergence"),
  seed: z.number().int().nonnegative().describe("root seed of the SGD run"),
  trials: z.number().int().positive().describe("seeded batch-sampling trials per variant"),
  steps: z.number().int().positive().describe("SAM steps t′ after the switch"),
  fitSteps: z.number().int().min(3).describe("fit the growth rate over the first steps"),
  escape: z.strictObject({
    rho: z.number().positive().describe("SAM radius of the escape steps"),
    lr: z.number().nonnegative().describe("learning rate of the SAM steps (0: the run's last)"),
    batchSize: z.number().int().positive().describe("batch of each SAM step"),
    evalSize: z.number().int().positive().describe("first N training examples for the loss"),
  }),
});

/** A validated Figure 4(b) config. */
export type Fig4bConfig = z.output<typeof fig4bSchema>;

/** Named configs. */
export const FIG4B_SCALES: Record<string, Fig4bConfig> = {
  smoke: {
    ...SMOKE_SETTINGS,
    epochs: SMOKE_EPOCHS,
    seed: 0,
    trials: 4,
    steps: 6,
    fitSteps: 4,
    escape: { rho: 0.15, lr: 0, batchSize: 32, evalSize: 256 },
  },
  small: {
    ...SMALL_SETTINGS,
    epochs: SMALL_EPOCHS,
    seed: 0,
    trials: 20,
    steps: 20,
    fitSteps: 8,
    escape: { rho: 0.1, lr: 0, batchSize: 32, evalSize: 500 },
  },
  paper: {
    ...PAPER_WRN_C10,
    augment: "none",
    epochs: 200,
    seed: 0,
    trials: 100,
    steps: 50,
    fitSteps: 10,
    escape: { rho: 0.05, lr: 0, batchSize: 128, evalSize: 50000 },
  },
};

/** What Figure 4(b) computes. */
export interface Fig4bResult {
  trials: EscapeResult[];
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
  // The SAM steps continue at the learning rate SGD ended with, unless one is given.
  const escapeLr = config.escape.lr || learningRate(lrScheduleOf(settings), T - 1, T);
  const specs = VARIANTS.flatMap((variant) =>
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
  const plan = planSweep({
    runs: [run],
    measures: specs.map((spec) => ({ spec, runs: [runId(run)] })),
  }, RUN_COSTS);
  const outcome = await executeSweep(plan, context, { label: "fig4b" });
  const trials: EscapeResult[] = [];
  for (const id of plan.measures) trials.push(await measureResult<EscapeResult>(outcome, id));
  const records = await runRecords(outcome, plan.runs[0]);
  const last = records[records.length - 1];
  const data = await runData(settings, context.flags.dataDir);
  return {
    trials,
    sgdTrainLoss: last.trainLoss,
    sgdTestError: 100 * (1 - last.testAcc),
    escapeLr,
    cost: outcome.cost,
    sweepRuns: outcome.runs,
    datasets: data.files,
  };
}

/** Per variant and step: mean, 10th and 90th percentile of the loss over trials. */
export function fig4bCurves(result: Fig4bResult) {
  return VARIANTS.flatMap((variant) => {
    const trials = result.trials.filter((t) => t.variant === variant);
    if (trials.length === 0) return [];
    return trials[0].losses.map((_, step) => {
      const values = trials.map((t) => t.losses[step]).sort((a, b) => a - b);
      const q = (p: number) => quantileSortedNearest(values, p);
      return { variant, step, ...meanStd(values), q10: q(0.1), q90: q(0.9) };
    });
  });
}

/** The fitted per-step growth factor of the mean loss, per variant. */
export function fig4bFits(result: Fig4bResult, fitSteps: number) {
  const curves = fig4bCurves(result);
  return Object.fromEntries(VARIANTS.map((variant) => {
    const mean = curves.filter((c) => c.variant === variant).map((c) => c.mean);
    return [variant, fitEscapeRate(mean, fitSteps)];
  }));
}

const COLUMNS = ["kind", "variant", "trial", "step", "loss", "loss_std", "q10", "q90", "growth"];

function fig4bTable(result: Fig4bResult, config: Fig4bConfig): string {
  const trialRows = result.trials.flatMap((t) =>
    t.losses.map((loss, step) => ({
      kind: "trial",
      variant: t.variant,
      trial: t.trial,
      step,
      loss,
    }))
  );
  const meanRows = fig4bCurves(result).map((c) => ({
    kind: "mean",
    variant: c.variant,
    step: c.step,
    loss: c.mean,
    loss_std: c.std,
    q10: c.q10,
    q90: c.q90,
  }));
  const fits = fig4bFits(result, config.fitSteps);
  const fitRows = VARIANTS.map((variant) => ({
    kind: "fit",
    variant,
    step: fits[variant].steps,
    growth: fits[variant].growth,
  }));
  return toCsv(COLUMNS, [...trialRows, ...meanRows, ...fitRows]);
}

const COLORS = { sam: "#d62728", ascent: "#7f7f7f" };
const LABELS = { sam: "SAM (descent at θ + ε)", ascent: "released escape.py (ascent only)" };

function fig4bChart(result: Fig4bResult, config: Fig4bConfig): ChartSpec {
  const fits = fig4bFits(result, config.fitSteps);
  const curves = fig4bCurves(result).map((c) => ({ ...c, label: LABELS[c.variant] }));
  const fitLines = VARIANTS.flatMap((variant) =>
    escapeFitCurve(fits[variant]).map((p) => ({ label: LABELS[variant], ...p }))
  );
  const color = nominalScale(
    "label",
    VARIANTS.map((v) => LABELS[v]),
    VARIANTS.map((v) => COLORS[v]),
    {
      // The labels name the update rules in full (below the plot they need no truncation); the
      // merged legend takes its symbols from the faint band layer, so draw them solid.
      legend: { orient: "bottom", direction: "vertical", labelLimit: 0, symbolOpacity: 1 },
    },
  );
  const x = quant("step", "SAM steps after the switch t′");
  const y = (field: string, title?: string) => quant(field, title, { scale: { type: "log" } });
  const rate = (v: (typeof VARIANTS)[number]) =>
    fits[v].growth === null ? "n/a" : `×${fits[v].growth!.toFixed(3)} per step`;
  return figureSpec({
    text: "Figure 4(b): training loss after switching from a converged SGD minimum to SAM",
    subtitle: [
      `${config.model} on ${config.dataset} (${config.trainSize || "all"} images, no ` +
      `augmentation), SGD for ${config.epochs} epochs (final train loss ${
        fmt(result.sgdTrainLoss)
      }), then ρ = ${config.escape.rho}, lr ${
        fmt(result.escapeLr)
      }, batch ${config.escape.batchSize}`,
      `mean (line) and 10–90% band over ${config.trials} trials; dashed: fit over the first ` +
      `${config.fitSteps} steps: SAM ${rate("sam")}, ascent-only ${rate("ascent")}`,
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
        encoding: { x, y: y("mean", "training loss (fixed subset)"), color },
      },
      {
        data: { values: fitLines },
        mark: { type: "line", strokeDash: [5, 3], strokeWidth: 1.5 },
        encoding: { x, y: y("loss"), color },
      },
    ],
  });
}

/** The task definition. */
export const fig4bTask: FigureDefinition<typeof fig4bSchema, Fig4bResult, SweepRunFlags> = {
  name: "fig4b",
  description: "Figure 4(b): from a converged SGD minimum (no augmentation), SAM steps in " +
    "seeded batch-sampling trials; mean training loss on a fixed subset against the SAM step, " +
    "log axis, with the fitted exponential growth; also the authors' released ascent-only loop.",
  schema: fig4bSchema,
  scales: FIG4B_SCALES,
  ...SWEEP_TASK_DEFAULTS,
  seeds: (config) => ({
    root: config.seed,
    streams: {
      sgd: `${config.seed}:init and ${config.seed}:epoch/<e>`,
      trials: `<trial>:escape/batches for trial = 0…${config.trials - 1}`,
    },
  }),
  compute: computeFig4b,
  table: fig4bTable,
  chart: fig4bChart,
  summary: (result, config) => {
    const fits = fig4bFits(result, config.fitSteps);
    return {
      sgdTrainLoss: result.sgdTrainLoss,
      sgdTestError: result.sgdTestError,
      escapeLr: result.escapeLr,
      growthSam: fits.sam.growth,
      growthAscent: fits.ascent.growth,
      gradientEvaluations: result.cost,
      runs: result.sweepRuns,
    };
  },
  datasets: (result) => result.datasets,
};

if (import.meta.main) await runMain(() => runFigure(fig4bTask, Deno.args).then(() => {}));
