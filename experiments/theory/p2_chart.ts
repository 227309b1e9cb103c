/**
 * P2's table and chart: heatmaps of the largest excursion over the (η, ρ) sweep for USAM and
 * SAM with ρ*(η), and the headline USAM trajectory.
 *
 * @module
 */
import type { Cell } from "../../core/csv.ts";
import type { ChartSpec } from "../../core/render.ts";
import { type FullBatchSam, usamEscapeRho } from "../../models/theory/subquadratic.ts";
import { fmt } from "../../core/format.ts";
import { chartTitle, figureSpec, type Fragment, quant, ruleLayer } from "../charts.ts";
import { type P2Options, type P2Result, valleyRhoBound } from "./p2_valley.ts";

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
  "rho_bound",
  "step",
  "theta",
] as const;

/** The rows of P2's `data.csv` (kinds: cell, threshold with the ρ bound, control, trajectory). */
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
      rho_bound: finiteOrNull(valleyRhoBound(result.valley, x.eta, x.variant)),
    })),
    {
      kind: "control",
      variant: result.controlCell.variant,
      eta: result.controlCell.eta,
      rho: result.controlCell.rho,
      max_abs_over_b: result.controlCell.maxAbs,
      inside: result.controlCell.inside,
      rho_bound: finiteOrNull(
        valleyRhoBound(result.valley, result.controlCell.eta, result.controlCell.variant),
      ),
    },
    ...result.trajectory.map((p) => ({ kind: "trajectory", variant: "usam", ...p })),
  ];
}

/** Infinity (no bound needed) and null (no bound) both as an empty cell. */
function finiteOrNull(x: number | null): number | null {
  return x !== null && Number.isFinite(x) ? x : null;
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

/** A black line through points of `values` (x = `eta`, y = `y`), e.g. ρ*(η). */
function lineLayer(values: readonly Fragment[], y: string, mark: Fragment): Fragment {
  return {
    data: { values },
    mark: { type: "line", ...mark },
    encoding: { x: quant("eta"), y: quant(y) },
  };
}

/** One heatmap of the largest excursion over (η, ρ), with ηa = 2b, ρ*(η) and (USAM) ρ_esc(η). */
function heatPanel(result: P2Result, options: P2Options, variant: FullBatchSam): Fragment {
  const ex = edges(options.etas);
  const ey = edges(options.rhos);
  const rhoTop = ey.get(Math.max(...options.rhos))![1];
  const etaEdge = (2 * options.b) / options.a;
  const cells = result.cells.filter((c) => c.variant === variant).map((c) => ({
    eta0: ex.get(c.eta)![0],
    eta1: ex.get(c.eta)![1],
    rho0: ey.get(c.rho)![0],
    rho1: ey.get(c.rho)![1],
    maxAbs: c.maxAbs,
  }));
  const escape = Array.from({ length: 120 }, (_, i) => {
    const eta = etaEdge * (0.05 + (0.95 * i) / 119);
    return { eta, rho: usamEscapeRho(options, eta) };
  }).filter((p) => p.rho <= rhoTop);
  const rhoStar = result.thresholds.filter((x) =>
    x.variant === variant && !x.all && x.rhoStar !== null
  );
  const bound = Array.from({ length: 120 }, (_, i) => {
    const eta = etaEdge * (1 + (0.5 * (i + 1)) / 121);
    return { eta, rho: valleyRhoBound(options, eta, variant) };
  }).filter((p) => p.rho !== null && p.rho <= rhoTop);
  const axis = { scale: { nice: false, zero: false } };
  return {
    title: variant === "usam"
      ? chartTitle(
        "USAM (Eq. 4), full batch",
        "dashed: above it θ = 0 is linearly unstable for USAM",
        300,
      )
      : chartTitle("SAM (Eq. 3), full batch", "normalized ascent ρ·sign(L′)", 300),
    width: 300,
    height: 240,
    layer: [
      {
        data: { values: cells },
        mark: { type: "rect" },
        encoding: {
          x: quant("eta0", "learning rate η", axis),
          x2: { field: "eta1" },
          y: quant("rho0", "radius ρ", axis),
          y2: { field: "rho1" },
          color: quant("maxAbs", "max |θ_t|/b", {
            scale: { domain: [0, 3], domainMid: 2, scheme: "redblue", reverse: true },
          }),
        },
      },
      ruleLayer("x", [etaEdge], { color: "black", strokeWidth: 1.5 }),
      lineLayer(rhoStar, "rhoStar", {
        color: "black",
        point: { color: "black", size: 14 },
        strokeWidth: 1,
      }),
      lineLayer(bound, "rho", { color: "#ffd700", strokeWidth: 2.5 }),
      ...(variant === "usam"
        ? [lineLayer(escape, "rho", { color: "white", strokeDash: [4, 3], strokeWidth: 1.5 })]
        : []),
    ],
  };
}

/** The headline USAM trajectory: |θ_t|/b on a log axis with the core b and the edge 2b. */
function trajectoryPanel(result: P2Result, options: P2Options): Fragment {
  const t = options.trajectory;
  const traj = result.trajectory.map((p) => ({ step: p.step, abs: Math.abs(p.theta) / options.b }))
    .filter((p) => p.abs > 0);
  return {
    title: chartTitle(
      `USAM at η = ${t.eta}, ρ = ${t.rho} from θ₀ = ${t.start}b`,
      `escapes ×${fmt(result.escapeFit)}/step (linearization ×${
        fmt(result.escapePredicted)
      }), stays below 2b`,
      300,
    ),
    width: 260,
    height: 240,
    layer: [
      {
        data: { values: traj },
        mark: { type: "line", color: "#2ca02c", point: { size: 12, color: "#2ca02c" } },
        encoding: {
          x: quant("step", "step"),
          y: quant("abs", "|θ_t| / b", { scale: { type: "log" } }),
        },
      },
      ruleLayer("y", [2, 1], { strokeDash: [4, 3], color: "#555555" }),
    ],
  };
}

/** P2's Vega-Lite spec: max excursion heatmaps for USAM and SAM, and the headline trajectory. */
export function p2Chart(result: P2Result, options: P2Options): ChartSpec {
  return figureSpec({
    text: "P2, Proposition 4.1: SAM started in (−b, b) stays in the valley (−2b, 2b)",
    subtitle: [
      `L(θ) = a(√(b² + θ²) − b), a = ${options.a}, b = ${options.b}; color: largest |θ_t|/b over ` +
      `${options.starts} starts in (−b, b) and ${options.steps} steps (red: left the valley).`,
      "Vertical line: ηa = 2b; left of it |θ_t| < max(|θ₀|, ηa) ≤ 2b for every ρ. " +
      "Black points: ρ*(η), the largest ρ of the sweep up to which every start stays inside. " +
      "Gold: the ρ bound checked for 2b < ηa < 3b, (b/a)(3b − ηa)/(ηa − 2b) (USAM), 3b − ηa (SAM).",
    ],
    width: 1100,
  }, {
    hconcat: [
      heatPanel(result, options, "usam"),
      heatPanel(result, options, "sam"),
      trajectoryPanel(result, options),
    ],
    resolve: { scale: { color: "independent" } },
  });
}
