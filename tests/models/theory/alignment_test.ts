import assert from "node:assert/strict";
import { createRng, rngKey } from "../../../core/random.ts";
import { alignmentAt, alignmentRange, sampleAlignment } from "../../../models/theory/alignment.ts";
import {
  fromRangeCoordinates,
  type LeastSquares,
  leastSquaresProblem,
  lsHessian,
  lsSpectrum,
  scaleProblem,
} from "../../../models/theory/least_squares.ts";

const P = leastSquaresProblem(rngKey(3, "test", "gamma"), { n: 8, d: 20, featureStd: 0.3 });

/** γ(δ) from an explicit d×d gradient covariance S and Hessian H (the definition, brute force). */
function bruteForceGamma(p: LeastSquares, delta: Float64Array): number {
  const { n, d, x } = p;
  const H = lsHessian(p);
  const grads = Array.from({ length: n }, (_, i) => {
    let r = 0;
    for (let a = 0; a < d; a++) r += x[i * d + a] * delta[a];
    return Float64Array.from({ length: d }, (_, a) => r * x[i * d + a]);
  });
  const mean = Float64Array.from({ length: d }, (_, a) => grads.reduce((s, g) => s + g[a], 0) / n);
  let trSH = 0;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      const s = grads.reduce((acc, g) => acc + g[a] * g[b], 0) / n - mean[a] * mean[b];
      trSH += s * H[b * d + a];
    }
  }
  let twoLoss = 0;
  let frob = 0;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      twoLoss += delta[a] * H[a * d + b] * delta[b];
      frob += H[a * d + b] ** 2;
    }
  }
  return trSH / (twoLoss * frob);
}

Deno.test("alignmentAt equals the definition computed from the explicit gradient covariance", () => {
  const rng = createRng(rngKey(3, "test", "gamma", "dirs"));
  for (let k = 0; k < 5; k++) {
    const delta = rng.normals(P.d);
    const a = alignmentAt(P, delta);
    const b = bruteForceGamma(P, delta);
    assert.ok(Math.abs(a - b) < 1e-10 * b, `${a} vs ${b}`);
  }
});

Deno.test("known answer: two orthogonal unit samples give γ = 1/2 in every direction", () => {
  const x = new Float64Array(2 * 3);
  x.set([1, 0, 0, 0, 1, 0]);
  const p = { n: 2, d: 3, x, y: new Float64Array(2), thetaStar: new Float64Array(3) };
  const range = alignmentRange(lsSpectrum(p));
  assert.ok(Math.abs(range.min - 0.5) < 1e-14 && Math.abs(range.max - 0.5) < 1e-14);
  assert.ok(Math.abs(alignmentAt(p, Float64Array.of(0.3, -2, 5)) - 0.5) < 1e-14);
  // One sample: the gradient has no spread at all.
  const one = {
    n: 1,
    d: 2,
    x: Float64Array.of(1, 2),
    y: new Float64Array(1),
    thetaStar: new Float64Array(2),
  };
  assert.ok(Math.abs(alignmentAt(one, Float64Array.of(1, 1))) < 1e-15);
  assert.ok(Math.abs(alignmentRange(lsSpectrum(one)).max) < 1e-15);
});

Deno.test("the exact range brackets every sampled direction and its minimizer attains the minimum", () => {
  const spectrum = lsSpectrum(P);
  const range = alignmentRange(spectrum);
  const sample = sampleAlignment(P, rngKey(3, "test", "gamma", "sample"), 300);
  assert.ok(range.min > 0 && range.min <= sample.min && sample.max <= range.max);
  assert.ok(sample.min <= sample.median && sample.median <= sample.max);
  const at = alignmentAt(P, fromRangeCoordinates(P, spectrum, range.minDirection));
  assert.ok(Math.abs(at - range.min) < 1e-10, `${at} vs ${range.min}`);
});

Deno.test("γ does not change when the data are scaled", () => {
  const a = alignmentRange(lsSpectrum(P));
  const b = alignmentRange(lsSpectrum(scaleProblem(P, 3.1)));
  assert.ok(Math.abs(a.min - b.min) < 1e-10 && Math.abs(a.max - b.max) < 1e-10);
});

Deno.test("sampled γ is a pure function of its stream", () => {
  const a = sampleAlignment(P, rngKey(5, "g"), 20);
  const b = sampleAlignment(P, rngKey(5, "g"), 20);
  assert.deepEqual([...a.values], [...b.values]);
  assert.notDeepEqual([...a.values], [...sampleAlignment(P, rngKey(6, "g"), 20).values]);
});
