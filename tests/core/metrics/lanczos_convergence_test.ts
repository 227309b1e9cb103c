/**
 * Lanczos' convergence report on exact small matrices: the residual it reports is the true
 * ‖A·y − θ·y‖ of its Ritz pair (relative to |θ| against the tolerance), a run that meets the
 * tolerance says so, and a run the iteration cap stops says it did not converge.
 */
import assert from "node:assert/strict";
import { denseOperator, lanczos, type LanczosResult } from "../../../core/metrics/mod.ts";
import { rngKey } from "../../../core/random.ts";
import { matrixWithSpectrum, matVec } from "./_helpers.ts";

const key = rngKey(0, "test", "lanczos-convergence");

/** ‖A·y − θ·y‖ / |θ| of each returned Ritz pair, computed directly from the matrix. */
function explicitRelativeResiduals(a: Float64Array, r: LanczosResult): number[] {
  return r.vectors!.map((y, i) => {
    const ay = matVec(a, y);
    const norm = Math.sqrt(ay.reduce((s, x, j) => s + (x - r.eigenvalues[i] * y[j]) ** 2, 0));
    return norm / Math.abs(r.eigenvalues[i]);
  });
}

// 80 dimensions, a well separated top pair above a bulk in [−1, 1].
const GAPPED = [
  20,
  15,
  ...Array.from({ length: 78 }, (_, i) => -1 + (2 * i) / 77),
];
// The same size with a top eigenvalue that sits in a tight cluster: slow to resolve.
const CLUSTERED = [
  10,
  9.99,
  9.98,
  9.97,
  ...Array.from({ length: 76 }, (_, i) => 9.9 - (9.9 * i) / 75),
];

Deno.test("Lanczos that meets the tolerance reports converged, with the true residuals", () => {
  const a = matrixWithSpectrum(GAPPED, 4);
  const r = lanczos(denseOperator(a, GAPPED.length), {
    key,
    k: 2,
    maxIterations: 60,
    tolerance: 1e-6,
    returnVectors: true,
  });
  assert.equal(r.converged, true);
  assert.deepEqual(r.convergedValues, [true, true]);
  assert.equal(r.tolerance, 1e-6);
  assert.ok(r.iterations < 60, `${r.iterations} iterations`);
  assert.ok(Math.abs(r.eigenvalues[0] - 20) < 1e-8 && Math.abs(r.eigenvalues[1] - 15) < 1e-8);
  const explicit = explicitRelativeResiduals(a, r);
  r.relativeResiduals.forEach((rel, i) => {
    assert.ok(rel <= 1e-6, `value ${i}: relative residual ${rel}`);
    assert.ok(Math.abs(rel - explicit[i]) < 1e-12, `reported ${rel}, explicit ${explicit[i]}`);
    assert.ok(Math.abs(r.residuals[i] - rel * Math.abs(r.eigenvalues[i])) < 1e-12);
  });
  // The last step of the history is the result.
  const last = r.history[r.history.length - 1];
  assert.deepEqual(last.relativeResiduals, r.relativeResiduals);
});

Deno.test("Lanczos stopped by the cap reports unconverged values that underestimate λ_max", () => {
  const a = matrixWithSpectrum(CLUSTERED, 5);
  const op = denseOperator(a, CLUSTERED.length);
  const capped = lanczos(op, { key, k: 2, maxIterations: 6, tolerance: 1e-6, returnVectors: true });
  assert.equal(capped.iterations, 6);
  assert.equal(capped.converged, false);
  assert.equal(capped.convergedValues[0], false);
  assert.ok(capped.relativeResiduals[0] > 1e-6, `${capped.relativeResiduals[0]}`);
  // The flag is honest: the residual it rests on is the true one.
  const explicit = explicitRelativeResiduals(a, capped);
  assert.ok(Math.abs(capped.relativeResiduals[0] - explicit[0]) < 1e-12);
  // A Ritz value of a symmetric matrix lies inside the spectrum: the capped λ_max is low.
  assert.ok(capped.eigenvalues[0] < 10, `${capped.eigenvalues[0]}`);
  // With room to iterate, the same matrix and start converge.
  const full = lanczos(op, { key, k: 2, maxIterations: 80, tolerance: 1e-6 });
  assert.equal(full.converged, true);
  assert.ok(full.iterations > 6);
  assert.ok(Math.abs(full.eigenvalues[0] - 10) < 1e-5, `${full.eigenvalues[0]}`);
});

Deno.test("an asymmetric operator's residual splits into the Lanczos part and the skew part", () => {
  // A symmetric matrix plus a small skew part, as a finite-difference Hessian has. Lanczos
  // builds its tridiagonal from the same recurrence; the Ritz residual ‖A·y − θ·y‖ then has
  // the Lanczos part β|s| (outside the Krylov space) and the asymmetry (inside it).
  const n = GAPPED.length;
  const s = matrixWithSpectrum(GAPPED, 6);
  const skew = matrixWithSpectrum(Array.from({ length: n }, (_, i) => i % 3), 7);
  const withSkew = (delta: number) => {
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        a[i * n + j] = s[i * n + j] + delta * Math.sign(j - i) * skew[i * n + j];
      }
    }
    return a;
  };
  const options = { key, k: 1, maxIterations: 60, tolerance: 1e-6, returnVectors: true };
  const symmetric = lanczos(denseOperator(withSkew(0), n), options);
  assert.ok(symmetric.asymmetries[0] < 1e-12 * symmetric.eigenvalues[0]);
  for (const iterations of [3, 8, 20]) {
    const a = withSkew(0.02);
    const r = lanczos(denseOperator(a, n), { ...options, maxIterations: iterations });
    const explicit = explicitRelativeResiduals(a, r)[0] * Math.abs(r.eigenvalues[0]);
    const split = Math.hypot(r.residuals[0], r.asymmetries[0]);
    assert.ok(Math.abs(split - explicit) < 1e-10 * explicit, `${split} vs ${explicit}`);
    assert.ok(r.asymmetries[0] > 1e-4 * r.eigenvalues[0], `asymmetry ${r.asymmetries[0]}`);
  }
});
