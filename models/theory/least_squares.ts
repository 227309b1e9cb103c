/**
 * Over-parameterized least squares, the setting of the paper's linear-stability theory
 * (docs/paper.md#theory): a linear model f(x; θ) = xᵀθ with d > n parameters, squared loss,
 *
 *     L(θ) = (1/2n) Σᵢ (xᵢᵀθ − yᵢ)²,   yᵢ = xᵢᵀθ*,
 *
 * so every θ* + null(X) is a global minimum and the Hessian H = XᵀX/n is the same at all of
 * them. The model is linear, so the "linearized problem" of Definition 4.1 is the problem
 * itself. Mini-batches draw B indices uniformly with replacement.
 *
 * The nonzero spectrum of H is that of the n×n Gram matrix K = XXᵀ/n = V diag(λ) Vᵀ; in the
 * orthonormal eigenbasis u_k = Xᵀv_k/√(nλ_k) of range(H), sample i has coordinates
 * z_ik = √(nλ_k)·V_ik. Components of θ − θ* in null(X) never move and carry no loss, so the
 * n-dimensional range coordinates describe every quantity of the stability analysis.
 *
 * @module
 */
import { createRng, deriveKey, type RngKey } from "../../core/random.ts";
import { dot, symmetricEigen } from "./linalg.ts";

/** A least-squares problem: data, labels and the planted global minimum. */
export interface LeastSquares {
  /** Number of samples. */
  n: number;
  /** Number of parameters (d > n: over-parameterized). */
  d: number;
  /** Row-major n×d inputs, row i is xᵢ. */
  x: Float64Array;
  /** Labels yᵢ = xᵢᵀθ*. */
  y: Float64Array;
  /** A global minimum (zero loss). */
  thetaStar: Float64Array;
}

/**
 * Draws a problem: xᵢⱼ ~ N(0, featureStd²) from the stream `key/x`, θ* ~ N(0, I) from
 * `key/theta-star`, and y = Xθ*.
 */
export function leastSquaresProblem(
  key: RngKey,
  options: { n: number; d: number; featureStd: number },
): LeastSquares {
  const { n, d, featureStd } = options;
  const x = createRng(deriveKey(key, "x")).normals(n * d, 0, featureStd);
  const thetaStar = createRng(deriveKey(key, "theta-star")).normals(d);
  return withLabels({ n, d, x, thetaStar });
}

function withLabels(p: Omit<LeastSquares, "y">): LeastSquares {
  const y = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) y[i] = rowDot(p, i, p.thetaStar);
  return { ...p, y };
}

/** The same problem with every input multiplied by `s` (H scales by s², ‖H‖_F² by s⁴). */
export function scaleProblem(p: LeastSquares, s: number): LeastSquares {
  return withLabels({ n: p.n, d: p.d, x: p.x.map((v) => v * s), thetaStar: p.thetaStar });
}

function rowDot(p: Pick<LeastSquares, "d" | "x">, i: number, v: Float64Array): number {
  let s = 0;
  const o = i * p.d;
  for (let j = 0; j < p.d; j++) s += p.x[o + j] * v[j];
  return s;
}

/** The residuals rᵢ = xᵢᵀθ − yᵢ. */
export function lsResiduals(p: LeastSquares, theta: Float64Array): Float64Array {
  const r = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) r[i] = rowDot(p, i, theta) - p.y[i];
  return r;
}

/** L(θ) = (1/2n) Σᵢ rᵢ². */
export function lsLoss(p: LeastSquares, theta: Float64Array): number {
  const r = lsResiduals(p, theta);
  return dot(r, r) / (2 * p.n);
}

/**
 * The gradient of the loss on a batch of sample indices (repeats allowed): (1/B) Σⱼ r_{iⱼ}x_{iⱼ};
 * without a batch, the full gradient (1/n) Σᵢ rᵢxᵢ.
 */
export function lsGradient(
  p: LeastSquares,
  theta: Float64Array,
  batch?: ArrayLike<number>,
): Float64Array {
  const g = new Float64Array(p.d);
  const m = batch ? batch.length : p.n;
  for (let j = 0; j < m; j++) {
    const i = batch ? batch[j] : j;
    const r = rowDot(p, i, theta) - p.y[i];
    const o = i * p.d;
    for (let k = 0; k < p.d; k++) g[k] += r * p.x[o + k];
  }
  for (let k = 0; k < p.d; k++) g[k] /= m;
  return g;
}

/** The d×d Hessian H = XᵀX/n (row-major), for checks; the analysis uses {@link lsSpectrum}. */
export function lsHessian(p: LeastSquares): Float64Array {
  const h = new Float64Array(p.d * p.d);
  for (let i = 0; i < p.n; i++) {
    const o = i * p.d;
    for (let a = 0; a < p.d; a++) {
      const xa = p.x[o + a] / p.n;
      for (let b = 0; b < p.d; b++) h[a * p.d + b] += xa * p.x[o + b];
    }
  }
  return h;
}

/** The nonzero spectrum of H and the samples in its eigenbasis. */
export interface HessianSpectrum {
  n: number;
  /** The n nonzero eigenvalues of H, ascending. */
  lambda: Float64Array;
  /** Row-major n×n Gram eigenvectors V (column k belongs to `lambda[k]`). */
  gramVectors: Float64Array;
  /** Row-major n×n: z[i·n + k] = u_kᵀxᵢ, sample i in the eigenbasis of range(H). */
  z: Float64Array;
  /** ‖H‖_F² = Σ λ_k². */
  frobenius2: number;
  /** λ_max(H): the sharpness. */
  lambdaMax: number;
  /** The smallest nonzero eigenvalue: the PL constant μ of the loss. */
  lambdaMin: number;
}

/**
 * The spectrum of H from the Gram matrix K = XXᵀ/n (n×n instead of d×d).
 *
 * @throws {RangeError} when the samples are linearly dependent (K singular), where the
 *   range coordinates are undefined.
 */
export function lsSpectrum(p: LeastSquares): HessianSpectrum {
  const { n } = p;
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let a = 0; a < p.d; a++) s += p.x[i * p.d + a] * p.x[j * p.d + a];
      k[i * n + j] = k[j * n + i] = s / n;
    }
  }
  const { values, vectors } = symmetricEigen(k, n);
  if (!(values[0] > 1e-12 * values[n - 1])) {
    throw new RangeError("the samples are linearly dependent: XXᵀ is singular");
  }
  const z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < n; c++) z[i * n + c] = Math.sqrt(n * values[c]) * vectors[i * n + c];
  }
  return {
    n,
    lambda: values,
    gramVectors: vectors,
    z,
    frobenius2: dot(values, values),
    lambdaMax: values[n - 1],
    lambdaMin: values[0],
  };
}

/** The range coordinates c_k = u_kᵀδ of a displacement δ = θ − θ* (d-vector). */
export function rangeCoordinates(
  p: LeastSquares,
  spectrum: HessianSpectrum,
  delta: Float64Array,
): Float64Array {
  const { n } = p;
  const xd = new Float64Array(n);
  for (let i = 0; i < n; i++) xd[i] = rowDot(p, i, delta);
  const c = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xd[i] * spectrum.gramVectors[i * n + k];
    c[k] = s / Math.sqrt(n * spectrum.lambda[k]);
  }
  return c;
}

/** The d-vector Σ_k c_k u_k of range coordinates c (the inverse of {@link rangeCoordinates}). */
export function fromRangeCoordinates(
  p: LeastSquares,
  spectrum: HessianSpectrum,
  c: Float64Array,
): Float64Array {
  const { n, d } = p;
  const out = new Float64Array(d);
  for (let k = 0; k < n; k++) {
    const scale = c[k] / Math.sqrt(n * spectrum.lambda[k]);
    for (let i = 0; i < n; i++) {
      const w = scale * spectrum.gramVectors[i * n + k];
      for (let a = 0; a < d; a++) out[a] += w * p.x[i * d + a];
    }
  }
  return out;
}

/** Batches of one USAM step: ascent and descent (the same array for a shared batch). */
export interface StepBatches {
  ascent?: ArrayLike<number>;
  descent?: ArrayLike<number>;
}

/**
 * One USAM step (the paper's Eq. 4, unnormalized SAM) on least squares,
 *
 *     θ^{t+½} = θ + ρ·∇L_{B}(θ),   θ^{t+1} = θ − η·∇L_{B′}(θ^{t+½}),
 *
 * with the ascent batch B and the descent batch B′ given separately (omitted: full batch).
 * ρ = 0 is an SGD step on B′.
 */
export function lsUsamStep(
  p: LeastSquares,
  theta: Float64Array,
  options: { eta: number; rho: number } & StepBatches,
): Float64Array {
  const { eta, rho } = options;
  let probe = theta;
  if (rho !== 0) {
    const g = lsGradient(p, theta, options.ascent);
    probe = new Float64Array(p.d);
    for (let k = 0; k < p.d; k++) probe[k] = theta[k] + rho * g[k];
  }
  const g2 = lsGradient(p, probe, options.descent);
  const out = new Float64Array(p.d);
  for (let k = 0; k < p.d; k++) out[k] = theta[k] - eta * g2[k];
  return out;
}

/**
 * One normalized SAM step (the paper's Eq. 3) on least squares, full batch or on `batch`:
 * θ − η·∇L(θ + ρ·g/(‖g‖ + 1e-12)), g = ∇L(θ), as the authors' code normalizes
 * (docs/paper.md#update-rules).
 */
export function lsSamStep(
  p: LeastSquares,
  theta: Float64Array,
  options: { eta: number; rho: number; batch?: ArrayLike<number> },
): Float64Array {
  const g = lsGradient(p, theta, options.batch);
  const scale = options.rho / (Math.sqrt(dot(g, g)) + 1e-12);
  const probe = theta.map((t, k) => t + scale * g[k]);
  const g2 = lsGradient(p, probe, options.batch);
  return theta.map((t, k) => t - options.eta * g2[k]);
}
