/**
 * P4, Theorem 4.3 (USAM converges exponentially fast under smoothness and PL, no convexity
 * needed) on two PL problems: the non-convex f(x) = x² + 3 sin²(x) and the over-parameterized
 * least squares of P3 (PL with μ = λ_min⁺(H), β = λ_max(H); convex but not strongly convex).
 *
 * The check (all must hold):
 *
 * 1. full batch: for each (ηβ, ρβ) of a grid where the rate below is defined (c > 0) and each
 *    start, USAM reaches L ≤ drop·L₀ within the step budget, and its whole path stays under
 *    the exponential envelope L_t ≤ (1 − 2ημc)ᵗ·L₀ (c = 1 − βρ − (βη/2)(1 + βρ)², the rate
 *    of models/theory/pl.ts);
 * 2. mini-batch: USAM as the paper's Eq. 4 (one batch for both passes) on least squares
 *    contracts the exact expected loss, certified growth factor of E[L̃] < 1, and the mean
 *    of seeded trials reaches L ≤ miniBatch.drop·L₀ within its steps.
 *
 * Negative control: the same full-batch check on f(x) = x⁴, smooth on [−1, 1] (β = 12) but
 * not PL near its minimum (f′² / f = 16x² → 0). USAM then converges only polynomially, so it
 * cannot reach the drop within the budget and the check must say FAIL.
 *
 * Normalized SAM runs at the headline setting for contrast: its ascent does not shrink with
 * the gradient, so it stalls at a loss floor instead of converging.
 *
 * Streams: the least-squares start θ* + δ, δ ~ N(0, I_d), from (seed, theory/p4/start); the
 * mini-batch trial i from (seed, theory/p4/trial/i).
 *
 * @module
 */
import { createRng, rngKey } from "../../core/random.ts";
import { mean } from "../../core/stats.ts";
import { expectedLossCurve, momentGrowthFactor } from "../../models/theory/second_moment.ts";
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
import type { Control, Verdict } from "./common.ts";
import { type LsContext, lsInstance, runLsTrials } from "./ls_setup.ts";

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
  /** The setting plotted as curves (and where SAM and the control run). */
  headline: { etaBeta: number; rhoBeta: number };
  /** Shared-batch USAM on least squares: one setting, exact and seeded trials. */
  miniBatch: {
    etaBeta: number;
    rhoBeta: number;
    batchSize: number;
    trials: number;
    steps: number;
    drop: number;
  };
  /** Start of the control f(x) = x⁴ (|x₀| ≤ 1: β = 12 along the path). */
  controlStart: number;
}

/** A problem as P4 sees it: constants, starts, and the steps. */
interface PlProblem<T> {
  name: "nonconvex" | "least-squares" | "quartic";
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
  /** L_t ≤ boundᵗ·L₀ at every step (true when there is no bound). */
  envelope: boolean;
  fitted: number | null;
  steps: number;
  converged: boolean;
  /** Smallest f″ along the path (null for least squares). */
  minCurvature: number | null;
}

/** The mini-batch part: shared-batch USAM on least squares. */
export interface P4MiniBatch {
  eta: number;
  rho: number;
  /** Exact growth factor of E[L̃] with its certified upper bound. */
  growth: number;
  growthUpper: number | null;
  /** Exact E[L̃_T]/L̃₀ and the mean over trials of L_T/L₀. */
  exactEnd: number;
  meanEnd: number;
}

/** Everything P4 computes. */
export interface P4Result {
  constants: { problem: string; beta: number; mu: number }[];
  runs: P4Run[];
  miniBatch: P4MiniBatch;
  /** The control's runs on f(x) = x⁴. */
  controlRuns: P4Run[];
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
  let envelope = true;
  const rate = usamPlRate({ ...h, beta: p.beta, mu: p.mu });
  let minCurvature = p.curvature ? p.curvature(x0) : null;
  while (losses[losses.length - 1] > options.drop * l0 && losses.length <= options.maxSteps) {
    x = step(x, h);
    const l = p.loss(x);
    worst = Math.max(worst, l / losses[losses.length - 1]);
    if (rate !== null && l > rate ** losses.length * l0 * (1 + 1e-12)) envelope = false;
    if (p.curvature) minCurvature = Math.min(minCurvature!, p.curvature(x));
    losses.push(l);
    if (!Number.isFinite(l)) break;
  }
  return { losses, worst, envelope, minCurvature };
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

/** f(x) = x⁴ from x₀: smooth on [−1, 1] (β = 12) but not PL, the control. */
function quartic(x0: number): PlProblem<number> {
  const grad = (x: number) => 4 * x ** 3;
  const usam = (x: number, h: { eta: number; rho: number }) =>
    x - h.eta * grad(x + h.rho * grad(x));
  return {
    name: "quartic",
    beta: 12 * x0 * x0,
    mu: 0,
    starts: [{ label: `x₀=${x0}`, x: x0 }],
    loss: (x) => x ** 4,
    usam,
    sam: usam,
  };
}

/** Runs the grid on both problems, the headline curves, the mini-batch part and the check. */
export function computeP4(
  ctx: LsContext,
  options: P4Options,
  power: { iterations: number },
): P4Result {
  const [nonconvex, ls] = problems(ctx);
  nonconvex.starts = options.starts.map((x) => ({ label: `x₀=${x}`, x }));
  const runs: P4Run[] = [];
  const curves: P4Result["curves"] = [];
  const controlRuns: P4Run[] = [];
  const gridRuns = <T>(p: PlProblem<T>, etaBetas: number[], rhoBetas: number[], into: P4Run[]) => {
    for (const etaBeta of etaBetas) {
      for (const rhoBeta of rhoBetas) {
        const h = { eta: etaBeta / p.beta, rho: rhoBeta / p.beta };
        const margin = usamPlMargin({ ...h, beta: p.beta });
        const bound = usamPlRate({ ...h, beta: p.beta, mu: p.mu });
        for (const s of p.starts) {
          const r = runOne(p, s.x, h, options, p.usam);
          const last = r.losses.length - 1;
          into.push({
            problem: p.name,
            start: s.label,
            etaBeta,
            rhoBeta,
            margin,
            bound,
            worst: r.worst,
            envelope: r.envelope,
            fitted: fitLogLinear(r.losses, { to: last })?.rate ?? null,
            steps: last,
            converged: r.losses[last] <= options.drop * r.losses[0],
            minCurvature: r.minCurvature,
          });
        }
      }
    }
  };
  const sweep = <T>(p: PlProblem<T>) => {
    gridRuns(p, options.etaBeta, options.rhoBeta, runs);
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
  const hh = options.headline;
  const control = quartic(options.controlStart);
  gridRuns(control, [hh.etaBeta], [hh.rhoBeta], controlRuns);
  const miniBatch = computeMiniBatch(ctx, ls.starts[0].x, options, power.iterations);
  const constants = [nonconvex, ls, control].map((p) => ({
    problem: p.name,
    beta: p.beta,
    mu: p.mu,
  }));
  return {
    constants,
    runs,
    miniBatch,
    controlRuns,
    curves,
    verdict: p4Verdict(constants, runs, miniBatch, controlRuns, options),
  };
}

/** Shared-batch USAM on least squares: exact E[L̃] and seeded trials from θ* + δ. */
function computeMiniBatch(
  ctx: LsContext,
  theta0: Float64Array,
  options: P4Options,
  iterations: number,
): P4MiniBatch {
  const m = options.miniBatch;
  const { problem, spectrum } = ctx.base;
  const beta = spectrum.lambdaMax;
  const delta = theta0.map((v, k) => v - problem.thetaStar[k]);
  const inst = lsInstance(problem, delta, lsLoss(problem, theta0));
  const hyper = { eta: m.etaBeta / beta, rho: m.rhoBeta / beta, batch: m.batchSize };
  const shared = { ...hyper, batches: "shared" as const };
  const growth = momentGrowthFactor(spectrum, shared, { iterations });
  const curve = expectedLossCurve(spectrum, inst.start, { ...shared, steps: m.steps });
  const trials = runLsTrials(inst, {
    ...shared,
    steps: m.steps,
    trials: m.trials,
    key: (i) => rngKey(ctx.seed, "theory", "p4", "trial", i),
    cap: 1e300,
    curves: false,
  });
  return {
    eta: hyper.eta,
    rho: hyper.rho,
    growth: growth.factor,
    growthUpper: growth.upper,
    exactEnd: curve[m.steps] / curve[0],
    meanEnd: mean(trials.final),
  };
}

/** The outcome of the P4 check. */
export interface P4Check {
  pass: boolean;
  /** Full-batch runs with c > 0, those that did not reach the drop, those above the envelope. */
  checked: number;
  unconverged: number;
  aboveEnvelope: number;
  /** Mini-batch: certified contraction of E[L̃] and the trials' mean reached the drop. */
  miniBatchContracts: boolean;
  miniBatchReached: boolean;
}

/** Both parts of the P4 check (see the module doc); `miniBatch` null: part 2 not judged. */
export function p4Check(
  runs: P4Run[],
  miniBatch: P4MiniBatch | null,
  miniBatchDrop: number,
): P4Check {
  const checked = runs.filter((r) => r.bound !== null);
  const unconverged = checked.filter((r) => !r.converged).length;
  const aboveEnvelope = checked.filter((r) => !r.envelope).length;
  const miniBatchContracts = miniBatch === null ||
    (miniBatch.growthUpper ?? miniBatch.growth) < 1;
  const miniBatchReached = miniBatch === null || miniBatch.meanEnd <= miniBatchDrop;
  return {
    pass: checked.length > 0 && unconverged === 0 && aboveEnvelope === 0 && miniBatchContracts &&
      miniBatchReached,
    checked: checked.length,
    unconverged,
    aboveEnvelope,
    miniBatchContracts,
    miniBatchReached,
  };
}

function p4Control(runs: P4Run[], options: P4Options): Control {
  const c = p4Check(runs, null, options.miniBatch.drop);
  const r = runs[0];
  return {
    setting: `f(x) = x⁴ from x₀ = ${options.controlStart}: smooth but not PL (μ = 0)`,
    detected: !c.pass,
    line: `the check says ${c.pass ? "PASS" : "FAIL"}: at ηβ = ${r.etaBeta}, ρβ = ${r.rhoBeta} ` +
      `USAM ${r.converged ? "reached" : "did not reach"} ${fmt(options.drop)}·L₀ in ${r.steps} ` +
      `steps (fitted ×${fmt(r.fitted, 6)}/step, last step ×${fmt(r.worst, 6)})`,
    measured: `${r.converged ? "converged" : "not converged"} after ${r.steps} steps`,
    numbers: { ...c, steps: r.steps, fitted: r.fitted, converged: r.converged },
  };
}

function p4Verdict(
  constants: P4Result["constants"],
  runs: P4Run[],
  miniBatch: P4MiniBatch,
  controlRuns: P4Run[],
  options: P4Options,
): Verdict {
  const check = p4Check(runs, miniBatch, options.miniBatch.drop);
  const nonconvexVisited = runs.some((r) => r.minCurvature !== null && r.minCurvature < 0);
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
  const m = options.miniBatch;
  return {
    claim: "P4",
    statement: "Theorem 4.3 (exponential convergence, smoothness + PL)",
    pass: check.pass,
    line: `full-batch USAM, ${check.checked} runs with c > 0 (of ${runs.length}): reached ` +
      `${fmt(options.drop)}·L₀ in ${check.checked - check.unconverged}, under the envelope ` +
      `(1 − 2ημc)ᵗ·L₀ throughout in ${check.checked - check.aboveEnvelope}; non-convex region ` +
      `(f″ < 0) visited: ${
        nonconvexVisited ? "yes" : "no"
      }. At ηβ = ${options.headline.etaBeta}, ` +
      `ρβ = ${options.headline.rhoBeta}: ${describe("nonconvex")}; ${describe("least-squares")}. ` +
      `Shared-batch USAM (Eq. 4) on least squares, B = ${m.batchSize}, ηβ = ${m.etaBeta}, ρβ = ${m.rhoBeta}: ` +
      `exact E[L̃] ×${fmt(miniBatch.growth, 5)}/step (certified ≤ ${
        fmt(miniBatch.growthUpper, 5)
      }), E[L̃_T]/L̃₀ = ${fmt(miniBatch.exactEnd)} and mean of ${m.trials} trials ${
        fmt(miniBatch.meanEnd)
      } after ${m.steps} steps (need ≤ ${fmt(m.drop)})`,
    measured:
      `${check.checked - check.unconverged}/${check.checked} converged under the envelope; ` +
      `mini-batch ×${fmt(miniBatch.growth, 4)}/step`,
    predicted: `L_t ≤ (1 − 2ημc)ᵗL₀, c = 1 − βρ − βη(1+βρ)²/2 (LS: ×${
      fmt(head("least-squares")[0]?.bound, 4)
    }); E[L̃] contracts`,
    numbers: {
      constants: constants.map((c) => ({ ...c })),
      runsChecked: check.checked,
      unconverged: check.unconverged,
      aboveEnvelope: check.aboveEnvelope,
      nonconvexVisited,
      miniBatchGrowth: miniBatch.growth,
      miniBatchGrowthUpper: miniBatch.growthUpper,
      miniBatchExactEnd: miniBatch.exactEnd,
      miniBatchMeanEnd: miniBatch.meanEnd,
      headline: head("nonconvex").concat(head("least-squares")).map((r) => ({
        problem: r.problem,
        start: r.start,
        bound: r.bound,
        worst: r.worst,
        fitted: r.fitted,
        steps: r.steps,
      })),
    },
    control: p4Control(controlRuns, options),
    variants: [],
  };
}
