/**
 * P3, Theorem 4.1 (linear stability of USAM: SAM can stay only at flatter minima than SGD) on
 * over-parameterized least squares, with USAM as the paper's Eq. 4 (ascent and descent on the
 * same mini-batch).
 *
 * Over a grid of (η, ρ, B): seeded mini-batch USAM trials from θ₀ near θ* (stable when the
 * mean loss over trials ends below where it started), the exact growth factor of E[L̃] (the
 * moment recursion), and the reconstructed condition ‖H‖_F²(1 + ρ²γ‖H‖_F²/B) ≤ B/(η²γ) with
 * γ the exact infimum of the alignment. The check (all must hold):
 *
 * 1. the condition is necessary: every (η, ρ, B) that violates it diverges, exactly and in
 *    simulation;
 * 2. USAM's stability region lies inside SGD's: at every (η, B) of the grid where SGD (ρ = 0)
 *    is exactly unstable, USAM is exactly unstable for every ρ > 0 of the grid;
 * 3. USAM's stability edge lies below SGD's (the paper's point): at the band's (η, ρ, B),
 *    the ‖H‖_F² where USAM's exact growth crosses 1 is below SGD's;
 * 4. the band is non-empty: USAM's condition already fails below SGD's exact edge.
 *
 * Negative control: the same check on full-batch USAM over the same grid. Without mini-batch
 * noise, Assumption 4.1 fails (S = 0), and violators of the condition stay stable; the check
 * must say FAIL there.
 *
 * Streams: trial i of every configuration with batch size B draws from
 * (seed, theory/p3/batch/B/trial/i): configurations sharing B share their batch sequences.
 *
 * @module
 */
import { createProgress } from "../../core/progress.ts";
import { rngKey } from "../../core/random.ts";
import { type GrowthFactor, momentGrowthFactor } from "../../models/theory/second_moment.ts";
import {
  boundaryRho,
  type StabilityCondition,
  usamStabilityCondition,
} from "../../models/theory/stability_bound.ts";
import { lsSpectrum, scaleProblem } from "../../models/theory/least_squares.ts";
import type { Band } from "./band.ts";
import { fullBatchGrowth } from "./full_batch.ts";
import { fmt } from "../../core/format.ts";
import { mean, quantileSorted } from "../../core/stats.ts";
import type { Control, Verdict } from "./common.ts";
import { type LsContext, runLsTrials } from "./ls_setup.ts";

/** Settings of the P3 grid. */
export interface P3Options {
  etas: number[];
  rhos: number[];
  batchSizes: number[];
  trials: number;
  steps: number;
  iterations: number;
  /** η points of the exact boundary curve per batch size (0: none). */
  boundaryEtas: number;
  bisections: number;
}

/** Trials stop once L/L₀ passes this (the configuration has diverged). */
export const P3_CAP = 1e150;

/** The outcome at one grid point. */
export interface P3Point {
  batch: number;
  eta: number;
  rho: number;
  condition: StabilityCondition;
  exact: GrowthFactor;
  /** stable: upper bound < 1; unstable: lower bound > 1; else undecided. */
  exactVerdict: "stable" | "unstable" | "undecided";
  /** Mean and median over trials of L_T/L₀, and trials stopped at the cap. */
  mcMean: number;
  mcMedian: number;
  mcCapped: number;
  mcVerdict: "stable" | "diverged";
}

/** A grid point of the control: full-batch USAM, deterministic, growth in closed form. */
export interface P3ControlPoint {
  batch: number;
  eta: number;
  rho: number;
  satisfied: boolean;
  growth: number;
  verdict: "stable" | "unstable";
}

/** A point of a boundary curve in the (η, ρ) plane. */
export interface BoundaryPoint {
  batch: number;
  eta: number;
  rho: number;
}

/** Everything P3 computes. */
export interface P3Result {
  points: P3Point[];
  /** Theorem 4.1's boundary (lhs = rhs) per batch size. */
  predicted: BoundaryPoint[];
  /** Where the exact growth factor crosses 1, per batch size (only ρ within the grid's range). */
  exactBoundary: BoundaryPoint[];
  control: P3ControlPoint[];
  verdict: Verdict;
}

function exactVerdict(g: GrowthFactor): P3Point["exactVerdict"] {
  const upper = g.upper ?? g.factor;
  const lower = g.lower ?? g.factor;
  return upper < 1 ? "stable" : lower > 1 ? "unstable" : "undecided";
}

/** Runs the grid, the boundary curves and the check. */
export function computeP3(ctx: LsContext, band: Band, options: P3Options): P3Result {
  const { spectrum } = ctx.base;
  const f = spectrum.frobenius2;
  const gamma = ctx.gamma;
  const progress = createProgress(
    "theory p3",
    options.batchSizes.length * options.etas.length * options.rhos.length,
  );
  const points: P3Point[] = [];
  for (const batch of options.batchSizes) {
    for (const eta of options.etas) {
      for (const rho of options.rhos) {
        const condition = usamStabilityCondition({ eta, rho, batch, gamma, frobenius2: f });
        const exact = momentGrowthFactor(spectrum, { eta, rho, batch, batches: "shared" }, options);
        const mc = runLsTrials(ctx.base, {
          eta,
          rho,
          batch,
          batches: "shared",
          steps: options.steps,
          trials: options.trials,
          key: (i) => rngKey(ctx.seed, "theory", "p3", "batch", batch, "trial", i),
          cap: P3_CAP,
          curves: false,
        });
        const sorted = Float64Array.from(mc.final).sort();
        const mcMean = mean(mc.final);
        points.push({
          batch,
          eta,
          rho,
          condition,
          exact,
          exactVerdict: exactVerdict(exact),
          mcMean,
          mcMedian: quantileSorted(sorted, 0.5),
          mcCapped: mc.capped,
          mcVerdict: mcMean > 1 || mc.capped > 0 ? "diverged" : "stable",
        });
        progress.tick(1, `B=${batch} η=${eta} ρ=${rho}`);
      }
    }
  }
  progress.finish();
  const predicted = predictedBoundary(options, gamma, f);
  const exactBoundary = exactBoundaryCurve(ctx, options);
  const control = points.map((p): P3ControlPoint => {
    const growth = fullBatchGrowth(spectrum, p);
    const { batch, eta, rho } = p;
    const verdict = growth > 1 ? "unstable" : "stable";
    return { batch, eta, rho, satisfied: p.condition.satisfied, growth, verdict };
  });
  return {
    points,
    predicted,
    exactBoundary,
    control,
    verdict: p3Verdict(ctx, band, points, control, options),
  };
}

function predictedBoundary(options: P3Options, gamma: number, f: number): BoundaryPoint[] {
  const out: BoundaryPoint[] = [];
  const etaMax = Math.max(...options.etas);
  for (const batch of options.batchSizes) {
    // The curve ends on the η axis at SGD's bound η = √(B/(γ‖H‖_F²)).
    const etaEnd = Math.sqrt(batch / (gamma * f));
    const rhoTop = Math.max(...options.rhos) * 1.05;
    for (let i = 0; i <= 200; i++) {
      const eta = Math.min(etaMax, etaEnd) * (0.02 + (0.98 * i) / 200);
      const rho = boundaryRho({ eta, batch, gamma, frobenius2: f });
      if (rho !== null && rho <= rhoTop) out.push({ batch, eta, rho });
    }
    if (etaEnd <= etaMax) out.push({ batch, eta: etaEnd, rho: 0 });
  }
  return out;
}

function exactBoundaryCurve(ctx: LsContext, options: P3Options): BoundaryPoint[] {
  if (options.boundaryEtas === 0) return [];
  const out: BoundaryPoint[] = [];
  const etaMin = Math.min(...options.etas);
  const etaMax = Math.max(...options.etas);
  const rhoMax = Math.max(...options.rhos);
  const iterations = Math.ceil(options.iterations / 2);
  for (const batch of options.batchSizes) {
    for (let i = 0; i < options.boundaryEtas; i++) {
      const eta = options.boundaryEtas === 1
        ? etaMin
        : etaMin + ((etaMax - etaMin) * i) / (options.boundaryEtas - 1);
      const grows = (rho: number) =>
        momentGrowthFactor(ctx.base.spectrum, { eta, rho, batch, batches: "shared" }, {
          iterations,
        }).factor > 1;
      if (grows(0) || !grows(rhoMax)) continue;
      let lo = 0;
      let hi = rhoMax;
      for (let k = 0; k < options.bisections; k++) {
        const mid = (lo + hi) / 2;
        if (grows(mid)) hi = mid;
        else lo = mid;
      }
      out.push({ batch, eta, rho: (lo + hi) / 2 });
    }
  }
  return out;
}

/** One grid point as the check sees it, whatever produced it. */
export interface StabilityJudgement {
  batch: number;
  eta: number;
  rho: number;
  /** Theorem 4.1's condition fails. */
  violates: boolean;
  /** Judged stable (for the mini-batch grid: exactly or in simulation). */
  stable: boolean;
  /** Judged unstable exactly (for SGD at ρ = 0, the reference of part 2). */
  unstable: boolean;
}

/** The stability edges in ‖H‖_F² at one (η, ρ, B) that parts 3 and 4 compare. */
export interface StabilityEdges {
  usamExact: number;
  sgdExact: number;
  /** USAM's necessary bound from the condition. */
  usamBound: number;
}

/** The outcome of the P3 check on one set of judgements and edges. */
export interface P3Check {
  pass: boolean;
  violators: number;
  stableViolators: number;
  /** (η, B, ρ > 0) where SGD is exactly unstable but USAM is not. */
  usamOutsideSgd: number;
  /** (η, B) pairs that have an SGD (ρ = 0) point, and USAM points at ρ > 0 compared. */
  comparedPairs: number;
  edgeBelow: boolean;
  bandNonEmpty: boolean;
}

/** The four parts of the P3 check (see the module doc). */
export function p3Check(points: StabilityJudgement[], edges: StabilityEdges): P3Check {
  const violators = points.filter((p) => p.violates);
  const stableViolators = violators.filter((p) => p.stable).length;
  let usamOutsideSgd = 0;
  let comparedPairs = 0;
  for (const sgd of points.filter((p) => p.rho === 0 && p.unstable)) {
    const usam = points.filter((p) => p.batch === sgd.batch && p.eta === sgd.eta && p.rho > 0);
    if (usam.length > 0) comparedPairs++;
    usamOutsideSgd += usam.filter((p) => !p.unstable).length;
  }
  const edgeBelow = edges.usamExact < edges.sgdExact;
  const bandNonEmpty = edges.usamBound < edges.sgdExact;
  const pass = violators.length > 0 && stableViolators === 0 && usamOutsideSgd === 0 &&
    edgeBelow && bandNonEmpty;
  return {
    pass,
    violators: violators.length,
    stableViolators,
    usamOutsideSgd,
    comparedPairs,
    edgeBelow,
    bandNonEmpty,
  };
}

function describeCheck(c: P3Check, edges: StabilityEdges): string {
  return `${
    c.violators - c.stableViolators
  } of ${c.violators} violators of the condition diverge; ` +
    `USAM stable where SGD is not: ${c.usamOutsideSgd} (over ${c.comparedPairs} SGD-unstable ` +
    `(η, B)); USAM's exact edge ‖H‖_F² = ${fmt(edges.usamExact)} ${c.edgeBelow ? "<" : "≥"} SGD's ${
      fmt(edges.sgdExact)
    }; USAM's bound ${fmt(edges.usamBound)}: band ${c.bandNonEmpty ? "non-empty" : "EMPTY"}`;
}

/** ‖H‖_F² where full-batch growth crosses 1 at (η, ρ): bisection on the input scale. */
function fullBatchEdge(ctx: LsContext, eta: number, rho: number): number {
  const grows = (s: number) =>
    fullBatchGrowth(lsSpectrum(scaleProblem(ctx.base.problem, Math.exp(s))), { eta, rho }) > 1;
  let lo = -8;
  let hi = 8;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (grows(mid)) hi = mid;
    else lo = mid;
  }
  return ctx.base.spectrum.frobenius2 * Math.exp(4 * lo);
}

function p3Control(
  ctx: LsContext,
  band: Band,
  control: P3ControlPoint[],
): Control {
  const { eta, rho } = band.options;
  const edges = {
    usamExact: fullBatchEdge(ctx, eta, rho),
    sgdExact: fullBatchEdge(ctx, eta, 0),
    usamBound: band.usamMax,
  };
  const check = p3Check(
    control.map((p) => ({
      ...p,
      violates: !p.satisfied,
      stable: p.verdict === "stable",
      unstable: p.verdict === "unstable",
    })),
    edges,
  );
  return {
    setting: "full-batch USAM on the same grid: no mini-batch noise, Assumption 4.1 fails",
    detected: !check.pass,
    line: `the check says ${check.pass ? "PASS" : "FAIL"}: ${describeCheck(check, edges)}`,
    measured: `${check.stableViolators}/${check.violators} violators stay stable`,
    numbers: { ...check, ...edges },
  };
}

function p3Verdict(
  ctx: LsContext,
  band: Band,
  points: P3Point[],
  control: P3ControlPoint[],
  options: P3Options,
): Verdict {
  const edges = { usamExact: band.usamExact, sgdExact: band.sgdExact, usamBound: band.usamMax };
  const check = p3Check(
    points.map((p) => ({
      ...p,
      violates: !p.condition.satisfied,
      stable: p.mcVerdict === "stable" || p.exactVerdict !== "unstable",
      unstable: p.exactVerdict === "unstable",
    })),
    edges,
  );
  const satisfied = points.filter((p) => p.condition.satisfied);
  const satisfiedDiverged = satisfied.filter((p) => p.mcVerdict === "diverged").length;
  const satisfiedUnstable = satisfied.filter((p) => p.exactVerdict === "unstable").length;
  const agree =
    points.filter((p) => (p.mcVerdict === "diverged") === (p.exactVerdict === "unstable")).length;
  const target = band.target.spectrum.frobenius2;
  const { alignment, sampled } = ctx;
  const independentBelow = band.usamExactIndependent < band.sgdExact;
  return {
    claim: "P3",
    statement: "Theorem 4.1 (linear stability of USAM)",
    pass: check.pass,
    line: `shared-batch USAM (Eq. 4), ${points.length} (η, ρ, B), ${options.trials} trials × ` +
      `${options.steps} steps and exact E[L̃] growth: ${describeCheck(check, edges)} ` +
      `(at η = ${band.options.eta}, ρ = ${band.options.rho}, B = ${band.options.batch}). ` +
      `Of the ${satisfied.length} that satisfy the condition, ${satisfiedDiverged} diverge in ` +
      `simulation and ${satisfiedUnstable} exactly (necessary, not sufficient); simulation and ` +
      `exact agree on ${agree}/${points.length}. γ = ${fmt(alignment.min, 4)} (exact inf; random ` +
      `directions: min ${fmt(sampled.min, 3)}, median ${fmt(sampled.median, 3)}); P1's minimum ` +
      `at ‖H‖_F² = ${fmt(target)}`,
    measured: `${check.violators - check.stableViolators}/${check.violators} violators diverge; ` +
      `edge USAM ${fmt(band.usamExact)} vs SGD ${fmt(band.sgdExact)}`,
    predicted: `all violators diverge; USAM's edge < SGD's; bound ${fmt(band.usamMax)} < SGD edge`,
    numbers: {
      configurations: points.length,
      violators: check.violators,
      stableViolators: check.stableViolators,
      usamStableWhereSgdUnstable: check.usamOutsideSgd,
      sgdUnstablePairsCompared: check.comparedPairs,
      usamEdgeBelowSgd: check.edgeBelow,
      satisfiedDivergedSimulation: satisfiedDiverged,
      satisfiedUnstableExact: satisfiedUnstable,
      simulationAgreesWithExact: agree,
      undecidedExact: points.filter((p) => p.exactVerdict === "undecided").length,
      gammaExactMin: alignment.min,
      gammaExactMax: alignment.max,
      gammaSampledMin: sampled.min,
      gammaSampledMedian: sampled.median,
      frobenius2: ctx.base.spectrum.frobenius2,
      lambdaMax: ctx.base.spectrum.lambdaMax,
      bandUsamMax: band.usamMax,
      bandSgdExact: band.sgdExact,
      bandSgdMax: band.sgdMax,
      bandUsamExact: band.usamExact,
      bandUsamExactIndependent: band.usamExactIndependent,
      bandTarget: target,
    },
    control: p3Control(ctx, band, control),
    variants: [{
      setting: "independent ascent and descent batches",
      pass: independentBelow,
      line: `USAM's exact edge ‖H‖_F² = ${fmt(band.usamExactIndependent)} ${
        independentBelow ? "<" : "≥"
      } SGD's ${fmt(band.sgdExact)} (shared batch: ${fmt(band.usamExact)})`,
      measured: `edge ${fmt(band.usamExactIndependent)} vs SGD ${fmt(band.sgdExact)}`,
    }],
  };
}
