import assert from "node:assert/strict";
import { createRng, rngKey } from "../../../core/random.ts";
import {
  leastSquaresProblem,
  lsLoss,
  lsSpectrum,
  lsUsamStep,
  rangeCoordinates,
} from "../../../models/theory/least_squares.ts";
import {
  type BatchPairing,
  expectedLossCurve,
  momentGrowthFactor,
  usamMomentStep,
} from "../../../models/theory/second_moment.ts";

const P = leastSquaresProblem(rngKey(11, "test", "moment"), { n: 3, d: 5, featureStd: 0.8 });
const S = lsSpectrum(P);
const DELTA = createRng(rngKey(11, "test", "moment", "start")).normals(5);
const THETA0 = DELTA.map((v, k) => v + P.thetaStar[k]);

/** Every batch of `size` indices of 0…n−1 drawn with replacement (equally likely tuples). */
function allBatches(n: number, size: number): number[][] {
  if (size === 0) return [[]];
  return allBatches(n, size - 1).flatMap((b) => Array.from({ length: n }, (_, i) => [...b, i]));
}

/**
 * E[L(θ_steps)] by enumerating every batch of every step, in parameter space: every ascent
 * batch with every descent batch (independent), or one batch for both passes (shared, Eq. 4).
 */
function enumeratedLoss(
  eta: number,
  rho: number,
  batch: number,
  steps: number,
  batches: BatchPairing,
): number {
  const all = allBatches(P.n, batch);
  let thetas: Float64Array[] = [THETA0];
  for (let t = 0; t < steps; t++) {
    thetas = thetas.flatMap((theta) =>
      batches === "shared"
        ? all.map((b) => lsUsamStep(P, theta, { eta, rho, ascent: b, descent: b }))
        : all.flatMap((ascent) =>
          all.map((descent) => lsUsamStep(P, theta, { eta, rho, ascent, descent }))
        )
    );
  }
  return thetas.reduce((a, th) => a + lsLoss(P, th), 0) / thetas.length;
}

Deno.test("the moment recursion equals the enumerated expectation over all batches (independent and shared; B = 1–4; 1–2 steps)", () => {
  const c0 = rangeCoordinates(P, S, DELTA);
  const cases: [number, number, number, number, BatchPairing][] = [
    [0.4, 0.8, 1, 2, "independent"],
    [0.3, 1.5, 2, 1, "independent"],
    [0.5, 0, 2, 2, "independent"],
    [0.4, 0.8, 1, 2, "shared"],
    [0.3, 1.5, 2, 2, "shared"],
    [0.2, 0.7, 3, 1, "shared"],
    [0.25, 1.1, 4, 1, "shared"],
    [0.5, 0, 2, 2, "shared"],
  ];
  for (const [eta, rho, batch, steps, batches] of cases) {
    const exact = expectedLossCurve(S, c0, { eta, rho, batch, steps, batches })[steps];
    const enumerated = enumeratedLoss(eta, rho, batch, steps, batches);
    assert.ok(
      Math.abs(exact - enumerated) < 1e-12 * enumerated,
      `${batches} η=${eta} ρ=${rho} B=${batch}: ${exact} vs ${enumerated}`,
    );
  }
  // The pairing matters: shared and independent differ once ρ > 0.
  const hyper = { eta: 0.3, rho: 1.5, batch: 2, steps: 1 };
  const shared = expectedLossCurve(S, c0, { ...hyper, batches: "shared" })[1];
  const independent = expectedLossCurve(S, c0, { ...hyper, batches: "independent" })[1];
  assert.ok(Math.abs(shared / independent - 1) > 1e-3, `${shared} vs ${independent}`);
});

Deno.test("the moment step keeps M symmetric positive semidefinite", () => {
  const c0 = rangeCoordinates(P, S, DELTA);
  const n = S.n;
  let m: Float64Array = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) m[a * n + b] = c0[a] * c0[b];
  for (let t = 0; t < 5; t++) {
    m = usamMomentStep(S, m, { eta: 0.4, rho: 0.5, batch: 1, batches: "shared" });
  }
  for (let a = 0; a < n; a++) {
    assert.ok(m[a * n + a] >= 0);
    for (let b = 0; b < n; b++) {
      assert.ok(Math.abs(m[a * n + b] - m[b * n + a]) < 1e-12 * (1 + Math.abs(m[a * n + b])));
      assert.ok(m[a * n + b] ** 2 <= m[a * n + a] * m[b * n + b] * (1 + 1e-12));
    }
  }
});

Deno.test("known answer: one sample has no noise, so the growth factor is (1 − ηλ(1 + ρλ))²", () => {
  const one = leastSquaresProblem(rngKey(2, "one"), { n: 1, d: 4, featureStd: 1 });
  const s = lsSpectrum(one);
  const lambda = s.lambda[0];
  for (const [eta, rho] of [[0.1, 0], [0.2, 0.5], [0.9 / lambda, 2]]) {
    const g = momentGrowthFactor(s, { eta, rho, batch: 3, batches: "shared" }, {
      iterations: 5,
    });
    const expected = (1 - eta * lambda * (1 + rho * lambda)) ** 2;
    assert.ok(Math.abs(g.factor - expected) < 1e-12 * Math.max(1, expected));
    assert.ok(g.lower! <= g.factor * (1 + 1e-12) && g.factor <= g.upper! * (1 + 1e-12));
  }
});

Deno.test("the growth factor's certified bracket is tight and matches the curve's late growth", () => {
  const c0 = rangeCoordinates(P, S, DELTA);
  const hyper = { eta: 0.5, rho: 1, batch: 1, batches: "independent" } as const;
  const g = momentGrowthFactor(S, hyper, { iterations: 400 });
  assert.ok(g.lower !== null && g.upper !== null);
  assert.ok(g.lower! <= g.factor && g.factor <= g.upper!);
  assert.ok(g.upper! - g.lower! < 1e-9 * g.factor, `[${g.lower}, ${g.upper}]`);
  // E[L̃] grows by ×78 per step here: 60 steps stay far from float64's overflow.
  const curve = expectedLossCurve(S, c0, { ...hyper, steps: 60 });
  assert.ok(Math.abs(curve[60] / curve[59] / g.factor - 1) < 1e-6);
});
