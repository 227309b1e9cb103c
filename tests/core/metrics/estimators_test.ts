import assert from "node:assert/strict";
import {
  countingOperator,
  denseOperator,
  hutchinsonTrace,
  lanczos,
  powerIteration,
  rademacherProbe,
  symmetricEigen,
} from "../../../core/metrics/mod.ts";
import { rngKey } from "../../../core/random.ts";
import { matrixWithSpectrum, matVec } from "./_helpers.ts";

// A 60-dimensional spectrum: a clear top pair, a negative tail, and a cluster.
const SPECTRUM = [
  10,
  7,
  5,
  4.5,
  4,
  ...Array.from({ length: 50 }, (_, i) => 3 - 0.05 * i),
  -1,
  -2,
  -2.5,
  -3,
  0,
];
const N = SPECTRUM.length;
const A = matrixWithSpectrum(SPECTRUM, 1);
const SORTED = [...SPECTRUM].sort((a, b) => b - a);
const key = rngKey(0, "test", "estimators");

Deno.test("symmetricEigen recovers a known spectrum and orthonormal eigenvectors", () => {
  const { values, vectors } = symmetricEigen(A, N);
  SORTED.forEach((v, i) => assert.ok(Math.abs(values[i] - v) < 1e-12, `${values[i]} vs ${v}`));
  for (let i = 0; i < N; i++) {
    const av = matVec(A, vectors[i]);
    const residual = Math.sqrt(av.reduce((s, x, j) => s + (x - values[i] * vectors[i][j]) ** 2, 0));
    assert.ok(residual < 1e-12, `residual ${residual}`);
  }
  assert.throws(() => symmetricEigen([1, 2, 3], 2), RangeError);
});

Deno.test("power iteration converges to λ_max with a residual that matches ‖Av − λv‖", () => {
  const r = powerIteration(denseOperator(A, N), { key, maxIterations: 1000, tolerance: 1e-12 });
  assert.ok(r.converged);
  assert.ok(Math.abs(r.eigenvalue - 10) < 1e-9, `λ ${r.eigenvalue}`);
  assert.equal(r.history.length, r.iterations);
  const av = matVec(A, r.vector);
  const residual = Math.sqrt(av.reduce((s, x, j) => s + (x - r.eigenvalue * r.vector[j]) ** 2, 0));
  assert.ok(Math.abs(residual - r.residual) < 1e-12);
  // Convergence is linear in |λ₂/λ₁| = 0.7: the error after 10 steps is still large.
  const early = powerIteration(denseOperator(A, N), { key, maxIterations: 10, tolerance: 1e-12 });
  assert.equal(early.converged, false);
  assert.equal(early.iterations, 10);
});

Deno.test("power iteration returns the eigenvalue of largest magnitude, sign kept", () => {
  const negative = matrixWithSpectrum([-12, 10, 3, 1, 0.5], 2);
  const r = powerIteration(denseOperator(negative, 5), {
    key,
    maxIterations: 2000,
    tolerance: 1e-13,
  });
  assert.ok(Math.abs(r.eigenvalue + 12) < 1e-8, `λ ${r.eigenvalue}`);
});

Deno.test("Lanczos recovers the top two eigenvalues in few iterations, with honest residuals", () => {
  const op = countingOperator(denseOperator(A, N));
  const r = lanczos(op, { key, k: 2, maxIterations: 40, tolerance: 1e-10, returnVectors: true });
  assert.ok(r.converged);
  assert.ok(Math.abs(r.eigenvalues[0] - 10) < 1e-8 && Math.abs(r.eigenvalues[1] - 7) < 1e-8);
  assert.equal(op.count, r.iterations);
  assert.ok(r.iterations < 40, `${r.iterations} iterations`);
  r.vectors!.forEach((y, i) => {
    const ay = matVec(A, y);
    const truth = Math.sqrt(ay.reduce((s, x, j) => s + (x - r.eigenvalues[i] * y[j]) ** 2, 0));
    assert.ok(Math.abs(truth - r.residuals[i]) < 1e-9, `residual ${truth} vs ${r.residuals[i]}`);
  });
  // With the same number of products, Lanczos is far more accurate than power iteration.
  const budget = { key, maxIterations: 8, tolerance: 1e-15 };
  const lanczosError = Math.abs(
    lanczos(denseOperator(A, N), { ...budget, k: 1 }).eigenvalues[0] - 10,
  );
  const powerError = Math.abs(powerIteration(denseOperator(A, N), budget).eigenvalue - 10);
  assert.ok(lanczosError < 1e-2 * powerError, `after 8 products: ${lanczosError} vs ${powerError}`);
});

Deno.test("Lanczos orders by magnitude ('LM') and is exact once the Krylov space is invariant", () => {
  const m = matrixWithSpectrum([-12, 10, 3, 1, 0.5], 3);
  const r = lanczos(denseOperator(m, 5), { key, k: 2, maxIterations: 50, tolerance: 1e-14 });
  assert.ok(r.iterations <= 5);
  assert.ok(Math.abs(r.eigenvalues[0] + 12) < 1e-10 && Math.abs(r.eigenvalues[1] - 10) < 1e-10);
  assert.deepEqual(r.ritzValues.map((v) => Math.round(v * 1e6) / 1e6), [10, 3, 1, 0.5, -12]);
  assert.ok(r.converged);
});

Deno.test("estimators reject bad options with the option named", () => {
  const op = denseOperator(A, N);
  assert.throws(() => lanczos(op, { key, k: 0 }), /k must be/);
  assert.throws(() => lanczos(op, { key, k: 3, maxIterations: 2 }), /at least k/);
  assert.throws(() => powerIteration(op, { key, tolerance: 0 }), /tolerance/);
  assert.throws(() => powerIteration(op, { key, maxIterations: 1.5 }), /maxIterations/);
  assert.throws(() => hutchinsonTrace(op, { key, probes: 0 }), /probes/);
  assert.throws(() => lanczos(op, { key, start: new Float64Array(3) }), /start/);
});

Deno.test("Hutchinson's trace lies within 3 standard errors of the true trace", () => {
  const truth = SPECTRUM.reduce((a, b) => a + b, 0);
  const r = hutchinsonTrace(denseOperator(A, N), { key, probes: 40 });
  assert.equal(r.samples.length, 40);
  assert.ok(r.standardError > 0);
  assert.ok(
    Math.abs(r.trace - truth) <= 3 * r.standardError,
    `${r.trace} ± ${r.standardError} vs ${truth}`,
  );
  // For Rademacher probes the variance is 2 Σ_{i≠j} A_ij²: the estimate is exact on a diagonal.
  const diag = new Float64Array(N * N);
  SPECTRUM.forEach((v, i) => (diag[i * N + i] = v));
  const d = hutchinsonTrace(denseOperator(diag, N), { key, probes: 3 });
  assert.ok(Math.abs(d.trace - truth) < 1e-12 && d.standardError === 0);
});

Deno.test("start vectors and probes are a pure function of the key", () => {
  const op = denseOperator(A, N);
  const a = lanczos(op, { key, k: 2, maxIterations: 6 });
  const b = lanczos(op, { key, k: 2, maxIterations: 6 });
  const c = lanczos(op, { key: rngKey(1, "test", "estimators"), k: 2, maxIterations: 6 });
  assert.deepEqual(a.history, b.history);
  assert.notDeepEqual(a.history, c.history);
  const z = rademacherProbe(100, key, 3);
  assert.deepEqual(z, rademacherProbe(100, key, 3));
  assert.ok(z.every((v) => v === 1 || v === -1));
  assert.notDeepEqual(z, rademacherProbe(100, key, 4));
  const ones = z.reduce((s, v) => s + (v > 0 ? 1 : 0), 0);
  assert.ok(ones > 30 && ones < 70, `${ones} positive signs of 100`);
});
