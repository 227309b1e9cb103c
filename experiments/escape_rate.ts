/**
 * The linearized prediction of Figure 4(b)'s escape rate, and the three-way verdicts its
 * checks share. Near the converged point θ* the loss is quadratic, L(θ*+δ) ≈ L* + ½δᵀHδ, and a
 * mini-batch gradient is g_B = Hδ + ξ_B (ξ_B the batch's gradient noise). Along the top
 * eigendirection (eigenvalue λ) each update rule multiplies the displacement x = vᵀδ by a
 * factor, and the loss excess ½λx² by its square (derivation: docs/sharpness.md#escape-rate):
 *
 * - SGD, heavy ball: x_{t+1} = (1 + β − a)x_t − βx_{t−1} with a = η(λ + wd); the factor is the
 *   spectral radius r(a, β) ({@link heavyBallRadius});
 * - SAM with ε = ρ·g_B/‖g_B‖ on the same batch: the descent gradient is
 *   (I + (ρ/‖g_B‖)H)g_B, so SAM is USAM with the effective radius ρ/‖g_B‖, and a = η(λ(1 +
 *   ρλ/σ) + wd) with σ = ‖g_B(θ₀)‖ measured at the start. At an exact minimum (σ → 0) the
 *   effective radius is unbounded: no linear phase, the first step jumps a distance ≈ ηλρ;
 * - ascent only (θ ← θ + ρ·g_B/‖g_B‖): x_{t+1} = (1 + ρλ/σ)x_t, lr and momentum unused.
 *
 * @module
 */
import { type PairedDifference, pairedDifference } from "../core/stats.ts";
import type { Verdict } from "./trends.ts";

/** The update rules of Figure 4(b). */
export type EscapeVariant = "sgd" | "sam" | "ascent";

/** What the prediction needs: measured at the starting point, and the steps' settings. */
export interface EscapeRateInputs {
  /** Top Hessian eigenvalue at the start (Lanczos). */
  lambda: number;
  /** σ: the mean norm of the first step's mini-batch gradient over the trials. */
  gradNorm: number;
  lr: number;
  rho: number;
  momentum: number;
  weightDecay: number;
}

/** A predicted per-step growth factor of the loss excess, with the gain behind it. */
export interface EscapeRatePrediction {
  /** The per-step gain a of the linear recursion (ascent: ρλ/σ). */
  gain: number;
  /** Predicted growth factor of the loss excess per step (the displacement's, squared). */
  growth: number;
}

/**
 * The spectral radius of the heavy-ball recursion x_{t+1} = (1 + β − a)x_t − βx_{t−1}, the
 * largest |z| over the roots of z² − (1 + β − a)z + β = 0 (β = 0: |1 − a|). It exceeds 1
 * exactly when a < 0 or a > 2(1 + β), SGD-with-momentum's stability edge.
 */
export function heavyBallRadius(gain: number, momentum: number): number {
  const c = 1 + momentum - gain;
  const disc = c * c - 4 * momentum;
  // Complex pair: both roots have modulus √β.
  if (disc < 0) return Math.sqrt(momentum);
  const root = Math.sqrt(disc);
  return Math.max(Math.abs((c + root) / 2), Math.abs((c - root) / 2));
}

/**
 * The linearized per-step growth factor of the loss excess along the top eigendirection for
 * one update rule (module doc; the derivation in docs/sharpness.md#escape-rate).
 */
export function predictEscapeRate(
  variant: EscapeVariant,
  inputs: EscapeRateInputs,
): EscapeRatePrediction {
  const { lambda, gradNorm, lr, rho, momentum, weightDecay } = inputs;
  if (variant === "ascent") {
    const gain = (rho * lambda) / gradNorm;
    return { gain, growth: (1 + gain) ** 2 };
  }
  // SAM is USAM with the effective radius ρ/σ; SGD is its ρ = 0 case.
  const effectiveRadius = variant === "sam" ? rho / gradNorm : 0;
  const gain = lr * (lambda * (1 + effectiveRadius * lambda) + weightDecay);
  return { gain, growth: heavyBallRadius(gain, momentum) ** 2 };
}

/**
 * Whether a quantity exceeds `margin`, judged by its 95 % t-interval: "pass" when the whole
 * interval lies at or above the margin, "fail" when it lies below, "unresolved" when it
 * contains the margin or has no width (fewer than 2 trials).
 */
export function aboveMargin(interval: PairedDifference, margin: number): Verdict {
  if (!(interval.n >= 2) || !Number.isFinite(interval.halfWidth)) return "unresolved";
  if (interval.lo >= margin) return "pass";
  if (interval.hi < margin) return "fail";
  return "unresolved";
}

/** The converse claim of {@link aboveMargin}: the quantity stays below `margin`. */
export function belowMargin(interval: PairedDifference, margin: number): Verdict {
  const above = aboveMargin(interval, margin);
  return above === "pass" ? "fail" : above === "fail" ? "pass" : "unresolved";
}

/**
 * How far the mean mini-batch gradient norm may grow over σ while the linearization holds:
 * its effective radius ρ/‖g_B‖ then stays within a factor 2 of ρ/σ. Figure 4(b)'s fit window
 * ends at the first step beyond it ({@link linearRegimeEnd}).
 */
export const LINEAR_REGIME_GRADIENT_GROWTH = 2;

/**
 * The last step whose excess the linear regime still reaches: the first step t ≥ 1 whose
 * mean gradient norm exceeds {@link LINEAR_REGIME_GRADIENT_GROWTH}·σ (the steps up to t were
 * taken with ‖g_B‖ ≤ 2σ), or the last index when none does. `gradNorms[t]` is the mean
 * ‖g_B(θ_t)‖ for t = 0…steps (σ = gradNorms[0]; NaN after the last step, where none is taken).
 */
export function linearRegimeEnd(gradNorms: readonly number[]): number {
  const limit = LINEAR_REGIME_GRADIENT_GROWTH * gradNorms[0];
  const beyond = gradNorms.findIndex((g, t) => t >= 1 && g > limit);
  return beyond === -1 ? gradNorms.length - 1 : beyond;
}

/**
 * Whether a fitted growth factor agrees with its prediction: both on the same side of 1
 * (growth or none) and within a factor `band` (ratio fitted/predicted in [1/band, band]);
 * "unresolved" when there is no fit (the excess saturated, never rose or left the linear
 * regime before the window had its minimum of points) or no finite prediction.
 */
export function ratioVerdict(fitted: number | null, predicted: number, band: number): Verdict {
  if (fitted === null || !Number.isFinite(fitted) || !(predicted > 0)) return "unresolved";
  if (fitted > 1 !== predicted > 1) return "fail";
  const ratio = fitted / predicted;
  return ratio >= 1 / band && ratio <= band ? "pass" : "fail";
}

/**
 * The paired contrasts of the loss excess after the last step, per trial (arrays aligned by
 * trial, i.e. by batch order): SAM − SGD, ascent − SGD, and the SGD control against zero (no
 * change from the start), each the mean with its 95 % Student-t interval.
 */
export function escapeContrasts(
  finalExcess: Readonly<Record<EscapeVariant, readonly number[]>>,
): Record<EscapeVariant, PairedDifference> {
  const { sgd, sam, ascent } = finalExcess;
  return {
    sgd: pairedDifference(sgd, sgd.map(() => 0)),
    sam: pairedDifference(sam, sgd),
    ascent: pairedDifference(ascent, sgd),
  };
}

/**
 * The verdicts on {@link escapeContrasts} with the escape margin Δ: SAM and ascent-only each
 * end more than Δ above the SGD control ({@link aboveMargin}), and the control itself stays
 * below Δ ({@link belowMargin}).
 */
export function escapeVerdicts(
  contrasts: Readonly<Record<EscapeVariant, PairedDifference>>,
  margin: number,
): Record<EscapeVariant, Verdict> {
  return {
    sgd: belowMargin(contrasts.sgd, margin),
    sam: aboveMargin(contrasts.sam, margin),
    ascent: aboveMargin(contrasts.ascent, margin),
  };
}
