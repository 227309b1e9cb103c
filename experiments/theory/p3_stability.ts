/**
 * P3, Theorem 4.1 (linear stability of USAM) on over-parameterized least squares.
 *
 * Over a grid of (η, ρ, B): seeded mini-batch USAM trials from θ₀ near θ* (stable when the
 * mean loss over trials ends below where it started), the exact growth factor of E[L̃] (the
 * moment recursion), and the reconstructed condition ‖H‖_F²(1 + ρ²γ‖H‖_F²/B) ≤ B/(η²γ) with
 * γ the exact infimum of the alignment. The check: no configuration that violates the
 * condition stays stable. Plus the band of minima SGD tolerates and USAM leaves (band.ts).
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
import type { Band } from "./band.ts";
import { fmt } from "../../core/format.ts";
import { mean, quantileSorted } from "../../core/stats.ts";
import type { Verdict } from "./common.ts";
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
        const exact = momentGrowthFactor(spectrum, { eta, rho, batch }, options);
        const mc = runLsTrials(ctx.base, {
          eta,
          rho,
          batch,
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
  return { points, predicted, exactBoundary, verdict: p3Verdict(ctx, band, points, options) };
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
        momentGrowthFactor(ctx.base.spectrum, { eta, rho, batch }, { iterations }).factor > 1;
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

function p3Verdict(ctx: LsContext, band: Band, points: P3Point[], options: P3Options): Verdict {
  const violators = points.filter((p) => !p.condition.satisfied);
  const satisfied = points.filter((p) => p.condition.satisfied);
  const stableViolators = violators.filter((p) =>
    p.mcVerdict === "stable" || p.exactVerdict !== "unstable"
  );
  const satisfiedDiverged = satisfied.filter((p) => p.mcVerdict === "diverged").length;
  const satisfiedUnstable = satisfied.filter((p) => p.exactVerdict === "unstable").length;
  const agree =
    points.filter((p) => (p.mcVerdict === "diverged") === (p.exactVerdict === "unstable")).length;
  const target = band.target.spectrum.frobenius2;
  const bandOk = band.nonEmpty && target > band.usamMax && target < band.sgdExact;
  const pass = violators.length > 0 && stableViolators.length === 0 && bandOk;
  const { alignment, sampled } = ctx;
  return {
    claim: "P3",
    statement: "Theorem 4.1 (linear stability of USAM)",
    pass,
    line: `${violators.length} of ${points.length} (η, ρ, B) violate the condition and ` +
      `${violators.length - stableViolators.length} of them diverge (mean of ${options.trials} ` +
      `trials × ${options.steps} steps, and exact E[L̃] growth > 1); of the ${satisfied.length} ` +
      `that satisfy it, ${satisfiedDiverged} diverge in simulation and ${satisfiedUnstable} exactly ` +
      `(the condition is necessary, not sufficient); simulation and exact agree on ${agree}/${points.length}. ` +
      `γ = ${fmt(alignment.min, 4)} (exact inf; random directions: min ${fmt(sampled.min, 3)}, ` +
      `median ${
        fmt(sampled.median, 3)
      }). Band at η = ${band.options.eta}, ρ = ${band.options.rho}, ` +
      `B = ${band.options.batch}: USAM's bound ‖H‖_F² ≤ ${fmt(band.usamMax)}, SGD's exact edge ` +
      `${fmt(band.sgdExact)} (SGD's bound ${fmt(band.sgdMax)}): ${
        band.nonEmpty ? "non-empty" : "EMPTY"
      }, minimum built at ‖H‖_F² = ${fmt(target)}`,
    measured:
      `${violators.length - stableViolators.length}/${violators.length} violators diverge; ` +
      `band [${fmt(band.usamMax)}, ${fmt(band.sgdExact)}]`,
    predicted: `all violators diverge; band [B(√(1+4ρ²/η²)−1)/(2ρ²γ), SGD edge] non-empty`,
    numbers: {
      configurations: points.length,
      violators: violators.length,
      stableViolators: stableViolators.length,
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
      bandTarget: target,
    },
  };
}
