/**
 * P4, Theorem 4.3 (exponential convergence under smoothness and PL) with full-batch USAM on
 * two PL problems: the non-convex f(x) = x² + 3 sin²(x) and the over-parameterized least
 * squares of P3 (PL with μ = λ_min⁺(H), β = λ_max(H); convex but not strongly convex).
 *
 * For each (ηβ, ρβ) of a grid and each start, USAM runs until the loss has dropped by
 * `drop`; the check is that every step contracts the loss at least as fast as the bound
 * L(θ_{t+1}) ≤ (1 − 2ημc)·L(θ_t) of models/theory/pl.ts, and that every run converges.
 * Normalized SAM runs at the headline setting for contrast: its ascent does not shrink with
 * the gradient, so it stalls at a loss floor instead of converging.
 *
 * Streams: the least-squares start θ* + δ, δ ~ N(0, I_d), from (seed, theory/p4/start).
 *
 * @module
 */
import { createRng, rngKey } from "../../core/random.ts";
import { lsLoss, lsSamStep, lsUsamStep } from "../../models/theory/least_squares.ts";
import {
  NONCONVEX_PL_BETA,
  nonconvexPl,
  nonconvexPlHess,
  nonconvexPlSamStep,
  nonconvexPlUsamStep,
  plConstant,
  usamPlMargin,
  usamPlRate,
} from "../../models/theory/pl.ts";
import { fmt } from "../../core/format.ts";
import { fitLogLinear } from "../../core/stats.ts";
import type { Verdict } from "./common.ts";
import type { LsContext } from "./ls_setup.ts";

/** Settings of P4. */
export interface P4Options {
  /** The grid, in units of the problem's β: η = etaBeta/β, ρ = rhoBeta/β. */
  etaBeta: number[];
  rhoBeta: number[];
  /** Starts of the non-convex problem. */
  starts: number[];
  /** Stop once L ≤ drop·L₀. */
  drop: number;
  maxSteps: number;
  /** The setting plotted as curves (and where SAM runs). */
  headline: { etaBeta: number; rhoBeta: number };
}

/** A problem as P4 sees it: constants, starts, and the steps. */
interface PlProblem<T> {
  name: "nonconvex" | "least-squares";
  beta: number;
  mu: number;
  starts: { label: string; x: T }[];
  loss: (x: T) => number;
  usam: (x: T, h: { eta: number; rho: number }) => T;
  sam: (x: T, h: { eta: number; rho: number }) => T;
  /** Curvature along the path (non-convex problem only). */
  curvature?: (x: T) => number;
}

/** One run: a problem, a setting, a start. */
export interface P4Run {
  problem: string;
  start: string;
  etaBeta: number;
  rhoBeta: number;
  margin: number;
  /** The bound's per-step contraction (null when c ≤ 0). */
  bound: number | null;
  /** max_t L_{t+1}/L_t and the log-scale fit of L_t over the run. */
  worst: number;
  fitted: number | null;
  steps: number;
  converged: boolean;
  /** Smallest f″ along the path (null for least squares). */
  minCurvature: number | null;
}

/** Everything P4 computes. */
export interface P4Result {
  constants: { problem: string; beta: number; mu: number }[];
  runs: P4Run[];
  /** Loss curves at the headline setting: USAM per start and SAM per start. */
  curves: { problem: string; start: string; optimizer: string; step: number; loss: number }[];
  verdict: Verdict;
}

function runOne<T>(
  p: PlProblem<T>,
  x0: T,
  h: { eta: number; rho: number },
  options: P4Options,
  step: (x: T, h: { eta: number; rho: number }) => T,
) {
  let x = x0;
  const l0 = p.loss(x0);
  const losses = [l0];
  let worst = 0;
  let minCurvature = p.curvature ? p.curvature(x0) : null;
  while (losses[losses.length - 1] > options.drop * l0 && losses.length <= options.maxSteps) {
    x = step(x, h);
    const l = p.loss(x);
    worst = Math.max(worst, l / losses[losses.length - 1]);
    if (p.curvature) minCurvature = Math.min(minCurvature!, p.curvature(x));
    losses.push(l);
    if (!Number.isFinite(l)) break;
  }
  return { losses, worst, minCurvature };
}

/** The two problems with their constants and starts. */
function problems(ctx: LsContext): [PlProblem<number>, PlProblem<Float64Array>] {
  const { problem, spectrum } = ctx.base;
  const delta = createRng(rngKey(ctx.seed, "theory", "p4", "start")).normals(problem.d);
  return [
    {
      name: "nonconvex",
      beta: NONCONVEX_PL_BETA,
      mu: plConstant().mu,
      starts: [],
      loss: nonconvexPl,
      usam: nonconvexPlUsamStep,
      sam: nonconvexPlSamStep,
      curvature: nonconvexPlHess,
    },
    {
      name: "least-squares",
      beta: spectrum.lambdaMax,
      mu: spectrum.lambdaMin,
      starts: [{ label: "θ*+δ", x: delta.map((v, k) => v + problem.thetaStar[k]) }],
      loss: (t) => lsLoss(problem, t),
      usam: (t, h) => lsUsamStep(problem, t, h),
      sam: (t, h) => lsSamStep(problem, t, h),
    },
  ];
}

/** Runs the grid on both problems, the headline curves and the check. */
export function computeP4(ctx: LsContext, options: P4Options): P4Result {
  const [nonconvex, ls] = problems(ctx);
  nonconvex.starts = options.starts.map((x) => ({ label: `x₀=${x}`, x }));
  const runs: P4Run[] = [];
  const curves: P4Result["curves"] = [];
  const sweep = <T>(p: PlProblem<T>) => {
    for (const etaBeta of options.etaBeta) {
      for (const rhoBeta of options.rhoBeta) {
        const h = { eta: etaBeta / p.beta, rho: rhoBeta / p.beta };
        const margin = usamPlMargin({ ...h, beta: p.beta });
        const bound = usamPlRate({ ...h, beta: p.beta, mu: p.mu });
        for (const s of p.starts) {
          const r = runOne(p, s.x, h, options, p.usam);
          const last = r.losses.length - 1;
          runs.push({
            problem: p.name,
            start: s.label,
            etaBeta,
            rhoBeta,
            margin,
            bound,
            worst: r.worst,
            fitted: fitLogLinear(r.losses, { to: last })?.rate ?? null,
            steps: last,
            converged: r.losses[last] <= options.drop * r.losses[0],
            minCurvature: r.minCurvature,
          });
        }
      }
    }
    const hh = options.headline;
    const h = { eta: hh.etaBeta / p.beta, rho: hh.rhoBeta / p.beta };
    for (const s of p.starts) {
      const usam = runOne(p, s.x, h, options, p.usam).losses;
      // SAM runs as many steps as USAM needed (it would not reach the drop).
      const sam = runOne(p, s.x, h, { ...options, drop: 0, maxSteps: usam.length - 1 }, p.sam)
        .losses;
      for (const [optimizer, losses] of [["usam", usam], ["sam", sam]] as const) {
        losses.forEach((loss, k) =>
          curves.push({ problem: p.name, start: s.label, optimizer, step: k, loss })
        );
      }
    }
  };
  sweep(nonconvex);
  sweep(ls);
  const constants = [nonconvex, ls].map((p) => ({ problem: p.name, beta: p.beta, mu: p.mu }));
  return { constants, runs, curves, verdict: p4Verdict(constants, runs, options) };
}

function p4Verdict(
  constants: P4Result["constants"],
  runs: P4Run[],
  options: P4Options,
): Verdict {
  const checked = runs.filter((r) => r.bound !== null);
  const violations = checked.filter((r) => r.worst > r.bound! * (1 + 1e-12));
  const unconverged = checked.filter((r) => !r.converged);
  const nonconvexVisited = runs.some((r) => r.minCurvature !== null && r.minCurvature < 0);
  const pass = checked.length > 0 && violations.length === 0 && unconverged.length === 0 &&
    nonconvexVisited;
  const head = (problem: string) =>
    runs.filter((r) =>
      r.problem === problem && r.etaBeta === options.headline.etaBeta &&
      r.rhoBeta === options.headline.rhoBeta
    );
  const describe = (problem: string) => {
    const c = constants.find((k) => k.problem === problem)!;
    const h = head(problem);
    const worst = Math.max(...h.map((r) => r.worst));
    const fitted = h.map((r) => r.fitted ?? NaN);
    return `${problem} (β ${fmt(c.beta)}, μ ${fmt(c.mu)}): bound ×${fmt(h[0]?.bound, 5)}/step, ` +
      `worst step ×${fmt(worst, 5)}, fitted ×${fmt(Math.min(...fitted), 3)}–${
        fmt(Math.max(...fitted), 3)
      }/step`;
  };
  return {
    claim: "P4",
    statement: "Theorem 4.3 (exponential convergence, smoothness + PL)",
    pass,
    line: `full-batch USAM, ${checked.length} runs with c > 0 (of ${runs.length}): every step ` +
      `L_{t+1} ≤ (1 − 2ημc)·L_t in ${checked.length - violations.length}, converged by ${
        fmt(options.drop)
      } in ${checked.length - unconverged.length}; non-convex region (f″ < 0) visited: ${
        nonconvexVisited ? "yes" : "no"
      }. At ηβ = ${options.headline.etaBeta}, ρβ = ${options.headline.rhoBeta}: ${
        describe("nonconvex")
      }; ${describe("least-squares")}`,
    measured: `worst step ≤ bound in ${checked.length - violations.length}/${checked.length}; ` +
      `fitted ×${fmt(head("least-squares")[0]?.fitted, 4)}/step (least squares)`,
    predicted: `≤ 1 − 2ημc, c = 1 − βρ − βη(1+βρ)²/2 (LS: ×${
      fmt(head("least-squares")[0]?.bound, 4)
    })`,
    numbers: {
      constants: constants.map((c) => ({ ...c })),
      runsChecked: checked.length,
      boundViolations: violations.length,
      unconverged: unconverged.length,
      nonconvexVisited,
      headline: head("nonconvex").concat(head("least-squares")).map((r) => ({
        problem: r.problem,
        start: r.start,
        bound: r.bound,
        worst: r.worst,
        fitted: r.fitted,
        steps: r.steps,
      })),
    },
  };
}
