/**
 * Figure 4(c): the loss along the line θ_λ = (1 − λ)·θ_{SGD→SAM} + λ·θ_{SGD} between the end
 * point of a late switch (λ = 0) and the SGD end point (λ = 1) of the same seed, and its
 * second difference L″(λ) = (L(λ + h) + L(λ − h) − 2L(λ))/(2h)² with h = 0.1 (docs/paper.md#measurements).
 * The paper's message: no barrier (same valley), and L″ grows toward the sharper SGD end.
 *
 *     deno task fig4c [--scale smoke|small|medium|paper] [--workers N] [--dry-run] [--FIELD VALUE ...]
 *
 * Whole states are interpolated (parameters and BatchNorm running statistics) and evaluated
 * in eval mode with plain cross-entropy on the first N training and test examples. Per seed
 * (the two end points of a line share the seed's SGD prefix), the barrier and the rise of L″
 * toward the SGD end are computed and aggregated with a 95 % t-interval ({@link fig4cPaired},
 * docs/statistics.md).
 *
 * @module
 */
import { z } from "zod";
import { runMain } from "../core/cli.ts";
import { toCsv } from "../core/csv.ts";
import { type FigureContext, type FigureDefinition, runFigure } from "../core/figure.ts";
import type { LineRow } from "../core/metrics/line.ts";
import type { ChartSpec } from "../core/render.ts";
import { switchAt } from "../core/schedule.ts";
import { groupBy, meanStd } from "../core/stats.ts";
import { planSweep, runId } from "../core/sweep/plan.ts";
import { figureSpec, nominalScale, quant, ruleLayer } from "./charts.ts";
import { mean } from "../core/stats.ts";
import {
  formatInterval,
  PAIRED_COLUMNS,
  pairedDiff,
  pairedRow,
  type PairedStat,
} from "./paired.ts";
import { lineSpecSchema } from "./measures.ts";
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
  measureResult,
  SWEEP_TASK_DEFAULTS,
  type SweepOutcome,
  type SweepRunFlags,
} from "./sweep.ts";

/** Config of Figure 4(c). */
export const fig4cSchema = z.strictObject({
  ...runSettingsShape,
  epochs: z.number().int().positive().describe("total epochs T"),
  seeds: z.array(z.number().int().nonnegative()).min(1).describe("root seeds (one line each)"),
  switchAt: z.number().int().nonnegative().describe("late switch epoch t of the λ = 0 end point"),
  line: lineSpecSchema.omit({ kind: true }),
}).refine((c) => c.switchAt < c.epochs, {
  message: "switchAt must be below epochs (the λ = 0 end needs some SAM epochs)",
  path: ["switchAt"],
});

/** A validated Figure 4(c) config. */
export type Fig4cConfig = z.output<typeof fig4cSchema>;

const LINE = { from: -0.2, to: 1.2, step: 0.05, h: 0.1, trainExamples: 1000, testExamples: 1000 };

/** Named configs. */
export const FIG4C_SCALES: Record<string, Fig4cConfig> = {
  smoke: {
    ...SMOKE_SETTINGS,
    epochs: SMOKE_EPOCHS,
    seeds: [0],
    switchAt: 13,
    line: { ...LINE, step: 0.1, trainExamples: 256, testExamples: 256 },
  },
  small: { ...SMALL_SETTINGS, epochs: SMALL_EPOCHS, seeds: [0, 1, 2], switchAt: 27, line: LINE },
  medium: {
    ...MEDIUM_SETTINGS,
    epochs: MEDIUM_EPOCHS,
    seeds: [0, 1, 2, 3, 4],
    switchAt: 36,
    line: { ...LINE, trainExamples: 2000, testExamples: 2000 },
  },
  paper: {
    ...PAPER_WRN_C10,
    epochs: PAPER_EPOCHS.wrn,
    seeds: [0, 1, 2],
    switchAt: 175,
    line: LINE,
  },
};

/** One seed's line. */
interface Fig4cLine {
  seed: number;
  rows: LineRow[];
}

/** What Figure 4(c) computes. */
export interface Fig4cResult {
  lines: Fig4cLine[];
  cost: SweepOutcome["cost"];
  /** The sweep's runs, for the manifest (`summary.runs`). */
  sweepRuns: SweepOutcome["runs"];
  datasets: Record<string, string>;
}

async function computeFig4c(
  config: Fig4cConfig,
  context: FigureContext<SweepRunFlags>,
): Promise<Fig4cResult> {
  const T = config.epochs;
  const settings = runSettingsOf(config);
  const pairs = config.seeds.map((seed) => {
    const base = seededSettings(settings, seed, T);
    const sgd = {
      base,
      epochs: T,
      phases: switchAt({ first: "sgd", then: "sgd", at: T, epochs: T }),
    };
    const late = {
      base,
      epochs: T,
      phases: switchAt({ first: "sgd", then: "sam", at: config.switchAt, epochs: T }),
    };
    return { seed, sgd, late };
  });
  const spec = { kind: "line", ...config.line };
  const plan = planSweep({
    runs: pairs.flatMap((p) => [p.sgd, p.late]),
    measures: pairs.map((p) => ({ spec, runs: [runId(p.late), runId(p.sgd)] })),
  }, RUN_COSTS);
  const outcome = await executeSweep(plan, context, { label: "fig4c" });
  const lines: Fig4cLine[] = [];
  for (const [i, p] of pairs.entries()) {
    const result = await measureResult<{ rows: LineRow[] }>(outcome, plan.measures[i]);
    lines.push({ seed: p.seed, rows: result.rows });
  }
  const data = await runData(settings, context.flags.dataDir);
  return { lines, cost: outcome.cost, sweepRuns: outcome.runs, datasets: data.files };
}

/** Mean ± std over seeds of loss and L″ per (split, λ). */
export function fig4cSummary(result: Fig4cResult) {
  const rows = result.lines.flatMap((l) => l.rows.map((r) => ({ ...r, seed: l.seed })));
  return [...groupBy(rows, (r) => `${r.split}|${r.lambda}`).values()].map((group) => {
    const curv = group.map((r) => r.curvature).filter((c): c is number => c !== null);
    return {
      split: group[0].split,
      lambda: group[0].lambda,
      loss: meanStd(group.map((r) => r.loss)),
      acc: meanStd(group.map((r) => r.acc)),
      curvature: curv.length === group.length ? meanStd(curv) : null,
    };
  });
}

/** The λ ranges near each end over which L″ is averaged. */
export const NEAR_SWITCHED_END = [0, 0.4] as const;
export const NEAR_SGD_END = [0.6, 1] as const;

/** One seed's barrier and curvature rise on the training loss. */
function lineShape(rows: readonly LineRow[]) {
  const train = rows.filter((r) =>
    r.split === "train" && r.lambda >= -1e-9 && r.lambda <= 1 + 1e-9
  );
  const at = (lambda: number) => train.find((r) => Math.abs(r.lambda - lambda) < 1e-9)!.loss;
  const ends = Math.max(at(0), at(1));
  const curvature = ([lo, hi]: readonly [number, number]) =>
    mean(
      train.filter((r) => r.lambda >= lo - 1e-9 && r.lambda <= hi + 1e-9 && r.curvature !== null)
        .map((r) => r.curvature!),
    );
  return {
    barrier: (Math.max(...train.map((r) => r.loss)) - ends) / ends,
    curvatureRise: curvature(NEAR_SGD_END) - curvature(NEAR_SWITCHED_END),
  };
}

/**
 * The per-seed shape of the training-loss line, over seeds with its 95 % t-interval:
 * `barrier_relative`, (max of L on λ ∈ [0, 1] − the larger end point)/(the larger end point),
 * and `curvature_rise`, the mean L″ on λ ∈ [0.6, 1] − the mean on [0, 0.4].
 */
export function fig4cPaired(result: Fig4cResult): PairedStat[] {
  const shapes = result.lines.map((l) => ({ seed: l.seed, ...lineShape(l.rows) }));
  const of = (key: "barrier" | "curvatureRise") => new Map(shapes.map((s) => [s.seed, s[key]]));
  return [
    pairedDiff("barrier_relative", [of("barrier")], (b) => b),
    pairedDiff("curvature_rise", [of("curvatureRise")], (c) => c),
  ];
}

const COLUMNS = [
  "kind",
  "split",
  "lambda",
  "seed",
  "n",
  "loss",
  "loss_std",
  "acc",
  "curvature",
  "curvature_std",
  ...PAIRED_COLUMNS,
] as const;

/**
 * `data.csv`: one row per seed, split and λ, one mean row per split and λ, then the paired
 * rows of the training split ({@link fig4cPaired}; `kind = paired`).
 */
export function fig4cTable(result: Fig4cResult): string {
  const runRows = result.lines.flatMap((l) =>
    l.rows.map((r) => ({
      kind: "run",
      split: r.split,
      lambda: r.lambda,
      seed: l.seed,
      loss: r.loss,
      acc: r.acc,
      curvature: r.curvature,
    }))
  );
  const meanRows = fig4cSummary(result).map((s) => ({
    kind: "mean",
    split: s.split,
    lambda: s.lambda,
    n: s.loss.n,
    loss: s.loss.mean,
    loss_std: s.loss.std,
    acc: s.acc.mean,
    curvature: s.curvature?.mean ?? null,
    curvature_std: s.curvature?.std ?? null,
  }));
  const pairedRows = fig4cPaired(result).map((p) => pairedRow(p, { split: "train" }));
  return toCsv(COLUMNS, [...runRows, ...meanRows, ...pairedRows]);
}

function fig4cChart(result: Fig4cResult, config: Fig4cConfig): ChartSpec {
  const summary = fig4cSummary(result);
  const values = (field: "loss" | "curvature") =>
    summary.flatMap((s) => {
      const m = field === "loss" ? s.loss : s.curvature;
      return m
        ? [{
          split: s.split,
          lambda: s.lambda,
          mean: m.mean,
          lo: m.mean - m.std,
          hi: m.mean + m.std,
        }]
        : [];
    });
  const x = quant("lambda", "λ (0: SGD→SAM end point, 1: SGD end point)");
  // The merged legend takes its symbols from the faint band layer; draw them solid.
  const color = nominalScale("split", ["train", "test"], ["#1f77b4", "#ff7f0e"], {
    legend: { symbolOpacity: 1 },
  });
  const panel = (field: "loss" | "curvature", title: string) => ({
    width: 420,
    height: 200,
    data: { values: values(field) },
    layer: [
      ruleLayer("x", [0, 1], { color: "#aaaaaa", strokeDash: [3, 3] }),
      {
        mark: { type: "area", opacity: 0.2 },
        encoding: { x, y: quant("lo"), y2: { field: "hi" }, fill: color },
      },
      {
        mark: { type: "line", point: { size: 14 } },
        encoding: { x, y: quant("mean", title, { scale: { zero: false } }), color },
      },
    ],
  });
  return figureSpec({
    text:
      "Figure 4(c): loss and curvature along the line from the late-switch to the SGD end point",
    subtitle: [
      `${config.model} on ${config.dataset}, T = ${config.epochs}, switch at t = ${config.switchAt}; ` +
      `θ_λ = (1 − λ)·θ_SGD→SAM + λ·θ_SGD (whole state), eval mode, plain CE; ` +
      `mean ± std over ${config.seeds.length} seed${config.seeds.length === 1 ? "" : "s"}`,
      `L″(λ) = (L(λ + h) + L(λ − h) − 2L(λ))/(2h)², h = ${config.line.h}; ` +
      `${config.line.trainExamples} train / ${config.line.testExamples} test examples`,
      pairedLine(fig4cPaired(result)),
    ],
    width: 500,
  }, { vconcat: [panel("loss", "loss L(θ_λ)"), panel("curvature", "L″(θ_λ)")] });
}

/** The chart's line on the per-seed barrier and curvature rise with their intervals. */
function pairedLine(stats: PairedStat[]): string {
  const [barrier, rise] = stats;
  const df = barrier.n > 1 ? `95 % t-interval, ${barrier.n - 1} df` : "one seed: no interval";
  return `per seed, train loss (n = ${barrier.n}, ${df}): barrier (max on [0, 1] − larger end)/` +
    `larger end ${formatInterval(barrier)}; mean L″ on [0.6, 1] − on [0, 0.4] ${
      formatInterval(rise)
    }`;
}

/** Barrier and curvature headline: max loss above the end points, L″ near each end. */
export function fig4cHeadline(result: Fig4cResult) {
  const summary = fig4cSummary(result).filter((s) => s.split === "train");
  const at = (lambda: number) => summary.find((s) => Math.abs(s.lambda - lambda) < 1e-9);
  const inside = summary.filter((s) => s.lambda >= 0 && s.lambda <= 1);
  const ends = Math.max(at(0)!.loss.mean, at(1)!.loss.mean);
  const curved = inside.filter((s) => s.curvature !== null);
  return {
    trainBarrier: Math.max(...inside.map((s) => s.loss.mean)) - ends,
    trainLossAt0: at(0)!.loss.mean,
    trainLossAt1: at(1)!.loss.mean,
    curvatureNear0: curved[0]?.curvature?.mean ?? null,
    curvatureNear1: curved[curved.length - 1]?.curvature?.mean ?? null,
  };
}

/** The task definition. */
export const fig4cTask: FigureDefinition<typeof fig4cSchema, Fig4cResult, SweepRunFlags> = {
  name: "fig4c",
  description: "Figure 4(c): loss and L″ (h = 0.1) along the line from a late SGD→SAM end " +
    "point (λ = 0) to the SGD end point (λ = 1) of the same seed, train and test subsets.",
  schema: fig4cSchema,
  scales: FIG4C_SCALES,
  ...SWEEP_TASK_DEFAULTS,
  seeds: (config) => ({
    roots: config.seeds,
    streams: { init: "<seed>:init", data: "<seed>:epoch/<e>/shuffle and …/augment" },
  }),
  compute: computeFig4c,
  table: fig4cTable,
  chart: fig4cChart,
  summary: (result) => ({
    ...fig4cHeadline(result),
    gradientEvaluations: result.cost,
    runs: result.sweepRuns,
  }),
  datasets: (result) => result.datasets,
};

if (import.meta.main) await runMain(() => runFigure(fig4cTask, Deno.args).then(() => {}));
