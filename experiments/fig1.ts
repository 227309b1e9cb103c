/**
 * Figure 1(a): test error against the epoch for SGD only, SAM only, and SGD switched to SAM
 * late (t = 175 of T = 200 in the paper), mean ± std over seeds; the last epoch's seed-paired
 * comparisons (late − SAM, SGD − SAM, the share of SGD's gap the switch closes) carry 95 %
 * intervals (docs/statistics.md).
 *
 *     deno task fig1 [--scale smoke|small|medium|paper] [--workers N] [--dry-run] [--FIELD VALUE ...]
 *
 * The recipe, top to bottom: the configs of each scale ({@link FIG1_SCALES}); the runs (per
 * seed SGD, SAM, and SGD→SAM at t, which branches from the SGD run's state at epoch t,
 * {@link fig1Runs}); the measurement (each epoch's test error, from the run's records); the
 * aggregation (mean ± std over seeds per epoch, {@link fig1Curves}; the seed-paired comparisons of
 * the last epoch with their 95 % intervals, {@link fig1Paired}); the chart. Every run lives
 * in the shared sweep store (`sweep.ts`), so Figures 3 and 4(c) reuse them. Streams:
 * parameters from (seed, init); epoch e's data from (seed, epoch/e).
 *
 * @module
 */
import { z } from "zod";
import { runMain } from "../core/cli.ts";
import { toCsv } from "../core/csv.ts";
import { type FigureContext, type FigureDefinition, runFigure } from "../core/figure.ts";
import type { ChartSpec } from "../core/render.ts";
import { type PhaseOptimizer, switchAt } from "../core/schedule.ts";
import { planSweep, type RunRequest } from "../core/sweep/plan.ts";
import type { EpochRecord } from "../core/train.ts";
import { chartTitle } from "./charts.ts";
import { RUN_COSTS, runData } from "./runs.ts";
import { runSettingsOf, runSettingsShape, seededSettings } from "./run_settings.ts";
import {
  MEDIUM_EPOCHS,
  MEDIUM_SETTINGS,
  PAPER_EPOCHS,
  PAPER_WRN_C10,
  SMALL_EPOCHS,
  SMALL_SETTINGS,
  SMOKE_EPOCHS,
  SMOKE_SETTINGS,
} from "./settings.ts";
import {
  executeSweep,
  runRecords,
  SWEEP_TASK_DEFAULTS,
  type SweepOutcome,
  type SweepRunFlags,
} from "./sweep.ts";
import { groupBy, meanStd } from "../core/stats.ts";
import {
  bySeed,
  formatInterval as interval,
  PAIRED_COLUMNS,
  pairedDiff,
  pairedRow,
  pairedShare,
  type PairedStat,
} from "./paired.ts";

/** Config of Figure 1. */
export const fig1Schema = z.strictObject({
  ...runSettingsShape,
  epochs: z.number().int().positive().describe("total epochs T"),
  seeds: z.array(z.number().int().nonnegative()).min(1).describe("root seeds (one run each)"),
  switchAt: z.number().int().nonnegative().describe(
    "late switch epoch t: SGD on [0, t), SAM after",
  ),
  fromEpoch: z.number().int().nonnegative().describe("first epoch drawn (the paper omits 0–99)"),
}).refine((c) => c.switchAt <= c.epochs, {
  message: "switchAt must be at most epochs",
  path: ["switchAt"],
});

/** A validated Figure 1 config. */
export type Fig1Config = z.output<typeof fig1Schema>;

/** The three curves, in legend order. */
export const FIG1_CURVES = ["SGD", "SAM", "SGD→SAM"] as const;
type Curve = (typeof FIG1_CURVES)[number];

/** Named configs. */
export const FIG1_SCALES: Record<string, Fig1Config> = {
  smoke: {
    ...SMOKE_SETTINGS,
    epochs: SMOKE_EPOCHS,
    seeds: [0, 1],
    switchAt: 13,
    fromEpoch: 0,
  },
  small: {
    ...SMALL_SETTINGS,
    epochs: SMALL_EPOCHS,
    seeds: [0, 1, 2],
    switchAt: 27,
    fromEpoch: 0,
  },
  medium: {
    ...MEDIUM_SETTINGS,
    epochs: MEDIUM_EPOCHS,
    seeds: [0, 1, 2, 3, 4],
    switchAt: 36,
    fromEpoch: 0,
  },
  paper: {
    ...PAPER_WRN_C10,
    epochs: PAPER_EPOCHS.wrn,
    seeds: [0, 1, 2, 3, 4],
    switchAt: 175,
    fromEpoch: 100,
  },
};

/** One run of the figure. */
interface Fig1Run {
  curve: Curve;
  seed: number;
  id: string;
  records: EpochRecord[];
}

/** What Figure 1 computes. */
export interface Fig1Result {
  runs: Fig1Run[];
  cost: SweepOutcome["cost"];
  /** The sweep's runs, for the manifest (`summary.runs`). */
  sweepRuns: SweepOutcome["runs"];
  datasets: Record<string, string>;
}

/** The requested runs: per seed, SGD, SAM and the late switch. */
export function fig1Runs(config: Fig1Config): { curve: Curve; seed: number; run: RunRequest }[] {
  const settings = runSettingsOf(config);
  const T = config.epochs;
  const schedules: [Curve, PhaseOptimizer, PhaseOptimizer, number][] = [
    ["SGD", "sgd", "sgd", T],
    ["SAM", "sam", "sam", 0],
    ["SGD→SAM", "sgd", "sam", config.switchAt],
  ];
  return config.seeds.flatMap((seed) =>
    schedules.map(([curve, first, then, at]) => ({
      curve,
      seed,
      run: {
        base: seededSettings(settings, seed, T),
        epochs: T,
        phases: switchAt({ first, then, at, epochs: T }),
      },
    }))
  );
}

async function computeFig1(
  config: Fig1Config,
  context: FigureContext<SweepRunFlags>,
): Promise<Fig1Result> {
  const requested = fig1Runs(config);
  const plan = planSweep({ runs: requested.map((r) => r.run) }, RUN_COSTS);
  const outcome = await executeSweep(plan, context, { label: "fig1" });
  const runs: Fig1Run[] = [];
  for (const [i, r] of requested.entries()) {
    const id = plan.runs[i];
    runs.push({ curve: r.curve, seed: r.seed, id, records: await runRecords(outcome, id) });
  }
  const data = await runData(runSettingsOf(config), context.flags.dataDir);
  return { runs, cost: outcome.cost, sweepRuns: outcome.runs, datasets: data.files };
}

/** Per-epoch mean ± std test error (%) of each curve. */
export function fig1Curves(result: Fig1Result) {
  const rows: { curve: Curve; epoch: number; mean: number; std: number; n: number }[] = [];
  for (const [curve, runs] of groupBy(result.runs, (r) => r.curve)) {
    const epochs = runs[0].records.length;
    for (let e = 0; e < epochs; e++) {
      const s = meanStd(runs.map((r) => 100 * (1 - r.records[e].testAcc)));
      rows.push({ curve, epoch: e + 1, mean: s.mean, std: s.std, n: s.n });
    }
  }
  return rows;
}

/** A seed-paired comparison of Figure 1, with the curve it is about. */
export interface Fig1Paired extends PairedStat {
  curve: Curve;
  epoch: number;
}

/**
 * The seed-paired comparisons of test error (%): per curve `test_error_drop` (epoch 1 − the
 * last epoch); at the last epoch `test_error_gap` of SGD and of SGD→SAM (the curve − SAM, pp),
 * all with their 95 % t-interval; and `test_error_recovered` of SGD→SAM, (e_SGD − e)/(e_SGD −
 * e_SAM), the share of SGD's gap to SAM the late switch closes, with Fieller's 95 % interval.
 */
export function fig1Paired(result: Fig1Result): Fig1Paired[] {
  const runs = (curve: Curve) => result.runs.filter((r) => r.curve === curve);
  const last = Math.min(...result.runs.map((r) => r.records.length));
  const error = (curve: Curve, epoch: number) =>
    bySeed(runs(curve), (r) => 100 * (1 - r.records[epoch - 1].testAcc));
  const final = (curve: Curve) => error(curve, last);
  const at = (curve: Curve, epoch: number, stat: PairedStat) => ({ ...stat, curve, epoch });
  const minus = (x: number, y: number) => x - y;
  return [
    ...FIG1_CURVES.map((c) =>
      at(c, last, pairedDiff("test_error_drop", [error(c, 1), final(c)], minus))
    ),
    ...(["SGD", "SGD→SAM"] as const).map((c) =>
      at(c, last, pairedDiff("test_error_gap", [final(c), final("SAM")], minus))
    ),
    at(
      "SGD→SAM",
      last,
      pairedShare("test_error_recovered", final("SGD→SAM"), final("SGD"), final("SAM")),
    ),
  ];
}

const COLUMNS = [
  "kind",
  "curve",
  "seed",
  "epoch",
  "optimizer",
  "test_error",
  "test_error_std",
  "n",
  "train_loss",
  "run",
  ...PAIRED_COLUMNS,
] as const;

/**
 * `data.csv`: one row per run and epoch, one mean row per curve and epoch, then the paired
 * rows ({@link fig1Paired}; `kind = paired` with `quantity`, `n`, `mean`, `lo`, `hi`).
 */
export function fig1Table(result: Fig1Result): string {
  const runRows = result.runs.flatMap((r) =>
    r.records.map((e) => ({
      kind: "run",
      curve: r.curve,
      seed: r.seed,
      epoch: e.epoch + 1,
      optimizer: e.optimizer,
      test_error: 100 * (1 - e.testAcc),
      train_loss: e.trainLoss,
      run: r.id,
    }))
  );
  const meanRows = fig1Curves(result).map((c) => ({
    kind: "mean",
    curve: c.curve,
    epoch: c.epoch,
    test_error: c.mean,
    test_error_std: c.std,
    n: c.n,
  }));
  const pairedRows = fig1Paired(result).map((p) =>
    pairedRow(p, { curve: p.curve, epoch: p.epoch })
  );
  return toCsv(COLUMNS, [...runRows, ...meanRows, ...pairedRows]);
}

const COLORS = { "SGD": "#1f77b4", "SAM": "#2ca02c", "SGD→SAM": "#ff7f0e" };

/** The chart's line on the last epoch's seed-paired comparisons. */
export function fig1PairedLine(result: Fig1Result, seeds: number): string {
  const paired = fig1Paired(result);
  const find = (quantity: string, curve: Curve) =>
    paired.find((p) => p.quantity === quantity && p.curve === curve)!;
  const df = seeds > 1 ? `95 % t-interval, ${seeds - 1} df` : "one seed: no interval";
  return `last epoch, seed-paired (n = ${seeds}, ${df}): SGD→SAM − SAM ${
    interval(find("test_error_gap", "SGD→SAM"))
  } pp, SGD − SAM ${interval(find("test_error_gap", "SGD"))} pp; share of SGD's gap to SAM ` +
    `closed by the switch ${
      interval(find("test_error_recovered", "SGD→SAM"))
    } (Fieller's 95 % interval)`;
}

function fig1Chart(result: Fig1Result, config: Fig1Config): ChartSpec {
  const curves = fig1Curves(result).filter((c) => c.epoch > config.fromEpoch).map((c) => ({
    ...c,
    lo: c.mean - c.std,
    hi: c.mean + c.std,
  }));
  const color = {
    field: "curve",
    type: "nominal",
    title: null,
    scale: { domain: [...FIG1_CURVES], range: FIG1_CURVES.map((c) => COLORS[c]) },

    // The merged legend takes its symbols from the faint band layer; draw them solid.
    legend: { symbolOpacity: 1 },
  };
  const x = { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: chartTitle(
      `Figure 1: test error of SGD, SAM and a late switch (t = ${config.switchAt})`,
      [
        `${config.model} on ${config.dataset} (${
          config.trainSize || "all"
        } training images), T = ${config.epochs}, ρ = ${config.rho}; ` +
        `mean ± std over ${config.seeds.length} seeds`,
        `SAM proportion of the switched run ${(1 - config.switchAt / config.epochs).toFixed(3)}; ` +
        `branching saved ${(100 * result.cost.savedFraction).toFixed(0)}% of gradient evaluations`,
        fig1PairedLine(result, config.seeds.length),
      ],
      520,
    ),
    width: 440,
    height: 280,
    data: { values: curves },
    layer: [
      {
        mark: { type: "area", opacity: 0.18 },
        encoding: {
          x,
          y: { field: "lo", type: "quantitative" },
          y2: { field: "hi" },
          fill: color,
        },
      },
      {
        mark: { type: "line", point: { size: 18 } },
        encoding: {
          x,
          y: {
            field: "mean",
            type: "quantitative",
            title: "test error (%)",
            scale: { zero: false },
          },
          color,
        },
      },
      {
        data: { values: [{ t: config.switchAt + 0.5 }] },
        mark: { type: "rule", strokeDash: [4, 3], color: "#777777" },
        encoding: { x: { field: "t", type: "quantitative" } },
      },
    ],
    config: { view: { stroke: "#cccccc" }, title: { subtitleFontSize: 11 } },
  } as ChartSpec;
}

/** The last epoch's mean test error (%) per curve. */
export function fig1Final(result: Fig1Result): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of fig1Curves(result)) out[c.curve] = c.mean;
  return out;
}

/** The task definition. */
export const fig1Task: FigureDefinition<typeof fig1Schema, Fig1Result, SweepRunFlags> = {
  name: "fig1",
  description: "Figure 1(a): test-error curves of SGD, SAM and a late SGD→SAM switch, mean ± " +
    "std over seeds. Runs share their SGD prefix and live in the shared sweep store " +
    "(<out>/sweep/), where other figures reuse them.",
  schema: fig1Schema,
  scales: FIG1_SCALES,
  ...SWEEP_TASK_DEFAULTS,
  seeds: (config) => ({
    roots: config.seeds,
    streams: {
      init: "<seed>:init",
      data: "<seed>:epoch/<e>/shuffle and <seed>:epoch/<e>/augment",
    },
  }),
  compute: computeFig1,
  table: fig1Table,
  chart: fig1Chart,
  summary: (result) => ({
    finalTestError: fig1Final(result),
    gradientEvaluations: result.cost,
    runs: result.sweepRuns,
  }),
  datasets: (result) => result.datasets,
};

if (import.meta.main) await runMain(() => runFigure(fig1Task, Deno.args).then(() => {}));
