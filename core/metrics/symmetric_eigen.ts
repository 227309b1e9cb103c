/**
 * Eigen-decomposition of small dense symmetric matrices by the cyclic Jacobi method, in
 * float64: Lanczos' tridiagonal matrices (tens of rows) and test oracles (a few hundred).
 *
 * Each sweep rotates away every off-diagonal entry once (Rutishauser's formulation); sweeps
 * repeat until the off-diagonal mass is below 1e-14 of the matrix's Frobenius norm
 * (quadratic convergence: typically 6–10 sweeps). Cost O(n³) per sweep.
 *
 * @module
 */

/** Eigenvalues in descending order, and the matching unit eigenvectors. */
export interface SymmetricEigen {
  values: Float64Array;
  /** `vectors[i]` is the eigenvector of `values[i]`. */
  vectors: Float64Array[];
}

/**
 * All eigenvalues and eigenvectors of the symmetric n×n matrix `matrix` (row-major; only
 * symmetry up to rounding is assumed: the upper triangle is used).
 *
 * @throws {RangeError} unless the matrix has n² entries; {@link Error} when it does not
 *   converge in 100 sweeps (non-finite entries).
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): SymmetricEigen {
  if (!Number.isSafeInteger(n) || n <= 0 || matrix.length !== n * n) {
    throw new RangeError(`symmetricEigen: need ${n}×${n} entries, got ${matrix.length}`);
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = matrix[i * n + j];
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let frob = 0;
  for (let i = 0; i < n * n; i++) frob += a[i] * a[i];
  const threshold = 1e-28 * frob; // (1e-14 ‖A‖_F)²
  for (let sweep = 0;; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * a[p * n + q] ** 2;
    if (off <= threshold || frob === 0) break;
    if (sweep >= 100 || !Number.isFinite(off)) {
      throw new Error(`symmetricEigen: no convergence after ${sweep} sweeps (off ${off})`);
    }
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = a[q * n + p] = 0;
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
    a[j * n + j] - a[i * n + i] || i - j
  );
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = order.map((col) => Float64Array.from({ length: n }, (_, k) => v[k * n + col]));
  return { values, vectors };
}
