/**
 * P4's table and chart: loss curves at the headline setting with the bound, and the measured
 * per-step contraction of every run against the bound's.
 *
 * @module
 */
import type { Cell } from "../../core/csv.ts";
import type { ChartSpec } from "../../core/render.ts";
import { usamPlRate } from "../../models/theory/pl.ts";
import { fmt } from "../../core/format.ts";
import {
  chartTitle,
  figureSpec,
  type Fragment,
  nominalScale,
  OPTIMIZER_COLORS,
  quant,
} from "../charts.ts";
import type { P4Options, P4Result } from "./p4_convergence.ts";

/** Columns of `theory-p4/data.csv`. */
export const P4_COLUMNS = [
  "kind",
  "problem",
  "start",
  "optimizer",
  "eta_beta",
  "rho_beta",
  "beta",
  "mu",
  "margin_c",
  "bound_rate",
  "worst_step",
  "fitted_rate",
  "steps",
  "converged",
  "envelope",
  "min_curvature",
  "step",
  "loss",
] as const;

/**
 * The rows of P4's `data.csv` (kinds: constant, run, control_run (f = x⁴, the negative
 * control), mini_batch (shared-batch USAM on least squares: `fitted_rate` the exact growth
 * factor of E[L̃], `bound_rate` its certified upper bound, `loss` the mean over trials of
 * L_T/L₀), curve).
 */
export function p4Rows(result: P4Result): Record<string, Cell>[] {
  const m = result.miniBatch;
  return [
    ...result.constants.map((c) => ({ kind: "constant", ...c })),
    ...result.controlRuns.map((r) => ({ ...runRow(r), kind: "control_run" })),
    {
      kind: "mini_batch",
      problem: "least-squares",
      optimizer: "usam (shared batch)",
      bound_rate: m.growthUpper,
      fitted_rate: m.growth,
      loss: m.meanEnd,
    },
    ...result.runs.map(runRow),
    ...result.curves.map((c) => ({ kind: "curve", ...c })),
  ];
}

function runRow(r: P4Result["runs"][number]): Record<string, Cell> {
  return {
    kind: "run",
    problem: r.problem,
    start: r.start,
    optimizer: "usam",
    eta_beta: r.etaBeta,
    rho_beta: r.rhoBeta,
    margin_c: r.margin,
    bound_rate: r.bound,
    worst_step: r.worst,
    fitted_rate: r.fitted,
    steps: r.steps,
    converged: r.converged,
    envelope: r.envelope,
    min_curvature: r.minCurvature,
  };
}

const log = (field: string, title?: string, extra: Fragment = {}) =>
  quant(field, title, { scale: { type: "log" }, ...extra });

/** One problem's headline loss curves (USAM and SAM, every start) with the PL bound. */
function curvePanel(result: P4Result, options: P4Options, problem: string): Fragment {
  const { etaBeta, rhoBeta } = options.headline;
  const c = result.constants.find((k) => k.problem === problem)!;
  const eta = etaBeta / c.beta;
  const rate = usamPlRate({ eta, rho: rhoBeta / c.beta, beta: c.beta, mu: c.mu });
  const curves = result.curves.filter((r) => r.problem === problem && r.loss > 0);
  const l0 = curves.find((r) => r.step === 0)?.loss ?? 1;
  const maxStep = Math.max(...curves.filter((r) => r.optimizer === "usam").map((r) => r.step));
  const bound = rate === null
    ? []
    : Array.from({ length: maxStep + 1 }, (_, t) => ({ step: t, loss: l0 * rate ** t }));
  const optimizers = ["usam", "sam"] as const;
  return {
    title: chartTitle(
      problem === "nonconvex"
        ? "f(x) = x² + 3 sin²x (non-convex, PL)"
        : "Least squares (PL, μ = λ_min⁺)",
      `β = ${fmt(c.beta)}, μ = ${fmt(c.mu)}; dashed: L₀(1 − 2ημc)ᵗ from the first start`,
      300,
    ),
    width: 260,
    height: 240,
    layer: [
      {
        data: { values: curves.filter((r) => r.step <= maxStep) },
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: {
          x: quant("step", "step"),
          y: log("loss", "loss", { axis: { format: ".0e" } }),
          color: nominalScale("optimizer", optimizers, optimizers.map((o) => OPTIMIZER_COLORS[o]), {
            title: "optimizer",
          }),
          detail: { field: "start" },
        },
      },
      {
        data: { values: bound },
        mark: { type: "line", color: "black", strokeDash: [5, 3] },
        encoding: { x: quant("step"), y: log("loss") },
      },
    ],
  };
}

/** Measured per-step contraction against the bound 2ημc, log–log, with the diagonal. */
function contractionPanel(result: P4Result): Fragment {
  const points = result.runs.filter((r) => r.bound !== null).flatMap((r) => [
    { problem: r.problem, what: "worst step", bound: 1 - r.bound!, measured: 1 - r.worst },
    ...(r.fitted === null
      ? []
      : [{ problem: r.problem, what: "fitted rate", bound: 1 - r.bound!, measured: 1 - r.fitted }]),
  ]).filter((p) => p.measured > 0);
  const all = points.flatMap((p) => [p.bound, p.measured]);
  const diag = [{ v: Math.min(...all) / 1.5 }, { v: Math.min(1, Math.max(...all) * 1.5) }];
  return {
    title: chartTitle("Measured vs bound contraction per step", [], 300),
    width: 260,
    height: 240,
    layer: [
      {
        data: { values: diag },
        mark: { type: "line", color: "#999999" },
        encoding: { x: log("v"), y: log("v") },
      },
      {
        data: { values: points },
        mark: { type: "point", filled: true, size: 40, opacity: 0.8 },
        encoding: {
          x: log("bound", "bound 2ημc"),
          y: log("measured", "measured 1 − ratio"),
          color: { field: "problem", type: "nominal", title: "problem" },
          shape: { field: "what", type: "nominal", title: "measure" },
        },
      },
    ],
  };
}

/** P4's Vega-Lite spec: headline loss curves per problem, and measured vs bound contraction. */
export function p4Chart(result: P4Result, options: P4Options): ChartSpec {
  const { etaBeta, rhoBeta } = options.headline;
  return figureSpec({
    text: "P4, Theorem 4.3: full-batch USAM converges geometrically on smooth PL losses",
    subtitle: [
      `Curves at ηβ = ${etaBeta}, ρβ = ${rhoBeta} (SAM, Eq. 3, for contrast). Right: per-step ` +
      "contraction 1 − L_{t+1}/L_t measured vs the bound 2ημc, every run with c > 0; above " +
      "the diagonal = faster than the bound.",
    ],
    width: 1000,
  }, {
    hconcat: [
      curvePanel(result, options, "nonconvex"),
      curvePanel(result, options, "least-squares"),
      contractionPanel(result),
    ],
    resolve: { scale: { color: "independent", shape: "independent" } },
  });
}
