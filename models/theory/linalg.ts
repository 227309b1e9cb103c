/**
 * Small dense float64 linear algebra for the theory checks: square matrices as row-major
 * `Float64Array`s of length n², vectors as `Float64Array`s. Plain loops, deterministic
 * operation order (so results are bitwise reproducible), sized for n ≤ a few hundred.
 *
 * @module
 */

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
 * Eigen-decomposition of a symmetric n×n matrix by the cyclic Jacobi method: plane rotations
 * annihilate the off-diagonal entries until their squared sum is below `tolerance²` times the
 * squared Frobenius norm. Accurate to a few ulps of the largest eigenvalue.
 *
 * @throws {RangeError} when the matrix is not square or not symmetric.
 */
export function symmetricEigen(
  a: Float64Array,
  n: number,
  options: { tolerance?: number; maxSweeps?: number } = {},
): SymmetricEigen {
  if (a.length !== n * n) throw new RangeError(`expected ${n}×${n} entries, got ${a.length}`);
  const tol = options.tolerance ?? 1e-15;
  const maxSweeps = options.maxSweeps ?? 100;
  const m = Float64Array.from(a);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      total += m[i * n + j] ** 2;
      if (Math.abs(m[i * n + j] - m[j * n + i]) > 1e-12 * (Math.abs(m[i * n + j]) + 1e-300)) {
        throw new RangeError(`matrix is not symmetric at (${i}, ${j})`);
      }
    }
  }
  const v = identity(n);
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * m[p * n + q] ** 2;
    if (off <= tol * tol * total) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        // The rotation by φ with cot 2φ = (a_qq − a_pp)/(2a_pq) zeroes a_pq; t = tan φ is
        // the smaller root of t² + 2θt − 1 = 0 (Numerical Recipes' stable form).
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) =>
    m[i * n + i] - m[j * n + j] || i - j
  );
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, k) => {
    values[k] = m[src * n + src];
    for (let i = 0; i < n; i++) vectors[i * n + k] = v[i * n + src];
  });
  return { values, vectors };
}

/** Column k of a row-major n×n matrix. */
export function column(a: Float64Array, n: number, k: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i * n + k];
  return out;
}
