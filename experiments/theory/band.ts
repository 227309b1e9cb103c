/**
 * The band of docs/paper.md#theory on the least-squares problem: minima that SGD tolerates but USAM
 * leaves. Scaling the inputs by s scales H by s² and ‖H‖_F² by s⁴ and leaves γ unchanged,
 * so one problem family sweeps ‖H‖_F² at a fixed (η, ρ, B).
 *
 * The band's edges per docs/paper.md#theory are both necessary conditions: USAM's (Theorem 4.1, with the
 * exact infimum γ) and SGD's (Wu et al.). SGD's real stability edge, where the exact growth
 * factor of E[L̃] under SGD reaches 1, lies below SGD's necessary bound, so the constructed
 * minimum is placed between USAM's bound and SGD's exact edge: there SGD is stable (exactly)
 * and USAM's condition fails (C > 1). USAM runs as the paper's Eq. 4 (one batch for both
 * passes); its exact edge with independent ascent and descent batches is kept as a variant.
 *
 * @module
 */
import { scaleProblem } from "../../models/theory/least_squares.ts";
import { type BatchPairing, momentGrowthFactor } from "../../models/theory/second_moment.ts";
import { stabilityBand, usamStabilityCondition } from "../../models/theory/stability_bound.ts";
import { type LsContext, type LsInstance, lsInstance } from "./ls_setup.ts";

/** Settings of the band construction (shared with P1). */
export interface BandOptions {
  eta: number;
  rho: number;
  batch: number;
  /** Where the constructed minimum sits, 0…1 on a log scale from USAM's bound to SGD's exact edge. */
  position: number;
  /** Points of the ‖H‖_F² sweep. */
  sweepPoints: number;
  /** Power iterations per growth factor. */
  iterations: number;
  /** Bisection steps for the exact edges. */
  bisections: number;
}

/** One point of the sweep over ‖H‖_F². */
export interface BandPoint {
  frobenius2: number;
  scale: number;
  /** Exact per-step growth of E[L̃] under SGD and USAM. */
  sgdGrowth: number;
  usamGrowth: number;
  /** Corollary 4.2's lower bound C for USAM, and its SGD analogue η²γ‖H‖_F²/B. */
  usamBound: number;
  sgdBound: number;
}

/** The band and the constructed minimum. */
export interface Band {
  options: BandOptions;
  gamma: number;
  /** USAM's necessary bound on ‖H‖_F² (Thm 4.1) and SGD's (Wu et al.). */
  usamMax: number;
  sgdMax: number;
  /** ‖H‖_F² where the exact growth factor of SGD / USAM (shared batch, Eq. 4) crosses 1. */
  sgdExact: number;
  usamExact: number;
  /** The same edge for USAM with independent ascent and descent batches (the variant). */
  usamExactIndependent: number;
  /** usamMax < sgdExact: SGD-stable minima that fail USAM's condition exist. */
  nonEmpty: boolean;
  /** The constructed minimum: the problem scaled to the target ‖H‖_F². */
  target: LsInstance;
  targetScale: number;
  /** At the constructed minimum: the exact growth factors and Corollary 4.2's C. */
  targetSgdGrowth: number;
  targetUsamGrowth: number;
  targetBound: number;
  sweep: BandPoint[];
}

function scaled(ctx: LsContext, s: number): LsInstance {
  return lsInstance(scaleProblem(ctx.base.problem, s), ctx.direction, ctx.startLoss);
}

/** ‖H‖_F² at which the exact growth factor crosses 1 (bisection on the log of the scale). */
function exactEdge(
  ctx: LsContext,
  options: BandOptions,
  rho: number,
  batches: BatchPairing = "shared",
): number {
  const hyper = { eta: options.eta, rho, batch: options.batch, batches };
  const grows = (s: number) =>
    momentGrowthFactor(scaled(ctx, s).spectrum, hyper, { iterations: options.iterations })
      .factor > 1;
  let lo = -8;
  let hi = 8;
  if (grows(Math.exp(lo)) || !grows(Math.exp(hi))) {
    throw new RangeError("the exact stability edge is outside scales e^±8");
  }
  for (let i = 0; i < options.bisections; i++) {
    const mid = (lo + hi) / 2;
    if (grows(Math.exp(mid))) hi = mid;
    else lo = mid;
  }
  return ctx.base.spectrum.frobenius2 * Math.exp(4 * lo);
}

/** Builds the band, sweeps ‖H‖_F² across it and constructs the minimum inside it. */
export function computeBand(ctx: LsContext, options: BandOptions): Band {
  const { eta, rho, batch } = options;
  const gamma = ctx.gamma;
  const f0 = ctx.base.spectrum.frobenius2;
  const { usamMax, sgdMax } = stabilityBand({ eta, rho, batch, gamma });
  const sgdExact = exactEdge(ctx, options, 0);
  const usamExact = exactEdge(ctx, options, rho);
  const usamExactIndependent = exactEdge(ctx, options, rho, "independent");
  const targetF = usamMax ** (1 - options.position) * sgdExact ** options.position;
  const targetScale = (targetF / f0) ** 0.25;
  const lo = Math.log(Math.min(usamExact, usamMax) / 3);
  const hi = Math.log(Math.max(sgdMax, sgdExact) * 1.5);
  const sweep = Array.from({ length: options.sweepPoints }, (_, i): BandPoint => {
    const frobenius2 = Math.exp(lo + ((hi - lo) * i) / (options.sweepPoints - 1));
    const scale = (frobenius2 / f0) ** 0.25;
    const { spectrum } = scaled(ctx, scale);
    const growth = (r: number) =>
      momentGrowthFactor(spectrum, { eta, rho: r, batch, batches: "shared" }, {
        iterations: options.iterations,
      }).factor;
    const cond = (r: number) =>
      usamStabilityCondition({ eta, rho: r, batch, gamma, frobenius2: spectrum.frobenius2 })
        .growthBound;
    return {
      frobenius2: spectrum.frobenius2,
      scale,
      sgdGrowth: growth(0),
      usamGrowth: growth(rho),
      usamBound: cond(rho),
      sgdBound: cond(0),
    };
  });
  const target = scaled(ctx, targetScale);
  const at = (r: number) =>
    momentGrowthFactor(target.spectrum, { eta, rho: r, batch, batches: "shared" }, options).factor;
  return {
    options,
    gamma,
    usamMax,
    sgdMax,
    sgdExact,
    usamExact,
    usamExactIndependent,
    nonEmpty: usamMax < sgdExact,
    target,
    targetScale,
    targetSgdGrowth: at(0),
    targetUsamGrowth: at(rho),
    targetBound: usamStabilityCondition({
      eta,
      rho,
      batch,
      gamma,
      frobenius2: target.spectrum.frobenius2,
    }).growthBound,
    sweep,
  };
}
