/**
 * The linear-stability condition of USAM (the paper's Theorem 4.1) and the escape rate of
 * Corollary 4.2, in the form reconstructed in docs/paper.md#theory (inferred):
 *
 *     ‖H‖_F² · (1 + ρ²γ‖H‖_F²/B) ≤ B/(η²γ)          (necessary for stability)
 *     E[L̃(θᵗ)] ≥ Cᵗ·E[L̃(θ⁰)],  C = (η²γ/B)·‖H‖_F²·(1 + ρ²γ‖H‖_F²/B)
 *
 * Derivation (independent ascent and descent batches, Assumption 4.1 with constant γ): the
 * ascent step gives E L̃(θ^{t+½}) ≥ (1 + ρ²γ‖H‖_F²/B)·E L̃(θᵗ) and the descent step's noise
 * gives E L̃(θ^{t+1}) ≥ (η²γ‖H‖_F²/B)·E L̃(θ^{t+½}); their product is C. The condition is
 * C ≤ 1. With ρ = 0 it is Wu, Wang & Su's SGD condition ‖H‖_F² ≤ B/(η²γ).
 *
 * @module
 */

/** What the condition needs: hyper-parameters, the alignment γ and ‖H‖_F². */
export interface ConditionInputs {
  eta: number;
  rho: number;
  batch: number;
  gamma: number;
  frobenius2: number;
}

/** Both sides of Theorem 4.1's inequality and the lower bound C on the growth of E[L̃]. */
export interface StabilityCondition {
  /** ‖H‖_F²·(1 + ρ²γ‖H‖_F²/B). */
  lhs: number;
  /** B/(η²γ). */
  rhs: number;
  /** lhs ≤ rhs: the necessary condition holds. */
  satisfied: boolean;
  /** C = lhs/rhs: a lower bound on the per-step growth factor of E[L̃]. */
  growthBound: number;
}

/** Evaluates Theorem 4.1's condition (and Corollary 4.2's C) at one configuration. */
export function usamStabilityCondition(inputs: ConditionInputs): StabilityCondition {
  const { eta, rho, batch, gamma, frobenius2: f } = inputs;
  const lhs = f * (1 + (rho * rho * gamma * f) / batch);
  const rhs = batch / (eta * eta * gamma);
  return { lhs, rhs, satisfied: lhs <= rhs, growthBound: lhs / rhs };
}

/**
 * The band of docs/paper.md#theory in ‖H‖_F²: USAM's condition allows at most `usamMax` =
 * B(√(1 + 4ρ²/η²) − 1)/(2ρ²γ), SGD's at most `sgdMax` = B/(η²γ); minima in between pass
 * SGD's necessary condition and fail USAM's.
 */
export function stabilityBand(
  inputs: Omit<ConditionInputs, "frobenius2">,
): { usamMax: number; sgdMax: number } {
  const { eta, rho, batch, gamma } = inputs;
  const sgdMax = batch / (eta * eta * gamma);
  if (rho === 0) return { usamMax: sgdMax, sgdMax };
  // Solve f + (ρ²γ/B)f² = B/(η²γ) for f > 0, in the cancellation-free form 2c/(1 + √(1 + 4ac)).
  const a = (rho * rho * gamma) / batch;
  const usamMax = (2 * sgdMax) / (1 + Math.sqrt(1 + 4 * a * sgdMax));
  return { usamMax, sgdMax };
}

/**
 * The boundary of the condition in the (η, ρ) plane at fixed B, γ and ‖H‖_F²: the ρ at which
 * lhs = rhs, ρ = √((B/(η²γ‖H‖_F²) − 1)·B/(γ‖H‖_F²)); `null` when even ρ = 0 violates it.
 */
export function boundaryRho(inputs: Omit<ConditionInputs, "rho">): number | null {
  const { eta, batch, gamma, frobenius2: f } = inputs;
  const slack = batch / (eta * eta * gamma * f) - 1;
  return slack < 0 ? null : Math.sqrt((slack * batch) / (gamma * f));
}
