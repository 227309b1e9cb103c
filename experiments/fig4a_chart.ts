/**
 * Figure 4(a)'s table and chart: trajectories over the loss landscape, and the escape curves
 * with their exponential fit.
 *
 * @module
 */
import type { Cell } from "../core/csv.ts";
import { fmt } from "../core/format.ts";
import type { ChartSpec } from "../core/render.ts";
import { type PredictedGrowth, type ValleyConfig, valleyLossExact } from "../models/toy_valley.ts";
import {
  chartTitle,
  figureSpec,
  type Fragment,
  OPTIMIZER_COLORS,
  quant,
  ruleLayer,
} from "./charts.ts";
import { escapeFitCurve } from "./escape.ts";
import { PAIRED_COLUMNS, pairedRow } from "./paired.ts";
import type { Fig4aConfig, Fig4aResult, TrajectoryPoint } from "./fig4a.ts";

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
  "n",
  ...PAIRED_COLUMNS,
] as const;

type Row = Record<string, Cell>;

/** The result as rows of `data.csv` (kinds: trajectory, escape, fit, endpoint, rate, paired). */
export function fig4aRows(result: Fig4aResult): Row[] {
  const rows: Row[] = [];
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
    for (const p of escapeFitCurve(e.fit)) rows.push({ kind: "fit", optimizer: e.optimizer, ...p });
  }
  const end = (optimizer: string, p: TrajectoryPoint & { sharpness: number }) =>
    rows.push({ kind: "endpoint", optimizer, ...p });
  end("sgd", result.sgdEnd);
  for (const e of result.escapes) end(e.optimizer, e.end);
  const sgd = result.predictedGrowth.sgd;
  rows.push({
    kind: "rate",
    optimizer: "sgd",
    growth_predicted_mean: sgd.mean,
    growth_predicted_typical: sgd.typical,
  });
  for (const e of result.escapes) {
    // Linear stability predicts USAM's rate; normalized SAM jumps instead (no prediction).
    const p: PredictedGrowth | null = e.optimizer === "usam" ? result.predictedGrowth.usam : null;
    rows.push({
      kind: "rate",
      optimizer: e.optimizer,
      step: e.fit.steps,
      growth_fitted_mean: e.fit.growth,
      growth_fitted_typical: e.fitTypical.growth,
      growth_predicted_mean: p?.mean ?? null,
      growth_predicted_typical: p?.typical ?? null,
    });
  }
  for (const e of result.escapes) {
    for (const stat of e.paired) rows.push(pairedRow(stat, { optimizer: e.optimizer }));
  }
  return rows;
}

const LABELS = { sgd: "SGD", usam: "USAM (Eq. 4)", sam: "SAM (Eq. 3)" };
const PANEL = { width: 380, height: 280 };

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

/** Left panel: trial 0's paths in the (u, v) plane over the shaded loss, with end points. */
function trajectoryPanel(rows: Row[], config: Fig4aConfig, color: Fragment): Fragment {
  const paths = rows.filter((r) => r.kind === "trajectory");
  const us = paths.map((r) => r.u as number).filter(Number.isFinite);
  const vs = paths.map((r) => Math.abs(r.v as number)).filter(Number.isFinite);
  const [uMin, uMax] = [Math.min(...us), Math.max(...us)];
  const uPad = 0.1 * (uMax - uMin) + 0.05;
  const uDomain = [uMin - uPad, uMax + uPad];
  const vMax = Math.min(1.1 * Math.max(...vs), 4 * config.valley.b) || 1;
  const uv = { x: quant("u"), y: quant("v"), color };
  const endMark = { type: "point", filled: true, size: 110, shape: "diamond", stroke: "black" };
  return {
    title: chartTitle("Trajectories of trial 0 (gray line: minima v = 0)", [], PANEL.width + 40),
    ...PANEL,
    layer: [
      {
        data: { values: landscapeCells(config.valley, uDomain, vMax) },
        mark: { type: "rect", color: "black" },
        encoding: {
          x: quant("u0", "u", { scale: { domain: uDomain, nice: false } }),
          x2: { field: "u1" },
          y: quant("v0", "v", { scale: { domain: [-vMax, vMax], nice: false } }),
          y2: { field: "v1" },
          // Darker = lower loss, as in the paper's contour plots.
          opacity: quant("logLoss", "log₁₀ L", { scale: { range: [0.55, 0] } }),
        },
      },
      ruleLayer("y", [0], { color: "#999999", strokeWidth: 2 }),
      {
        data: { values: paths },
        mark: { type: "line", strokeWidth: 0.9, clip: true },
        encoding: { ...uv, order: quant("step") },
      },
      {
        data: { values: rows.filter((r) => r.kind === "endpoint") },
        mark: { ...endMark, strokeWidth: 1, opacity: 1 },
        encoding: uv,
      },
    ],
  };
}

/** Right panel: mean loss with its 10–90 % band per optimizer (log axis) and USAM's fit. */
function escapePanel(rows: Row[], result: Fig4aResult, config: Fig4aConfig, color: Fragment) {
  const usam = result.escapes.find((e) => e.optimizer === "usam");
  // The escape panel shows the escape and the start of the return; data.csv has every step.
  const window = Math.max(...result.escapes.map((e) => e.fit.steps));
  const shownSteps = Math.min(config.escape.steps, Math.max(60, 4 * window));
  const floor = result.sgdEnd.loss / 100;
  const values = rows.filter((r) =>
    (r.kind === "escape" || r.kind === "fit") && (r.step as number) <= shownSteps
  ).map((r) => ({ ...r, loss_q10: Math.max(r.loss_q10 as number, floor) }));
  const x = quant("step", "SAM/USAM steps after the switch t′");
  const y = (field: string) =>
    quant(field, "training loss", { scale: { type: "log", domain: [floor, 10] } });
  const only = (kind: string) => [{ filter: `datum.kind === '${kind}'` }];
  const predicted = result.predictedGrowth.usam;
  return {
    title: chartTitle(
      `Escape: training loss, mean of ${config.escape.trials} trials (band: 10–90 %)`,
      [
        `USAM fit (dashed): mean ×${fmt(usam?.fit.growth)}/step, typical trial ×${
          fmt(usam?.fitTypical.growth)
        }/step; linear stability: mean ×${fmt(predicted.mean)}, typical ×${
          fmt(predicted.typical)
        }; SAM (Eq. 3) jumps in one step`,
      ],
      PANEL.width + 40,
    ),
    ...PANEL,
    data: { values },
    layer: [
      {
        transform: only("escape"),
        mark: { type: "area", opacity: 0.2, clip: true },
        encoding: { x, y: y("loss_q10"), y2: { field: "loss_q90" }, color },
      },
      {
        transform: only("escape"),
        mark: { type: "line", strokeWidth: 2, clip: true },
        encoding: { x, y: y("loss"), color },
      },
      {
        transform: only("fit"),
        mark: { type: "line", strokeDash: [5, 3], color: "black", strokeWidth: 1.5 },
        encoding: { x, y: y("loss"), detail: { field: "label" } },
      },
    ],
  };
}

/**
 * The Vega-Lite spec: (left) trajectories of trial 0 in the (u, v) plane over the loss
 * landscape, with the end points; (right) the escape curves on a log axis with the fit.
 */
export function fig4aChart(result: Fig4aResult, config: Fig4aConfig): ChartSpec {
  const rows = fig4aRows(result).map((r) => ({
    ...r,
    label: LABELS[r.optimizer as keyof typeof LABELS],
  }));
  const optimizers = ["sgd", ...result.escapes.map((e) => e.optimizer)] as const;
  const color = {
    field: "label",
    type: "nominal",
    title: "optimizer",
    scale: {
      domain: optimizers.map((o) => LABELS[o]),
      range: optimizers.map((o) => OPTIMIZER_COLORS[o]),
    },
  };
  const sharpness = (o: "usam" | "sam") =>
    fmt(result.escapes.find((e) => e.optimizer === o)?.end.sharpness);
  return figureSpec({
    text: "Figure 4(a): SGD settles at a sharp minimum; SAM escapes and settles at a flatter one",
    subtitle: [
      "Toy valley L = h(u)·q(v), a reconstruction of the paper's Example 4.1 " +
      "(docs/paper.md#toy-valley).",
      `λ_max at the end points: SGD ${fmt(result.sgdEnd.sharpness)}, USAM ${
        sharpness("usam")
      }, SAM ${sharpness("sam")} (trial 0).`,
    ],
    width: 2 * PANEL.width,
  }, {
    hconcat: [
      trajectoryPanel(rows, config, color),
      escapePanel(rows, result, config, color),
    ],
  });
}
