/**
 * P1's table and chart: the escape curves (exact E[L̃], mean and typical trial, the Cᵗ bound,
 * SGD) and the growth factors side by side.
 *
 * @module
 */
import type { Cell } from "../../core/csv.ts";
import type { ChartSpec } from "../../core/render.ts";
import type { Band } from "./band.ts";
import { fmt } from "../../core/format.ts";
import {
  chartTitle,
  figureSpec,
  type Fragment,
  labelledBars,
  nominalScale,
  OPTIMIZER_COLORS,
  quant,
  ruleLayer,
} from "../charts.ts";
import type { P1Options, P1Result, TrialStats } from "./p1_escape.ts";

/** Columns of `theory-p1/data.csv`. */
export const P1_COLUMNS = [
  "kind",
  "optimizer",
  "step",
  "mc_mean",
  "mc_typical",
  "mc_q10",
  "mc_q90",
  "exact",
  "bound",
  "name",
  "value",
] as const;

/**
 * The rows of P1's `data.csv` (kinds: curve per optimizer and step; rate). Optimizers: sgd,
 * usam (shared batch, Eq. 4), usam_independent (the variant, exact only) and usam_full_batch
 * (the negative control, exact only).
 */
export function p1Rows(result: P1Result): Record<string, Cell>[] {
  const rows: Record<string, Cell>[] = [];
  const curve = (optimizer: string, s: TrialStats, exact: Float64Array, bound: boolean) =>
    s.mean.forEach((mean, step) =>
      rows.push({
        kind: "curve",
        optimizer,
        step,
        mc_mean: mean,
        mc_typical: Math.exp(s.meanLog[step]),
        mc_q10: s.q10[step],
        mc_q90: s.q90[step],
        exact: exact[step],
        bound: bound ? result.bound ** step : null,
      })
    );
  curve("sgd", result.sgd, result.exactSgd, false);
  curve("usam", result.usam, result.exactUsam, true);
  const exactOnly = (optimizer: string, exact: Float64Array) =>
    exact.forEach((value, step) => rows.push({ kind: "curve", optimizer, step, exact: value }));
  exactOnly("usam_independent", result.exactIndependent);
  exactOnly("usam_full_batch", result.fullBatch);
  const rates: [string, number | null][] = [
    ["C (Corollary 4.2 lower bound)", result.bound],
    ["mean of trials, fitted", result.fitMean],
    ["typical trial, fitted", result.fitTypical],
    ["exact E[L̃], fitted", result.fitExact],
    ["exact E[L̃], spectral radius", result.exactUsamGrowth],
    ["SGD exact, spectral radius", result.exactSgdGrowth],
  ];
  for (const [name, value] of rates) rows.push({ kind: "rate", name, value });
  return rows;
}

const SERIES = [
  { label: "USAM exact E[L̃]", field: "exact", opt: "usam", dash: [1, 0], width: 3 },
  { label: "USAM mean of trials", field: "mc_mean", opt: "usam", dash: [1, 0], width: 1.5 },
  { label: "USAM typical trial", field: "mc_typical", opt: "usam", dash: [2, 2], width: 1.5 },
  { label: "lower bound Cᵗ", field: "bound", opt: "bound", dash: [6, 3], width: 1.5 },
  { label: "SGD exact E[L̃]", field: "exact", opt: "sgd", dash: [1, 0], width: 3 },
  { label: "SGD mean of trials", field: "mc_mean", opt: "sgd", dash: [1, 0], width: 1.5 },
  {
    label: "variant: independent batches, exact",
    field: "exact",
    opt: "usam_independent",
    dash: [4, 2],
    width: 1.5,
  },
  {
    label: "control: full batch (no noise)",
    field: "exact",
    opt: "usam_full_batch",
    dash: [1, 2],
    width: 1.5,
  },
] as const;

const SERIES_COLORS: Record<(typeof SERIES)[number]["opt"], string> = {
  ...OPTIMIZER_COLORS,
  bound: "black",
  usam_independent: "#6b8e23",
  usam_full_batch: "#7f7f7f",
};

/** Left panel: every series on a log axis, thick and thin lines, USAM's 10–90 % band. */
function curvesPanel(curves: Record<string, Cell>[]): Fragment {
  const long = SERIES.flatMap((s) =>
    curves.filter((r) => r.optimizer === (s.opt === "bound" ? "usam" : s.opt)).map((r) => ({
      step: r.step,
      value: r[s.field],
      series: s.label,
    }))
  ).filter((r) => typeof r.value === "number" && r.value > 0 && Number.isFinite(r.value));
  const thick = new Set(SERIES.filter((s) => s.width > 2).map((s) => s.label));
  const labels = SERIES.map((s) => s.label);
  const x = quant("step", "steps after the start near θ*");
  const y = (field: string) =>
    quant(field, "L̃_t / L̃₀", { scale: { type: "log" }, axis: { format: ".0e" } });
  const band = curves.filter((r) => r.optimizer === "usam")
    .map((r) => ({ step: r.step, lo: r.mc_q10, hi: r.mc_q90 }));
  return {
    width: 420,
    height: 280,
    layer: [
      {
        data: { values: band },
        mark: { type: "area", color: OPTIMIZER_COLORS.usam, opacity: 0.15 },
        encoding: { x, y: y("lo"), y2: { field: "hi" } },
      },
      ...[true, false].map((isThick) => ({
        data: { values: long.filter((r) => thick.has(r.series) === isThick) },
        mark: { type: "line", strokeWidth: isThick ? 3 : 1.5 },
        encoding: {
          x,
          y: y("value"),
          color: nominalScale(
            "series",
            labels,
            SERIES.map((s) => SERIES_COLORS[s.opt]),
          ),
          strokeDash: nominalScale("series", labels, SERIES.map((s) => s.dash)),
        },
      })),
    ],
  };
}

/** P1's Vega-Lite spec: escape curves (log scale) and the growth factors side by side. */
export function p1Chart(result: P1Result, band: Band, options: P1Options): ChartSpec {
  const rows = p1Rows(result);
  const bars = rows.filter((r) => r.kind === "rate" && typeof r.value === "number");
  const { eta, rho, batch } = band.options;
  return figureSpec({
    text:
      "P1, Corollary 4.2: from an SGD-stable minimum, USAM's expected loss grows at least like Cᵗ",
    subtitle: [
      `Least squares scaled into the band: ‖H‖_F² = ${fmt(result.frobenius2)}, η = ${eta}, ` +
      `ρ = ${rho}, B = ${batch}; both optimizers start at the same θ₀ near θ*.`,
      `${options.trials} seeded trials (shaded: USAM's 10–90 %); growth fitted over steps ` +
      `${options.fitFrom}–${options.fitTo}; C uses the worst-case alignment γ (exact inf). ` +
      `USAM shares one batch between its two passes (Eq. 4).`,
    ],
    width: 900,
  }, {
    hconcat: [
      curvesPanel(rows.filter((r) => r.kind === "curve")),
      {
        title: chartTitle("Per-step growth factor"),
        width: 260,
        height: 280,
        ...labelledBars(
          bars,
          { color: "#8fbc8f", xTitle: "factor per step" },
          ruleLayer("x", [1], { color: "black", strokeDash: [3, 2] }),
        ),
      },
    ],
  });
}
