/**
 * P3's table and chart: the (η, ρ) grid per batch size with Theorem 4.1's boundary and the
 * exact one, the band sweep over ‖H‖_F², and the distribution of the alignment γ.
 *
 * @module
 */
import type { Cell } from "../../core/csv.ts";
import type { ChartSpec } from "../../core/render.ts";
import type { Band } from "./band.ts";
import { bandPanel, gammaPanel } from "./band_chart.ts";
import { fmt } from "../../core/format.ts";
import { chartTitle, figureSpec, nominalScale, quant } from "../charts.ts";
import type { LsContext } from "./ls_setup.ts";
import type { P3Result } from "./p3_stability.ts";

/** Columns of `theory-p3/data.csv`; each row kind fills the columns that apply. */
export const P3_COLUMNS = [
  "kind",
  "batch",
  "eta",
  "rho",
  "frobenius2",
  "scale",
  "condition_lhs",
  "condition_rhs",
  "growth_bound",
  "satisfied",
  "exact_growth",
  "exact_lower",
  "exact_upper",
  "exact_verdict",
  "mc_mean_ratio",
  "mc_median_ratio",
  "mc_capped",
  "mc_verdict",
  "sgd_growth",
  "usam_growth",
  "sgd_bound",
  "name",
  "value",
  "bin_lo",
  "bin_hi",
  "count",
] as const;

type Row = Record<string, Cell>;

/** Histogram of the sampled γ values in `bins` equal bins. */
function gammaHistogram(values: Float64Array, bins: number): Row[] {
  const lo = values[0];
  const hi = values[values.length - 1];
  const width = (hi - lo) / bins || 1;
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  return counts.map((count, i) => ({
    kind: "gamma_hist",
    bin_lo: lo + i * width,
    bin_hi: lo + (i + 1) * width,
    count,
  }));
}

/**
 * The rows of P3's `data.csv` (kinds: grid, control_grid (full-batch USAM, the negative
 * control), boundary_predicted, boundary_exact, band_sweep, band_edge, gamma, gamma_hist).
 */
export function p3Rows(ctx: LsContext, band: Band, result: P3Result): Row[] {
  const rows: Row[] = result.points.map((p) => ({
    kind: "grid",
    batch: p.batch,
    eta: p.eta,
    rho: p.rho,
    frobenius2: ctx.base.spectrum.frobenius2,
    condition_lhs: p.condition.lhs,
    condition_rhs: p.condition.rhs,
    growth_bound: p.condition.growthBound,
    satisfied: p.condition.satisfied,
    exact_growth: p.exact.factor,
    exact_lower: p.exact.lower,
    exact_upper: p.exact.upper,
    exact_verdict: p.exactVerdict,
    mc_mean_ratio: p.mcMean,
    mc_median_ratio: p.mcMedian,
    mc_capped: p.mcCapped,
    mc_verdict: p.mcVerdict,
  }));
  for (const p of result.control) {
    rows.push({
      kind: "control_grid",
      batch: p.batch,
      eta: p.eta,
      rho: p.rho,
      frobenius2: ctx.base.spectrum.frobenius2,
      satisfied: p.satisfied,
      exact_growth: p.growth,
      exact_verdict: p.verdict,
    });
  }
  for (const b of result.predicted) rows.push({ kind: "boundary_predicted", ...b });
  for (const b of result.exactBoundary) rows.push({ kind: "boundary_exact", ...b });
  for (const s of band.sweep) {
    rows.push({
      kind: "band_sweep",
      batch: band.options.batch,
      eta: band.options.eta,
      rho: band.options.rho,
      frobenius2: s.frobenius2,
      scale: s.scale,
      sgd_growth: s.sgdGrowth,
      usam_growth: s.usamGrowth,
      growth_bound: s.usamBound,
      sgd_bound: s.sgdBound,
    });
  }
  const edges: [string, number][] = [
    ["usam_bound", band.usamMax],
    ["usam_exact", band.usamExact],
    ["usam_exact_independent", band.usamExactIndependent],
    ["sgd_exact", band.sgdExact],
    ["sgd_bound", band.sgdMax],
    ["target", band.target.spectrum.frobenius2],
  ];
  for (const [name, value] of edges) {
    rows.push({ kind: "band_edge", name, frobenius2: value, scale: band.targetScale });
  }
  const { alignment, sampled } = ctx;
  const gammas: [string, number][] = [
    ["exact_min", alignment.min],
    ["exact_max", alignment.max],
    ["sampled_min", sampled.min],
    ["sampled_median", sampled.median],
    ["sampled_mean", sampled.mean],
    ["sampled_max", sampled.max],
  ];
  for (const [name, value] of gammas) rows.push({ kind: "gamma", name, value });
  rows.push(...gammaHistogram(sampled.values, 30));
  return rows;
}

const OUTCOMES = [
  "stable (simulation and exact)",
  "diverges (simulation and exact)",
  "diverges exactly, stable in simulation",
  "stable exactly, diverges in simulation",
  "undecided exactly",
];
const OUTCOME_COLORS = ["#1f77b4", "#d62728", "#ff9896", "#9467bd", "#7f7f7f"];

function outcome(row: Row): string {
  if (row.exact_verdict === "undecided") return OUTCOMES[4];
  const exact = row.exact_verdict === "unstable";
  const mc = row.mc_verdict === "diverged";
  return exact === mc ? OUTCOMES[mc ? 1 : 0] : OUTCOMES[exact ? 2 : 3];
}

function gridPanel(rows: Row[], batch: number, etaMax: number, rhoMax: number) {
  const quantitative = (field: string, title: string, max: number) =>
    quant(field, title, { scale: { domain: [0, max], nice: false } });
  const x = quantitative("eta", "learning rate η", etaMax * 1.05);
  const y = quantitative("rho", "USAM radius ρ", rhoMax * 1.05);
  const grid = rows.filter((r) => r.kind === "grid" && r.batch === batch).map((r) => ({
    ...r,
    outcome: outcome(r),
    condition: r.satisfied ? "satisfies Thm 4.1" : "violates Thm 4.1",
  }));
  const line = (kind: string, style: Record<string, unknown>) => ({
    data: { values: rows.filter((r) => r.kind === kind && r.batch === batch) },
    mark: { type: "line", clip: true, ...style },
    encoding: { x, y, order: quant("eta") },
  });
  return {
    title: chartTitle(`B = ${batch}`),
    width: 230,
    height: 200,
    layer: [
      line("boundary_predicted", { color: "black", strokeWidth: 2 }),
      line("boundary_exact", { color: "#555555", strokeDash: [4, 3], strokeWidth: 1.5 }),
      {
        data: { values: grid },
        mark: { type: "point", filled: true, size: 70, opacity: 0.9 },
        encoding: {
          x,
          y,
          color: nominalScale("outcome", OUTCOMES, OUTCOME_COLORS, { title: "outcome" }),
          shape: nominalScale(
            "condition",
            ["satisfies Thm 4.1", "violates Thm 4.1"],
            ["circle", "cross"],
            { title: "condition" },
          ),
        },
      },
    ],
  };
}

/** P3's Vega-Lite spec. */
export function p3Chart(
  ctx: LsContext,
  band: Band,
  result: P3Result,
  options: { etas: number[]; rhos: number[]; batchSizes: number[]; trials: number; steps: number },
): ChartSpec {
  const rows = p3Rows(ctx, band, result);
  const etaMax = Math.max(...options.etas);
  const rhoMax = Math.max(...options.rhos);
  const { spectrum } = ctx.base;
  return figureSpec({
    text: "P3, Theorem 4.1: USAM is stable only at minima with ‖H‖_F²(1 + ρ²γ‖H‖_F²/B) ≤ B/(η²γ)",
    subtitle: [
      `Least squares n = ${spectrum.n}, ‖H‖_F² = ${fmt(spectrum.frobenius2)}, λ_max = ${
        fmt(spectrum.lambdaMax)
      }, γ = ${fmt(ctx.gamma)} (exact inf). Black: the condition's boundary (violations ` +
      "above/right); dashed: where the exact growth of E[L̃] crosses 1.",
      `Simulation: mean of ${options.trials} ` +
      `trials, ${options.steps} steps from L = ${ctx.startLoss}.`,
    ],
    width: Math.max(1000, 300 * options.batchSizes.length),
  }, {
    vconcat: [
      { hconcat: options.batchSizes.map((b) => gridPanel(rows, b, etaMax, rhoMax)) },
      {
        hconcat: [bandPanel(rows, band), gammaPanel(rows)],
        resolve: { scale: { color: "independent", strokeDash: "independent" } },
      },
    ],
    resolve: { scale: { color: "independent", shape: "independent", strokeDash: "independent" } },
  });
}
