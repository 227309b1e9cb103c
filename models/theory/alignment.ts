/**
 * The noise alignment γ of the paper's Assumption 4.1 on least squares (docs/paper.md#theory):
 *
 *     Tr(S(θ)·H) ≥ γ · 2L̃(θ) · ‖H‖_F²,
 *
 * S(θ) being the covariance of the per-sample gradients at θ (a mini-batch of B has S/B).
 * On least squares both sides are quadratic forms in δ = θ − θ*: with gᵢ = (xᵢᵀδ)xᵢ,
 * Tr(S·H) = (1/n)Σᵢ gᵢᵀHgᵢ − ḡᵀHḡ and 2L̃ = δᵀHδ. So the ratio
 *
 *     γ(δ) = Tr(S(δ)·H) / (δᵀHδ · ‖H‖_F²)
 *
 * depends only on the direction of δ within range(H), is invariant to scaling the data, and
 * its infimum over all directions (the γ that makes the assumption true everywhere) is the
 * smallest eigenvalue of a generalized symmetric eigenproblem: exact, not sampled.
 *
 * @module
 */
import { mean } from "../../core/stats.ts";
import { createRng, type RngKey } from "../../core/random.ts";
import type { HessianSpectrum, LeastSquares } from "./least_squares.ts";
import { column, dot, symmetricEigen } from "./linalg.ts";

/**
 * γ(δ) computed in parameter space straight from the per-sample gradients (no spectrum):
 * the definition, used to sample random directions and to cross-check {@link alignmentRange}.
 *
 * @returns `NaN` when δ has no component in range(H) (zero loss).
 */
export function alignmentAt(p: LeastSquares, delta: Float64Array): number {
  const { n, d, x } = p;
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let a = 0; a < d; a++) s += x[i * d + a] * delta[a];
    r[i] = s;
  }
  // Gram entries G_ij = xᵢᵀxⱼ: gᵢᵀHgⱼ = rᵢrⱼ·(1/n)Σₖ G_ik G_kj.
  const gram = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let a = 0; a < d; a++) s += x[i * d + a] * x[j * d + a];
      gram[i * n + j] = s;
    }
  }
  const g2 = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += gram[i * n + k] * gram[k * n + j];
    return s / n;
  };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += r[i] * r[i] * g2(i, i);
  mean /= n;
  // ḡ = (1/n)Σᵢ rᵢxᵢ, so ḡᵀHḡ = (1/n²)Σᵢⱼ rᵢrⱼ·gᵢⱼ-term.
  let gbar = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gbar += r[i] * r[j] * g2(i, j);
  gbar /= n * n;
  const twoLoss = dot(r, r) / n;
  let frob2 = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) frob2 += (gram[i * n + j] / n) ** 2;
  return twoLoss > 0 ? (mean - gbar) / (twoLoss * frob2) : NaN;
}

/** The exact range of γ(δ) over all directions, and the extreme directions. */
export interface AlignmentRange {
  /** inf over δ of γ(δ): the γ for which Assumption 4.1 holds at every point. */
  min: number;
  /** sup over δ of γ(δ). */
  max: number;
  /** Range coordinates of a direction attaining `min`. */
  minDirection: Float64Array;
}

/**
 * The exact infimum and supremum of γ(δ): in range coordinates c, γ = cᵀNc / (cᵀΛc·‖H‖_F²)
 * with N = (1/n)Σᵢ (zᵢᵀΛzᵢ)·zᵢzᵢᵀ − Λ³, so the extremes are the extreme eigenvalues of
 * Λ^{-½}NΛ^{-½} divided by ‖H‖_F².
 */
export function alignmentRange(spectrum: HessianSpectrum): AlignmentRange {
  const { n, z, lambda } = spectrum;
  const scaled = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let w = 0;
    for (let k = 0; k < n; k++) w += z[i * n + k] ** 2 * lambda[k];
    for (let a = 0; a < n; a++) {
      const za = (w * z[i * n + a]) / n / Math.sqrt(lambda[a]);
      for (let b = 0; b < n; b++) scaled[a * n + b] += (za * z[i * n + b]) / Math.sqrt(lambda[b]);
    }
  }
  for (let a = 0; a < n; a++) scaled[a * n + a] -= lambda[a] ** 2; // Λ^{-½}Λ³Λ^{-½} = Λ²
  // Symmetrize the rounding of the accumulation before the symmetric solver.
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const m = (scaled[a * n + b] + scaled[b * n + a]) / 2;
      scaled[a * n + b] = scaled[b * n + a] = m;
    }
  }
  const { values, vectors } = symmetricEigen(scaled, n);
  const w = column(vectors, n, 0);
  return {
    min: values[0] / spectrum.frobenius2,
    max: values[n - 1] / spectrum.frobenius2,
    minDirection: w.map((v, k) => v / Math.sqrt(lambda[k])),
  };
}

/** γ over random directions: the sorted sample and its summary. */
export interface AlignmentSample {
  values: Float64Array;
  min: number;
  median: number;
  mean: number;
  max: number;
}

/**
 * γ(δ) at `count` random directions δ ~ N(0, I_d) drawn from the stream `key` (the sampling
 * way of estimating γ, docs/paper.md#theory; its minimum over-estimates the exact infimum).
 */
export function sampleAlignment(p: LeastSquares, key: RngKey, count: number): AlignmentSample {
  const rng = createRng(key);
  const values = Float64Array.from(
    { length: count },
    () => alignmentAt(p, rng.normals(p.d)),
  ).sort();
  const mid = Math.floor(count / 2);
  return {
    values,
    min: values[0],
    median: count % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2,
    mean: mean(values),
    max: values[count - 1],
  };
}
