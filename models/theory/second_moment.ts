/**
 * The exact expected loss of mini-batch USAM on least squares, without sampling, for both
 * pairings of the two passes: `shared` (the paper's Eq. 4 and the experiments: one batch for
 * ascent and descent; the step is in `shared_batch_moment.ts`) and `independent` (the
 * two-half form of the proofs, below).
 *
 * In range coordinates (see `least_squares.ts`) one USAM step with ascent batch B and an
 * independent descent batch B′ is linear, c ← A·c with A = I − η·H_{B′}(I + ρ·H_B), where
 * H_B = (1/B)Σⱼ z_{iⱼ}z_{iⱼ}ᵀ. The second moment M = E[ccᵀ] therefore evolves exactly by
 *
 *     M ← T(M) = M − η(GM + MG) + η²·K(M + ρ(ΛM + MΛ) + ρ²·K(M)),   G = Λ(I + ρΛ),
 *     K(M) = E[H_B M H_B] = (1 − 1/B)·ΛMΛ + (1/(nB))·Σᵢ (zᵢᵀMzᵢ)·zᵢzᵢᵀ,
 *
 * (independence of B and B′ factorizes E[H_{B′}W M W H_{B′}] into K applied to E[WMW]),
 * and E[L̃] = ½·Tr(ΛM). Definition 4.1's stability is whether E[L̃] stays bounded, i.e.
 * whether the spectral radius of T is at most 1; T maps positive semidefinite matrices to
 * positive semidefinite matrices, so its spectral radius is the growth factor of E[L̃] and
 * power iteration from a positive definite start finds it, with certified bounds.
 *
 * @module
 */
import type { HessianSpectrum } from "./least_squares.ts";
import { identity, matMul, symmetricEigen, trace } from "./linalg.ts";
import { sharedBatchMomentStep } from "./shared_batch_moment.ts";

/** How the ascent and the descent batch relate: one batch (Eq. 4) or two independent ones. */
export type BatchPairing = "shared" | "independent";

/** Hyper-parameters of a USAM step on least squares (ρ = 0: SGD). */
export interface UsamHyper {
  eta: number;
  rho: number;
  /** Mini-batch size B (indices drawn with replacement). */
  batch: number;
  /** Ascent and descent on the same batch (Eq. 4) or on independent batches. */
  batches: BatchPairing;
}

/** K(M) = E[H_B M H_B] over batches of `batch` indices drawn with replacement. */
export function batchHessianMoment(
  spectrum: HessianSpectrum,
  m: Float64Array,
  batch: number,
): Float64Array {
  const { n, z, lambda } = spectrum;
  const out = new Float64Array(n * n);
  const keep = 1 - 1 / batch;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) out[a * n + b] = keep * lambda[a] * m[a * n + b] * lambda[b];
  }
  const w = 1 / (n * batch);
  const mz = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const zi = z.subarray(i * n, i * n + n);
    for (let a = 0; a < n; a++) {
      let s = 0;
      for (let b = 0; b < n; b++) s += m[a * n + b] * zi[b];
      mz[a] = s;
    }
    let q = 0;
    for (let a = 0; a < n; a++) q += zi[a] * mz[a];
    const s = w * q;
    for (let a = 0; a < n; a++) {
      const za = s * zi[a];
      for (let b = 0; b < n; b++) out[a * n + b] += za * zi[b];
    }
  }
  return out;
}

/** One application of T: the second moment after one USAM step, batches paired as `hyper` says. */
export function usamMomentStep(
  spectrum: HessianSpectrum,
  m: Float64Array,
  hyper: UsamHyper,
): Float64Array {
  // With ρ = 0 (SGD) there is no ascent batch and both pairings are the same step.
  if (hyper.batches === "shared" && hyper.rho !== 0) {
    return sharedBatchMomentStep(spectrum, m, hyper);
  }
  const { n, lambda } = spectrum;
  const { eta, rho, batch } = hyper;
  // inner = E[W M W] with W = I + ρH_B: M + ρ(ΛM + MΛ) + ρ²K(M).
  const km = rho === 0 ? m : batchHessianMoment(spectrum, m, batch);
  const inner = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const i = a * n + b;
      inner[i] = rho === 0 ? m[i] : m[i] + rho * (lambda[a] + lambda[b]) * m[i] + rho * rho * km[i];
    }
  }
  const k = batchHessianMoment(spectrum, inner, batch);
  const out = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    const ga = lambda[a] * (1 + rho * lambda[a]);
    for (let b = 0; b < n; b++) {
      const gb = lambda[b] * (1 + rho * lambda[b]);
      const i = a * n + b;
      out[i] = m[i] - eta * (ga + gb) * m[i] + eta * eta * k[i];
    }
  }
  return out;
}

/** E[L̃] = ½·Tr(ΛM) for a second moment M in range coordinates. */
export function expectedLossOf(spectrum: HessianSpectrum, m: Float64Array): number {
  const { n, lambda } = spectrum;
  let s = 0;
  for (let k = 0; k < n; k++) s += lambda[k] * m[k * n + k];
  return s / 2;
}

/**
 * The exact E[L̃(θᵗ)] for t = 0…steps of USAM started at range coordinates `start`
 * (M₀ = c₀c₀ᵀ), iterating {@link usamMomentStep}.
 */
export function expectedLossCurve(
  spectrum: HessianSpectrum,
  start: Float64Array,
  options: UsamHyper & { steps: number },
): Float64Array {
  const { n } = spectrum;
  let m: Float64Array = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) m[a * n + b] = start[a] * start[b];
  const out = new Float64Array(options.steps + 1);
  out[0] = expectedLossOf(spectrum, m);
  for (let t = 1; t <= options.steps; t++) {
    m = usamMomentStep(spectrum, m, options);
    out[t] = expectedLossOf(spectrum, m);
  }
  return out;
}

/** The per-step growth factor of E[L̃]: the spectral radius of T, with certified bounds. */
export interface GrowthFactor {
  /** Power-iteration estimate Tr T(M)/Tr M at the last iterate. */
  factor: number;
  /** Certified bounds: λ_min and λ_max of M^{-½}T(M)M^{-½} at the last iterate (null if M is numerically singular). */
  lower: number | null;
  upper: number | null;
  iterations: number;
}

/**
 * The spectral radius of T by power iteration from M = I (normalized by the trace each step).
 * For a positive map and M ≻ 0, T(M) ⪯ r·M implies ρ(T) ≤ r and T(M) ⪰ r′·M implies
 * ρ(T) ≥ r′, so the extreme generalized eigenvalues of (T(M), M) bracket ρ(T).
 */
export function momentGrowthFactor(
  spectrum: HessianSpectrum,
  hyper: UsamHyper,
  options: { iterations: number },
): GrowthFactor {
  const { n } = spectrum;
  let m: Float64Array = identity(n);
  let next = usamMomentStep(spectrum, m, hyper);
  for (let it = 1; it < options.iterations; it++) {
    const tr = trace(next, n);
    m = next.map((v) => v / tr);
    next = usamMomentStep(spectrum, m, hyper);
  }
  const factor = trace(next, n) / trace(m, n);
  const bracket = generalizedRange(m, next, n);
  return { factor, ...bracket, iterations: options.iterations };
}

function generalizedRange(
  m: Float64Array,
  t: Float64Array,
  n: number,
): { lower: number | null; upper: number | null } {
  const sym = (a: Float64Array) => {
    const out = Float64Array.from(a);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        out[i * n + j] = out[j * n + i] = (a[i * n + j] + a[j * n + i]) / 2;
      }
    }
    return out;
  };
  const { values, vectors } = symmetricEigen(sym(m), n);
  if (!(values[0] > 1e-13 * values[n - 1])) return { lower: null, upper: null };
  // M^{-½} = Q D^{-½} Qᵀ.
  const qd = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) qd[i * n + k] = vectors[i * n + k] / Math.sqrt(values[k]);
  }
  const qt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) qt[k * n + i] = vectors[i * n + k];
  const half = matMul(qd, qt, n);
  const r = symmetricEigen(sym(matMul(matMul(half, t, n), half, n)), n).values;
  return { lower: r[0], upper: r[n - 1] };
}
