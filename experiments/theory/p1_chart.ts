/**
 * P1's table and chart: the escape curves (exact E[L̃], mean and typical trial, the Cᵗ bound,
 * SGD) and the growth factors side by side.
 *
 * @module
 */
import type { Cell } from "../../core/csv.ts";
import type { ChartSpec } from "../../core/render.ts";
import type { Band } from "./band.ts";
import { CHART_CONFIG, fmt, OPTIMIZER_COLORS, VEGA_LITE_SCHEMA } from "./common.ts";
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

/** The rows of P1's `data.csv` (kinds: curve per optimizer and step; rate). */
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

/** P1's Vega-Lite spec: escape curves (log scale) and the growth factors side by side. */
export function p1Chart(result: P1Result, band: Band, options: P1Options): ChartSpec {
  const rows = p1Rows(result);
  const curves = rows.filter((r) => r.kind === "curve");
  const series = [
    { label: "USAM exact E[L̃]", field: "exact", opt: "usam", dash: [1, 0], width: 3 },
    { label: "USAM mean of trials", field: "mc_mean", opt: "usam", dash: [1, 0], width: 1.5 },
    { label: "USAM typical trial", field: "mc_typical", opt: "usam", dash: [2, 2], width: 1.5 },
    { label: "lower bound Cᵗ", field: "bound", opt: "bound", dash: [6, 3], width: 1.5 },
    { label: "SGD exact E[L̃]", field: "exact", opt: "sgd", dash: [1, 0], width: 3 },
    { label: "SGD mean of trials", field: "mc_mean", opt: "sgd", dash: [1, 0], width: 1.5 },
  ];
  const colorOf = (opt: string) =>
    opt === "bound" ? "black" : OPTIMIZER_COLORS[opt as "sgd" | "usam"];
  const long = series.flatMap((s) =>
    curves.filter((r) => r.optimizer === (s.opt === "bound" ? "usam" : s.opt)).map((r) => ({
      step: r.step,
      value: r[s.field],
      series: s.label,
    }))
  ).filter((r) => typeof r.value === "number" && r.value > 0 && Number.isFinite(r.value));
  const thickSeries = new Set(series.filter((s) => s.width > 2).map((s) => s.label));
  const x = { field: "step", type: "quantitative", title: "steps after the start near θ*" };
  const y = {
    type: "quantitative",
    scale: { type: "log" },
    axis: { format: ".0e" },
    title: "L̃_t / L̃₀",
  };
  const bars = rows.filter((r) => r.kind === "rate" && typeof r.value === "number");
  const { eta, rho, batch } = band.options;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text:
        "P1, Corollary 4.2: from an SGD-stable minimum, USAM's expected loss grows at least like Cᵗ",
      subtitle: [
        `Least squares scaled into the band: ‖H‖_F² = ${fmt(result.frobenius2)}, η = ${eta}, ` +
        `ρ = ${rho}, B = ${batch}; both optimizers start at the same θ₀ near θ*.`,
        `${options.trials} seeded trials (shaded: USAM's 10–90 %); growth fitted over steps ` +
        `${options.fitFrom}–${options.fitTo}; C uses the worst-case alignment γ (exact inf).`,
      ],
      anchor: "start",
    },
    hconcat: [
      {
        width: 420,
        height: 280,
        layer: [
          {
            data: {
              values: curves.filter((r) => r.optimizer === "usam").map((r) => ({
                step: r.step,
                lo: r.mc_q10,
                hi: r.mc_q90,
              })),
            },
            mark: { type: "area", color: OPTIMIZER_COLORS.usam, opacity: 0.15 },
            encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" } },
          },
          ...[true, false].map((thick) => ({
            data: { values: long.filter((r) => thickSeries.has(r.series) === thick) },
            mark: { type: "line", strokeWidth: thick ? 3 : 1.5 },
            encoding: {
              x,
              y: { ...y, field: "value" },
              color: {
                field: "series",
                type: "nominal",
                title: null,
                scale: {
                  domain: series.map((s) => s.label),
                  range: series.map((s) => colorOf(s.opt)),
                },
              },
              strokeDash: {
                field: "series",
                type: "nominal",
                title: null,
                scale: { domain: series.map((s) => s.label), range: series.map((s) => s.dash) },
              },
            },
          })),
        ],
      },
      {
        title: { text: "Per-step growth factor", anchor: "start" },
        width: 260,
        height: 280,
        layer: [
          {
            data: { values: bars },
            mark: { type: "bar", color: "#8fbc8f" },
            encoding: {
              y: {
                field: "name",
                type: "nominal",
                sort: null,
                title: null,
                axis: { labelLimit: 260 },
              },
              x: { field: "value", type: "quantitative", title: "factor per step" },
            },
          },
          {
            data: { values: bars },
            mark: { type: "text", align: "left", dx: 3, fontSize: 10 },
            encoding: {
              y: { field: "name", type: "nominal", sort: null },
              x: { field: "value", type: "quantitative" },
              text: { field: "value", type: "quantitative", format: ".3~g" },
            },
          },
          {
            data: { values: [{ x: 1 }] },
            mark: { type: "rule", color: "black", strokeDash: [3, 2] },
            encoding: { x: { field: "x", type: "quantitative" } },
          },
        ],
      },
    ],
    config: CHART_CONFIG,
  } as ChartSpec;
}
