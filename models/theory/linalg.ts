/**
 * Small dense float64 linear algebra for the theory checks: square matrices as row-major
 * `Float64Array`s of length n², vectors as `Float64Array`s. Plain loops, deterministic
 * operation order (so results are bitwise reproducible), sized for n ≤ a few hundred.
 *
 * @module
 */
import { symmetricEigen as jacobiEigen } from "../../core/metrics/symmetric_eigen.ts";

/** A symmetric matrix's eigen-decomposition, eigenvalues ascending. */
export interface SymmetricEigen {
  /** Eigenvalues λ₀ ≤ λ₁ ≤ … ≤ λₙ₋₁. */
  values: Float64Array;
  /** Row-major n×n: column k is the unit eigenvector of `values[k]`. */
  vectors: Float64Array;
}

/** The n×n identity. */
export function identity(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/** Σ aᵢbᵢ. */
export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The product of two n×n matrices. */
export function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

/** A·Bᵀ for two n×n matrices (row-major; each entry a dot product of two rows). */
export function matMulTransposed(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * b[j * n + k];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** The transpose of an n×n matrix. */
export function transpose(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = a[i * n + j];
  return out;
}

/** The trace of an n×n matrix. */
export function trace(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i];
  return s;
}

/**
 * Eigen-decomposition of a symmetric n×n matrix, in the layout the theory code uses: eigenvalues
 * ascending, eigenvectors as the columns of a row-major n×n matrix. The cyclic Jacobi solver is
 * the one Lanczos uses ({@linkcode jacobiEigen} in core/metrics); this only checks symmetry and
 * reorders.
 *
 * @throws {RangeError} when the matrix is not square or not symmetric.
 */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  if (a.length !== n * n) throw new RangeError(`expected ${n}×${n} entries, got ${a.length}`);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (Math.abs(a[i * n + j] - a[j * n + i]) > 1e-12 * (Math.abs(a[i * n + j]) + 1e-300)) {
        throw new RangeError(`matrix is not symmetric at (${i}, ${j})`);
      }
    }
  }
  const descending = jacobiEigen(a, n);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const src = n - 1 - k;
    values[k] = descending.values[src];
    for (let i = 0; i < n; i++) vectors[i * n + k] = descending.vectors[src][i];
  }
  return { values, vectors };
}

/** Column k of a row-major n×n matrix. */
export function column(a: Float64Array, n: number, k: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i * n + k];
  return out;
}
