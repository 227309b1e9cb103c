import assert from "node:assert/strict";
import { createRng, rngKey } from "../../../core/random.ts";
import {
  fromRangeCoordinates,
  type LeastSquares,
  leastSquaresProblem,
  lsGradient,
  lsHessian,
  lsLoss,
  lsResiduals,
  lsSamStep,
  lsSpectrum,
  lsUsamStep,
  rangeCoordinates,
  scaleProblem,
} from "../../../models/theory/least_squares.ts";
import { dot, symmetricEigen } from "../../../models/theory/linalg.ts";

const P = leastSquaresProblem(rngKey(7, "test", "ls"), { n: 6, d: 15, featureStd: 0.5 });
const THETA = createRng(rngKey(7, "test", "ls", "theta")).normals(15);

function batchLoss(p: LeastSquares, theta: Float64Array, batch: number[]): number {
  const r = lsResiduals(p, theta);
  return batch.reduce((a, i) => a + r[i] * r[i], 0) / (2 * batch.length);
}

Deno.test("the planted θ* is a global minimum and the labels are Xθ*", () => {
  assert.equal(lsLoss(P, P.thetaStar), 0);
  assert.ok(lsLoss(P, THETA) > 0);
  assert.equal(P.x.length, P.n * P.d);
});

Deno.test("full and batch gradients match central differences of the loss", () => {
  const h = 1e-6;
  for (const batch of [undefined, [0, 3, 3, 5]]) {
    const g = lsGradient(P, THETA, batch);
    const f = (t: Float64Array) => (batch ? batchLoss(P, t, batch) : lsLoss(P, t));
    for (let k = 0; k < P.d; k++) {
      const plus = THETA.slice();
      const minus = THETA.slice();
      plus[k] += h;
      minus[k] -= h;
      const fd = (f(plus) - f(minus)) / (2 * h);
      assert.ok(Math.abs(fd - g[k]) < 1e-8 * (1 + Math.abs(g[k])), `∂${k}: ${fd} vs ${g[k]}`);
    }
  }
});

Deno.test("the Hessian matches differences of the gradient, and its nonzero spectrum is lsSpectrum's", () => {
  const H = lsHessian(P);
  const h = 1e-5;
  for (const k of [0, 4, 14]) {
    const plus = THETA.slice();
    const minus = THETA.slice();
    plus[k] += h;
    minus[k] -= h;
    const gp = lsGradient(P, plus);
    const gm = lsGradient(P, minus);
    for (let a = 0; a < P.d; a++) {
      assert.ok(Math.abs((gp[a] - gm[a]) / (2 * h) - H[a * P.d + k]) < 1e-9);
    }
  }
  const full = symmetricEigen(H, P.d).values;
  const s = lsSpectrum(P);
  for (let k = 0; k < P.d - P.n; k++) assert.ok(Math.abs(full[k]) < 1e-12, "null space");
  for (let k = 0; k < P.n; k++) {
    assert.ok(Math.abs(full[P.d - P.n + k] - s.lambda[k]) < 1e-12, `λ_${k}`);
  }
  let frob = 0;
  for (const v of H) frob += v * v;
  assert.ok(Math.abs(frob - s.frobenius2) < 1e-12 * frob);
  assert.equal(s.lambdaMax, s.lambda[P.n - 1]);
  assert.equal(s.lambdaMin, s.lambda[0]);
});

Deno.test("range coordinates: (1/n)Σ zᵢzᵢᵀ = Λ, losses agree, and the map round-trips", () => {
  const s = lsSpectrum(P);
  const { n } = s;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += s.z[i * n + a] * s.z[i * n + b];
      assert.ok(Math.abs(m / n - (a === b ? s.lambda[a] : 0)) < 1e-12);
    }
  }
  const delta = THETA.map((v, k) => v - P.thetaStar[k]);
  const c = rangeCoordinates(P, s, delta);
  const quad = c.reduce((acc, ck, k) => acc + s.lambda[k] * ck * ck, 0) / 2;
  assert.ok(Math.abs(quad - lsLoss(P, THETA)) < 1e-12 * lsLoss(P, THETA));
  // δ's projection onto range(H) round-trips and carries the whole loss.
  const projected = fromRangeCoordinates(P, s, c);
  const back = rangeCoordinates(P, s, projected);
  for (let k = 0; k < n; k++) assert.ok(Math.abs(back[k] - c[k]) < 1e-12);
  const onRange = projected.map((v, k) => v + P.thetaStar[k]);
  assert.ok(Math.abs(lsLoss(P, onRange) - lsLoss(P, THETA)) < 1e-12);
});

Deno.test("full-batch USAM is the linear map e ← (I − ηH(I + ρH))e", () => {
  const H = lsHessian(P);
  const { d } = P;
  const e = THETA.map((v, k) => v - P.thetaStar[k]);
  const he = (v: Float64Array) =>
    Float64Array.from({ length: d }, (_, a) => {
      let s = 0;
      for (let b = 0; b < d; b++) s += H[a * d + b] * v[b];
      return s;
    });
  const [eta, rho] = [0.3, 0.7];
  const w = e.map((v, k) => v + rho * he(e)[k]);
  const expected = e.map((v, k) => v - eta * he(w)[k] + P.thetaStar[k]);
  const got = lsUsamStep(P, THETA, { eta, rho });
  for (let k = 0; k < d; k++) assert.ok(Math.abs(got[k] - expected[k]) < 1e-12);
  // ρ = 0 is SGD on the descent batch, whatever the ascent batch.
  const sgd = lsUsamStep(P, THETA, { eta, rho: 0, ascent: [1], descent: [2, 4] });
  const g = lsGradient(P, THETA, [2, 4]);
  for (let k = 0; k < d; k++) assert.equal(sgd[k], THETA[k] - eta * g[k]);
});

Deno.test("normalized SAM perturbs by exactly ρ", () => {
  const [eta, rho] = [0.2, 0.05];
  const g = lsGradient(P, THETA);
  const probe = THETA.map((t, k) => t + (rho * g[k]) / Math.sqrt(dot(g, g)));
  const g2 = lsGradient(P, probe);
  const got = lsSamStep(P, THETA, { eta, rho });
  for (let k = 0; k < P.d; k++) assert.ok(Math.abs(got[k] - (THETA[k] - eta * g2[k])) < 1e-12);
});

Deno.test("scaling the inputs by s scales ‖H‖_F² by s⁴ and keeps θ* a minimum", () => {
  const s = 1.7;
  const q = scaleProblem(P, s);
  assert.ok(Math.abs(lsSpectrum(q).frobenius2 / lsSpectrum(P).frobenius2 - s ** 4) < 1e-12);
  assert.ok(lsLoss(q, q.thetaStar) < 1e-28);
});

Deno.test("linearly dependent samples are rejected", () => {
  const x = new Float64Array(2 * 3);
  x.set([1, 2, 3, 2, 4, 6]);
  const p = { n: 2, d: 3, x, y: new Float64Array(2), thetaStar: new Float64Array(3) };
  assert.throws(() => lsSpectrum(p), /linearly dependent/);
});
