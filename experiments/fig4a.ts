/**
 * Figure 4(a) on the toy valley: noisy SGD settles at a sharp minimum, then SAM and USAM take
 * over, escape it (exponentially fast for USAM) and settle at a flatter minimum of the same
 * valley. Also the toy's escape curve (the network version of Fig. 4(b) is a separate task).
 *
 * The paper's Example 4.1 is not available; the valley is the reconstruction of SPEC §6 in
 * `models/toy_valley.ts` (L = h(u)·q(v), minima on v = 0, sharpness h(u) growing with |u|).
 *
 *     deno task fig4a [--scale smoke|small] [--out results] [--force] [--FIELD VALUE ...]
 *
 * Streams (see core/random.ts): the SGD phase draws its noise from (seed, fig4a/sgd); escape
 * trial i draws from (seed, fig4a/escape/trial/i), shared by every optimizer, so SAM and USAM
 * see the same noise sequence in trial i (a paired comparison).
 *
 * @module
 */
import { z } from "zod";
import { useBackend } from "../core/backend.ts";
import { runMain } from "../core/cli.ts";
import { toCsv } from "../core/csv.ts";
import { type FigureDefinition, runFigure } from "../core/figure.ts";
import { disposeSgdState, type OptimizerSpec, optimizerStep, sgd } from "../core/optim/mod.ts";
import { createProgress } from "../core/progress.ts";
import { createRng, rngKey } from "../core/random.ts";
import type { ChartSpec } from "../core/render.ts";
import { treeDispose } from "../core/tree.ts";
import {
  noisyLossAndGrad,
  type PredictedGrowth,
  predictedLossGrowth,
  type ValleyConfig,
  valleyLossExact,
  valleyParams,
  type ValleyPoint,
  valleyPoint,
  valleySchema,
  valleySharpness,
} from "../models/toy_valley.ts";

/** The escape optimizers, in plotting order. */
export const ESCAPE_OPTIMIZERS = ["usam", "sam"] as const;
type EscapeOptimizer = (typeof ESCAPE_OPTIMIZERS)[number];

/** Config of Figure 4(a). */
export const fig4aSchema = z.strictObject({
  seed: z.number().int().nonnegative().describe("root seed of every noise stream"),
  valley: valleySchema,
  start: z.strictObject({
    u: z.number().describe("SGD start, position along the valley"),
    v: z.number().describe("SGD start, distance across the valley"),
  }),
  lr: z.number().positive().describe("learning rate η of every phase"),
  momentum: z.number().min(0).lt(1).describe(
    "SGD momentum (reset at the switch); the predicted rate assumes 0",
  ),
  sigma: z.number().nonnegative().describe("gradient-noise scale σ (see noisyLossAndGrad)"),
  rho: z.number().positive().describe("SAM/USAM radius ρ"),
  sgd: z.strictObject({
    maxSteps: z.number().int().positive().describe("longest SGD phase"),
    settleLoss: z.number().positive().describe("SGD has settled once the loss is below this"),
  }),
  escape: z.strictObject({
    trials: z.number().int().positive().describe("seeded noise trials per optimizer"),
    steps: z.number().int().positive().describe("SAM/USAM steps after the switch"),
    fitBelowLoss: z.number().positive().describe(
      "fit the escape rate while the mean loss is below this (linear regime)",
    ),
  }),
});

/** A validated Figure 4(a) config. */
export type Fig4aConfig = z.output<typeof fig4aSchema>;

const small: Fig4aConfig = {
  seed: 0,
  valley: { sharpness: "quadratic", crossSection: "subquadratic", h0: 1, a: 1, b: 0.5 },
  start: { u: 3.8, v: 0.5 },
  lr: 0.1,
  momentum: 0,
  sigma: 0.3,
  rho: 0.05,
  sgd: { maxSteps: 2000, settleLoss: 1e-10 },
  escape: { trials: 100, steps: 300, fitBelowLoss: 1e-4 },
};

/** Named configs: `smoke` for CI (seconds), `small` (the default; the paper's 100 trials). */
export const FIG4A_SCALES: Record<string, Fig4aConfig> = {
  smoke: { ...small, escape: { ...small.escape, trials: 20, steps: 120 } },
  small,
};

/** One point of a recorded trajectory. */
export interface TrajectoryPoint extends ValleyPoint {
  step: number;
  loss: number;
}

/** Escape statistics of one optimizer over the trials. */
export interface EscapeSummary {
  optimizer: EscapeOptimizer;
  /** Mean training loss over trials at each step t′ = 0…steps (t′ = 0 is the SGD end). */
  meanLoss: number[];
  /** Geometric mean over trials at each step (a typical trial). */
  geoMeanLoss: number[];
  /** 10th and 90th percentiles over trials at each step. */
  q10: number[];
  q90: number[];
  /** Exponential fit of the mean loss over the escape window (null when too short). */
  fit: EscapeFit;
  /** The same fit of the geometric mean loss (a typical trial). */
  fitTypical: EscapeFit;
  /** Trial 0's path, for the trajectory panel. */
  trajectory: TrajectoryPoint[];
  /** Trial 0's end point and its sharpness. */
  end: TrajectoryPoint & { sharpness: number };
  /** Mean |u| and mean sharpness of the end points over trials. */
  meanEndAbsU: number;
  meanEndSharpness: number;
  /** Trials whose iterates left the finite range. */
  diverged: number;
}

/** An exponential fit L(t′) ≈ exp(intercept)·growth^t′ over the first `steps` steps. */
export interface EscapeFit {
  growth: number | null;
  intercept: number | null;
  steps: number;
}

/** Everything Figure 4(a) computes. */
export interface Fig4aResult {
  sgdTrajectory: TrajectoryPoint[];
  sgdEnd: TrajectoryPoint & { sharpness: number };
  sgdSettled: boolean;
  /** Linear-stability growth factors of the expected loss at the SGD end point. */
  predictedGrowth: { sgd: PredictedGrowth; usam: PredictedGrowth };
  escapes: EscapeSummary[];
}

function record(valley: ValleyConfig, step: number, p: ValleyPoint): TrajectoryPoint {
  return { step, u: p.u, v: p.v, loss: valleyLossExact(valley, p) };
}

/** Runs `steps` optimizer steps from `from`, drawing one noise value per step from `noise`. */
function runPhase(
  config: Fig4aConfig,
  spec: OptimizerSpec,
  from: ValleyPoint,
  options: { steps: number; noise: () => number; stopBelow?: number },
): TrajectoryPoint[] {
  const base = sgd({ momentum: config.momentum, weightDecay: 0 });
  let params = valleyParams(from);
  // A fresh base state: the switch resets momentum, as the authors' code does (SPEC §2.7).
  let state = base.init(params);
  const path = [record(config.valley, 0, from)];
  for (let t = 1; t <= options.steps; t++) {
    const z = options.noise();
    const next = optimizerStep({
      spec,
      lossAndGrad: (p) => noisyLossAndGrad(config.valley, p, { sigma: config.sigma, z }),
      params,
      state,
      base,
      lr: config.lr,
    });
    next.loss.dispose();
    treeDispose(params);
    disposeSgdState(state);
    params = next.params;
    state = next.state;
    const point = record(config.valley, t, valleyPoint(params));
    path.push(point);
    if (!Number.isFinite(point.loss)) break;
    if (options.stopBelow !== undefined && point.loss < options.stopBelow) break;
  }
  treeDispose(params);
  disposeSgdState(state);
  return path;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The escape window: the first steps while the mean loss stays below `below` (the linear
 * regime around the minimum, where the linear-stability prediction applies).
 */
export function escapeWindow(meanLoss: number[], below: number): number {
  let n = 0;
  while (n < meanLoss.length && meanLoss[n] > 0 && meanLoss[n] < below) n++;
  return n;
}

/** Least-squares fit of ln(loss) against the step over the first `steps` steps. */
export function fitEscapeRate(loss: number[], steps: number): EscapeFit {
  const n = Math.min(steps, loss.length);
  if (n < 3) return { growth: null, intercept: null, steps: n };
  const xs = Array.from({ length: n }, (_, i) => i);
  const ys = loss.slice(0, n).map(Math.log);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxy / sxx;
  return { growth: Math.exp(slope), intercept: my - slope * mx, steps: n };
}

function withSharpness(valley: ValleyConfig, p: TrajectoryPoint) {
  return { ...p, sharpness: valleySharpness(valley, p) };
}

/** Runs the whole experiment on the tfjs cpu backend (tiny tensors: dispatch dominates). */
export async function computeFig4a(config: Fig4aConfig): Promise<Fig4aResult> {
  await useBackend("cpu");
  const sgdRng = createRng(rngKey(config.seed, "fig4a", "sgd"));
  const sgdTrajectory = runPhase(config, { kind: "sgd" }, config.start, {
    steps: config.sgd.maxSteps,
    noise: () => sgdRng.normal(),
    stopBelow: config.sgd.settleLoss,
  });
  const last = sgdTrajectory[sgdTrajectory.length - 1];
  const sgdEnd = withSharpness(config.valley, last);
  const predictedGrowth = {
    sgd: predictedLossGrowth({
      eta: config.lr,
      rho: 0,
      sigma: config.sigma,
      sharpness: sgdEnd.sharpness,
    }),
    usam: predictedLossGrowth({
      eta: config.lr,
      rho: config.rho,
      sigma: config.sigma,
      sharpness: sgdEnd.sharpness,
    }),
  };

  const { trials, steps } = config.escape;
  const progress = createProgress("fig4a escape", trials * ESCAPE_OPTIMIZERS.length);
  const escapes = ESCAPE_OPTIMIZERS.map((optimizer): EscapeSummary => {
    const losses: number[][] = [];
    const ends: TrajectoryPoint[] = [];
    let trajectory: TrajectoryPoint[] = [];
    for (let trial = 0; trial < trials; trial++) {
      const rng = createRng(rngKey(config.seed, "fig4a", "escape", "trial", trial));
      const path = runPhase(config, { kind: optimizer, rho: config.rho }, sgdEnd, {
        steps,
        noise: () => rng.normal(),
      });
      if (trial === 0) trajectory = path;
      losses.push(path.map((p) => p.loss));
      ends.push(path[path.length - 1]);
      progress.tick(1, optimizer);
    }
    const finiteEnds = ends.filter((p) => Number.isFinite(p.loss) && p.step === steps);
    const perStep = Array.from(
      { length: steps + 1 },
      (_, t) =>
        losses.map((l) => l[t]).filter((x) => x !== undefined && Number.isFinite(x)).sort((a, b) =>
          a - b
        ),
    );
    const meanLoss = perStep.map((xs) => xs.reduce((a, b) => a + b, 0) / xs.length);
    const geoMeanLoss = perStep.map((xs) =>
      Math.exp(xs.reduce((a, b) => a + Math.log(b), 0) / xs.length)
    );
    // Both fits use the window where the mean (dominated by the fastest trials) is still small.
    const window = escapeWindow(meanLoss, config.escape.fitBelowLoss);
    return {
      optimizer,
      meanLoss,
      geoMeanLoss,
      q10: perStep.map((xs) => quantile(xs, 0.1)),
      q90: perStep.map((xs) => quantile(xs, 0.9)),
      fit: fitEscapeRate(meanLoss, window),
      fitTypical: fitEscapeRate(geoMeanLoss, window),
      trajectory,
      end: withSharpness(config.valley, trajectory[trajectory.length - 1]),
      meanEndAbsU: finiteEnds.reduce((a, p) => a + Math.abs(p.u), 0) / finiteEnds.length,
      meanEndSharpness: finiteEnds.reduce((a, p) => a + valleySharpness(config.valley, p), 0) /
        finiteEnds.length,
      diverged: trials - finiteEnds.length,
    };
  });
  progress.finish();
  return {
    sgdTrajectory,
    sgdEnd,
    sgdSettled: last.loss < config.sgd.settleLoss,
    predictedGrowth,
    escapes,
  };
}

/** Columns of `data.csv`; each row kind fills the columns that apply to it. */
export const FIG4A_COLUMNS = [
  "kind",
  "optimizer",
  "step",
  "u",
  "v",
  "loss",
  "loss_geomean",
  "loss_q10",
  "loss_q90",
  "sharpness",
  "growth_fitted_mean",
  "growth_fitted_typical",
  "growth_predicted_mean",
  "growth_predicted_typical",
] as const;

/** The result as rows of `data.csv` (kinds: trajectory, escape, fit, endpoint, rate). */
export function fig4aRows(result: Fig4aResult): Record<string, number | string | null>[] {
  const rows: Record<string, number | string | null>[] = [];
  const traj = (optimizer: string, path: TrajectoryPoint[]) => {
    for (const p of path) {
      rows.push({ kind: "trajectory", optimizer, step: p.step, u: p.u, v: p.v, loss: p.loss });
    }
  };
  traj("sgd", result.sgdTrajectory);
  for (const e of result.escapes) traj(e.optimizer, e.trajectory);
  for (const e of result.escapes) {
    e.meanLoss.forEach((loss, step) =>
      rows.push({
        kind: "escape",
        optimizer: e.optimizer,
        step,
        loss,
        loss_geomean: e.geoMeanLoss[step],
        loss_q10: e.q10[step],
        loss_q90: e.q90[step],
      })
    );
    const { growth, intercept, steps } = e.fit;
    if (growth !== null && intercept !== null) {
      for (let step = 0; step < steps; step++) {
        const loss = Math.exp(intercept + step * Math.log(growth));
        rows.push({ kind: "fit", optimizer: e.optimizer, step, loss });
      }
    }
  }
  const end = (optimizer: string, p: TrajectoryPoint & { sharpness: number }) =>
    rows.push({
      kind: "endpoint",
      optimizer,
      step: p.step,
      u: p.u,
      v: p.v,
      loss: p.loss,
      sharpness: p.sharpness,
    });
  end("sgd", result.sgdEnd);
  for (const e of result.escapes) end(e.optimizer, e.end);
  const predicted = (p: PredictedGrowth | null) => ({
    growth_predicted_mean: p?.mean ?? null,
    growth_predicted_typical: p?.typical ?? null,
  });
  rows.push({ kind: "rate", optimizer: "sgd", ...predicted(result.predictedGrowth.sgd) });
  for (const e of result.escapes) {
    rows.push({
      kind: "rate",
      optimizer: e.optimizer,
      step: e.fit.steps,
      growth_fitted_mean: e.fit.growth,
      growth_fitted_typical: e.fitTypical.growth,
      // Linear stability predicts USAM's rate; normalized SAM jumps instead (no prediction).
      ...predicted(e.optimizer === "usam" ? result.predictedGrowth.usam : null),
    });
  }
  return rows;
}

const COLORS = { sgd: "#1f77b4", usam: "#2ca02c", sam: "#ff7f0e" };
const LABELS = { sgd: "SGD", usam: "USAM (Eq. 4)", sam: "SAM (Eq. 3)" };

function fmt(x: number | null, digits = 3): string {
  return x === null ? "n/a" : x.toPrecision(digits);
}

/** Samples the loss on a grid of cells over the plotted window (log10, for the background). */
function landscapeCells(valley: ValleyConfig, uDomain: number[], vMax: number) {
  const cells = [];
  const [nu, nv] = [48, 32];
  const du = (uDomain[1] - uDomain[0]) / nu;
  const dv = (2 * vMax) / nv;
  for (let i = 0; i < nu; i++) {
    for (let j = 0; j < nv; j++) {
      const u0 = uDomain[0] + i * du;
      const v0 = -vMax + j * dv;
      const loss = valleyLossExact(valley, { u: u0 + du / 2, v: v0 + dv / 2 });
      cells.push({ u0, u1: u0 + du, v0, v1: v0 + dv, logLoss: Math.log10(Math.max(loss, 1e-12)) });
    }
  }
  return cells;
}

/**
 * The Vega-Lite spec: (left) trajectories of trial 0 in the (u, v) plane over the loss
 * landscape, with the end points; (right) the escape curves on a log axis with the fit.
 */
export function fig4aChart(result: Fig4aResult, config: Fig4aConfig): ChartSpec {
  const rows: Record<string, number | string | null>[] = fig4aRows(result).map((r) => ({
    ...r,
    label: LABELS[r.optimizer as keyof typeof LABELS],
  }));
  const paths = rows.filter((r) => r.kind === "trajectory");
  const us = paths.map((r) => r.u as number).filter(Number.isFinite);
  const vs = paths.map((r) => Math.abs(r.v as number)).filter(Number.isFinite);
  const [uMin, uMax] = [Math.min(...us), Math.max(...us)];
  const uPad = 0.1 * (uMax - uMin) + 0.05;
  const uDomain = [uMin - uPad, uMax + uPad];
  const vMax = Math.min(1.1 * Math.max(...vs), 4 * config.valley.b) || 1;
  const color = {
    field: "label",
    type: "nominal",
    title: "optimizer",
    scale: {
      domain: (["sgd", ...ESCAPE_OPTIMIZERS] as const).map((o) => LABELS[o]),
      range: (["sgd", ...ESCAPE_OPTIMIZERS] as const).map((o) => COLORS[o]),
    },
  } as const;
  const usam = result.escapes.find((e) => e.optimizer === "usam");
  const sam = result.escapes.find((e) => e.optimizer === "sam");
  // The escape panel shows the escape and the start of the return; data.csv has every step.
  const window = Math.max(...result.escapes.map((e) => e.fit.steps));
  const shownSteps = Math.min(config.escape.steps, Math.max(60, 4 * window));
  const floor = result.sgdEnd.loss / 100;
  const escapeRows = rows.filter((r) =>
    (r.kind === "escape" || r.kind === "fit") && (r.step as number) <= shownSteps
  ).map((r) => ({ ...r, loss_q10: Math.max(r.loss_q10 as number, floor) }));
  const x = { field: "step", type: "quantitative", title: "SAM/USAM steps after the switch t′" };
  const y = {
    type: "quantitative",
    scale: { type: "log", domain: [floor, 10] },
    title: "training loss",
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "Figure 4(a): SGD settles at a sharp minimum; SAM escapes and settles at a flatter one",
      subtitle: [
        "Toy valley L = h(u)·q(v), a reconstruction of the paper's Example 4.1 (SPEC §6).",
        `λ_max at the end points: SGD ${fmt(result.sgdEnd.sharpness)}, USAM ${
          fmt(usam?.end.sharpness ?? null)
        }, SAM ${fmt(sam?.end.sharpness ?? null)} (trial 0).`,
      ],
      anchor: "start",
    },
    hconcat: [
      {
        title: { text: "Trajectories of trial 0 (gray line: minima v = 0)", anchor: "start" },
        width: 380,
        height: 280,
        layer: [
          {
            data: { values: landscapeCells(config.valley, uDomain, vMax) },
            mark: { type: "rect", color: "black" },
            encoding: {
              x: {
                field: "u0",
                type: "quantitative",
                scale: { domain: uDomain, nice: false },
                title: "u",
              },
              x2: { field: "u1" },
              y: {
                field: "v0",
                type: "quantitative",
                scale: { domain: [-vMax, vMax], nice: false },
                title: "v",
              },
              y2: { field: "v1" },
              // Darker = lower loss, as in the paper's contour plots.
              opacity: {
                field: "logLoss",
                type: "quantitative",
                scale: { range: [0.55, 0] },
                title: "log₁₀ L",
              },
            },
          },
          {
            data: { values: [{ v: 0 }] },
            mark: { type: "rule", color: "#999999", strokeWidth: 2 },
            encoding: { y: { field: "v", type: "quantitative" } },
          },
          {
            data: { values: paths },
            mark: { type: "line", strokeWidth: 0.9, clip: true },
            encoding: {
              x: { field: "u", type: "quantitative" },
              y: { field: "v", type: "quantitative" },
              order: { field: "step", type: "quantitative" },
              color,
            },
          },
          {
            data: { values: rows.filter((r) => r.kind === "endpoint") },
            mark: {
              type: "point",
              filled: true,
              size: 110,
              shape: "diamond",
              stroke: "black",
              strokeWidth: 1,
              opacity: 1,
            },
            encoding: {
              x: { field: "u", type: "quantitative" },
              y: { field: "v", type: "quantitative" },
              color,
            },
          },
        ],
      },
      {
        title: {
          text: `Escape: training loss, mean of ${config.escape.trials} trials (band: 10–90%)`,
          subtitle: [
            `USAM fit (dashed): mean ×${fmt(usam?.fit.growth ?? null)}/step, typical trial ×${
              fmt(usam?.fitTypical.growth ?? null)
            }/step`,
            `linear stability: mean ×${fmt(result.predictedGrowth.usam.mean)}, typical ×${
              fmt(result.predictedGrowth.usam.typical)
            }; SAM (Eq. 3) jumps in one step`,
          ],
          anchor: "start",
        },
        width: 380,
        height: 280,
        data: { values: escapeRows },
        layer: [
          {
            transform: [{ filter: "datum.kind === 'escape'" }],
            mark: { type: "area", opacity: 0.2, clip: true },
            encoding: { x, y: { ...y, field: "loss_q10" }, y2: { field: "loss_q90" }, color },
          },
          {
            transform: [{ filter: "datum.kind === 'escape'" }],
            mark: { type: "line", strokeWidth: 2, clip: true },
            encoding: { x, y: { ...y, field: "loss" }, color },
          },
          {
            transform: [{ filter: "datum.kind === 'fit'" }],
            mark: { type: "line", strokeDash: [5, 3], color: "black", strokeWidth: 1.5 },
            encoding: { x, y: { ...y, field: "loss" }, detail: { field: "label" } },
          },
        ],
      },
    ],
    config: { view: { stroke: "#cccccc" }, title: { subtitleFontSize: 11 } },
  } as ChartSpec;
}

/** The figure definition: schema, scales, computation and outputs. */
export const fig4a: FigureDefinition<typeof fig4aSchema, Fig4aResult> = {
  name: "fig4a",
  description:
    "Figure 4(a) on the toy valley (a reconstruction of the paper's Example 4.1): noisy SGD " +
    "settles at a sharp minimum, then SAM and USAM escape it and converge to a flatter minimum in the " +
    "same valley. Also plots the toy's escape curve (mean training loss of seeded trials, log axis) " +
    "with the fitted exponential rate and the linear-stability prediction.",
  schema: fig4aSchema,
  scales: FIG4A_SCALES,
  defaultScale: "small",
  backend: "cpu",
  seeds: (config) => ({
    root: config.seed,
    streams: {
      sgd: `${config.seed}:fig4a/sgd`,
      escapeTrial:
        `${config.seed}:fig4a/escape/trial/<i> for i < ${config.escape.trials}, shared by USAM and SAM`,
    },
  }),
  compute: computeFig4a,
  table: (result) => toCsv(FIG4A_COLUMNS, fig4aRows(result)),
  chart: fig4aChart,
  summary: (result) => ({
    sgdEnd: { u: result.sgdEnd.u, sharpness: result.sgdEnd.sharpness, steps: result.sgdEnd.step },
    sgdSettled: result.sgdSettled,
    predictedGrowth: {
      sgd: { ...result.predictedGrowth.sgd },
      usam: { ...result.predictedGrowth.usam },
    },
    ...Object.fromEntries(result.escapes.map((e) => [e.optimizer, {
      fittedGrowthMean: e.fit.growth,
      fittedGrowthTypical: e.fitTypical.growth,
      fitSteps: e.fit.steps,
      endU: e.end.u,
      endSharpness: e.end.sharpness,
      meanEndSharpness: e.meanEndSharpness,
      diverged: e.diverged,
    }])),
  }),
};

if (import.meta.main) await runMain(() => runFigure(fig4a, Deno.args).then(() => {}));
