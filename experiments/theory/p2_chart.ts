/**
 * P2's table and chart: heatmaps of the largest excursion over the (η, ρ) sweep for USAM and
 * SAM with ρ*(η), and the headline USAM trajectory.
 *
 * @module
 */
import type { Cell } from "../../core/csv.ts";
import type { ChartSpec } from "../../core/render.ts";
import { type FullBatchSam, usamEscapeRho } from "../../models/theory/subquadratic.ts";
import { CHART_CONFIG, fmt, VEGA_LITE_SCHEMA } from "./common.ts";
import type { P2Options, P2Result } from "./p2_valley.ts";

/** Columns of `theory-p2/data.csv`. */
export const P2_COLUMNS = [
  "kind",
  "variant",
  "eta",
  "rho",
  "max_abs_over_b",
  "inside",
  "rho_star",
  "all_rho",
  "step",
  "theta",
] as const;

/** The rows of P2's `data.csv` (kinds: cell, threshold, trajectory). */
export function p2Rows(result: P2Result): Record<string, Cell>[] {
  return [
    ...result.cells.map((c) => ({
      kind: "cell",
      variant: c.variant,
      eta: c.eta,
      rho: c.rho,
      max_abs_over_b: c.maxAbs,
      inside: c.inside,
    })),
    ...result.thresholds.map((x) => ({
      kind: "threshold",
      variant: x.variant,
      eta: x.eta,
      rho_star: x.rhoStar,
      all_rho: x.all,
    })),
    ...result.trajectory.map((p) => ({ kind: "trajectory", variant: "usam", ...p })),
  ];
}

/** Half the gap to the neighbours of each value in a sorted list: the cell edges of a heatmap. */
function edges(values: number[]): Map<number, [number, number]> {
  const xs = [...new Set(values)].sort((x, y) => x - y);
  const out = new Map<number, [number, number]>();
  xs.forEach((x, i) => {
    const left = i > 0 ? (x - xs[i - 1]) / 2 : i + 1 < xs.length ? (xs[i + 1] - x) / 2 : 0.5;
    const right = i + 1 < xs.length ? (xs[i + 1] - x) / 2 : left;
    out.set(x, [x - left, x + right]);
  });
  return out;
}

/** P2's Vega-Lite spec: max excursion heatmaps for USAM and SAM, and the headline trajectory. */
export function p2Chart(result: P2Result, options: P2Options): ChartSpec {
  const ex = edges(options.etas);
  const ey = edges(options.rhos);
  const rhoTop = ey.get(Math.max(...options.rhos))![1];
  const heat = (variant: FullBatchSam) => ({
    title: {
      text: variant === "usam" ? "USAM (Eq. 4), full batch" : "SAM (Eq. 3), full batch",
      subtitle: variant === "usam"
        ? "dashed: above it θ = 0 is linearly unstable for USAM"
        : "normalized ascent ρ·sign(L′)",
      anchor: "start",
    },
    width: 300,
    height: 240,
    layer: [
      {
        data: {
          values: result.cells.filter((c) => c.variant === variant).map((c) => ({
            eta0: ex.get(c.eta)![0],
            eta1: ex.get(c.eta)![1],
            rho0: ey.get(c.rho)![0],
            rho1: ey.get(c.rho)![1],
            maxAbs: c.maxAbs,
          })),
        },
        mark: { type: "rect" },
        encoding: {
          x: {
            field: "eta0",
            type: "quantitative",
            title: "learning rate η",
            scale: { nice: false, zero: false },
          },
          x2: { field: "eta1" },
          y: {
            field: "rho0",
            type: "quantitative",
            title: "radius ρ",
            scale: { nice: false, zero: false },
          },
          y2: { field: "rho1" },
          color: {
            field: "maxAbs",
            type: "quantitative",
            title: "max |θ_t|/b",
            scale: { domain: [0, 3], domainMid: 2, scheme: "redblue", reverse: true },
          },
        },
      },
      {
        data: { values: [{ eta: (2 * options.b) / options.a }] },
        mark: { type: "rule", color: "black", strokeWidth: 1.5 },
        encoding: { x: { field: "eta", type: "quantitative" } },
      },
      {
        data: {
          values: result.thresholds.filter((x) =>
            x.variant === variant && !x.all && x.rhoStar !== null
          ),
        },
        mark: { type: "line", color: "black", point: { color: "black", size: 14 }, strokeWidth: 1 },
        encoding: {
          x: { field: "eta", type: "quantitative" },
          y: { field: "rhoStar", type: "quantitative" },
        },
      },
      ...(variant === "usam"
        ? [{
          data: {
            values: Array.from({ length: 120 }, (_, i) => {
              const eta = ((2 * options.b) / options.a) * (0.05 + (0.95 * i) / 119);
              return { eta, rho: usamEscapeRho(options, eta) };
            }).filter((p) => p.rho <= rhoTop),
          },
          mark: { type: "line", color: "white", strokeDash: [4, 3], strokeWidth: 1.5 },
          encoding: {
            x: { field: "eta", type: "quantitative" },
            y: { field: "rho", type: "quantitative" },
          },
        }]
        : []),
    ],
  });
  const t = options.trajectory;
  const traj = result.trajectory.map((p) => ({ step: p.step, abs: Math.abs(p.theta) / options.b }))
    .filter((p) => p.abs > 0);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: "P2, Proposition 4.1: SAM started in (−b, b) stays in the valley (−2b, 2b)",
      subtitle: [
        `L(θ) = a(√(b² + θ²) − b), a = ${options.a}, b = ${options.b}; color: largest |θ_t|/b over ` +
        `${options.starts} starts in (−b, b) and ${options.steps} steps (red: left the valley).`,
        "Vertical line: ηa = 2b; left of it |θ_t| < max(|θ₀|, ηa) ≤ 2b for every ρ. " +
        "Black points: ρ*(η), the largest ρ of the sweep up to which every start stays inside.",
      ],
      anchor: "start",
    },
    hconcat: [
      heat("usam"),
      heat("sam"),
      {
        title: {
          text: `USAM at η = ${t.eta}, ρ = ${t.rho} from θ₀ = ${t.start}b`,
          subtitle: `escapes ×${fmt(result.escapeFit)}/step (linearization ×${
            fmt(result.escapePredicted)
          }), stays below 2b`,
          anchor: "start",
        },
        width: 260,
        height: 240,
        layer: [
          {
            data: { values: traj },
            mark: { type: "line", color: "#2ca02c", point: { size: 12, color: "#2ca02c" } },
            encoding: {
              x: { field: "step", type: "quantitative", title: "step" },
              y: { field: "abs", type: "quantitative", scale: { type: "log" }, title: "|θ_t| / b" },
            },
          },
          {
            data: { values: [{ y: 2, label: "valley edge 2b" }, { y: 1, label: "core b" }] },
            mark: { type: "rule", strokeDash: [4, 3], color: "#555555" },
            encoding: { y: { field: "y", type: "quantitative" } },
          },
        ],
      },
    ],
    resolve: { scale: { color: "independent" } },
    config: CHART_CONFIG,
  } as ChartSpec;
}
