/**
 * Full-batch USAM on least squares, the negative control of P1 and P3: without mini-batch
 * noise the gradient-noise covariance S is zero, so Assumption 4.1 (Tr(SH) ≥ γ·2L̃·‖H‖_F²,
 * γ > 0) fails, and the stability condition and the escape rate C, which come from that
 * noise, should stop predicting what happens.
 *
 * The step is deterministic and diagonal in the eigenbasis of H: each range coordinate is
 * multiplied by 1 − ηλ_k(1 + ρλ_k) per step, so everything is in closed form.
 *
 * @module
 */
import type { HessianSpectrum } from "../../models/theory/least_squares.ts";

/** The per-step factor of coordinate k: 1 − ηλ_k(1 + ρλ_k). */
function factor(lambda: number, eta: number, rho: number): number {
  return 1 - eta * lambda * (1 + rho * lambda);
}

/** The per-step growth of L̃ in its slowest-decaying direction: max_k (1 − ηλ_k(1 + ρλ_k))². */
export function fullBatchGrowth(
  spectrum: HessianSpectrum,
  hyper: { eta: number; rho: number },
): number {
  let max = 0;
  for (const lambda of spectrum.lambda) {
    max = Math.max(max, factor(lambda, hyper.eta, hyper.rho) ** 2);
  }
  return max;
}

/** L̃_t/L̃₀ for t = 0…steps of full-batch USAM from range coordinates `start`. */
export function fullBatchLossCurve(
  spectrum: HessianSpectrum,
  start: Float64Array,
  hyper: { eta: number; rho: number; steps: number },
): Float64Array {
  const { lambda } = spectrum;
  const out = new Float64Array(hyper.steps + 1);
  for (let t = 0; t <= hyper.steps; t++) {
    let s = 0;
    for (let k = 0; k < lambda.length; k++) {
      s += lambda[k] * start[k] ** 2 * factor(lambda[k], hyper.eta, hyper.rho) ** (2 * t);
    }
    out[t] = s;
  }
  return out.map((v) => v / out[0]);
}
