/** Shared fixtures of the metrics tests: matrices with known spectra. */
import { createRng, rngKey } from "../../../core/random.ts";

/** A random orthogonal n×n matrix (Gram–Schmidt of a seeded Gaussian matrix), row-major. */
export function randomOrthogonal(n: number, seed: number): Float64Array[] {
  const rng = createRng(rngKey(seed, "test", "orthogonal"));
  const q: Float64Array[] = [];
  while (q.length < n) {
    const v = rng.normals(n);
    for (let pass = 0; pass < 2; pass++) {
      for (const u of q) {
        let d = 0;
        for (let i = 0; i < n; i++) d += u[i] * v[i];
        for (let i = 0; i < n; i++) v[i] -= d * u[i];
      }
    }
    const norm = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
    q.push(v.map((x) => x / norm));
  }
  return q;
}

/** Q·diag(values)·Qᵀ for a random orthogonal Q: a symmetric matrix with that spectrum. */
export function matrixWithSpectrum(values: readonly number[], seed: number): Float64Array {
  const n = values.length;
  const q = randomOrthogonal(n, seed); // rows are the eigenvectors
  const a = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) a[i * n + j] += values[k] * q[k][i] * q[k][j];
    }
  }
  return a;
}

/** ‖a − b‖ / ‖b‖. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** y = A·x for a row-major n×n matrix. */
export function matVec(a: Float64Array, x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j] * x[j];
    y[i] = s;
  }
  return y;
}
