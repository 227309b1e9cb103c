import assert from "node:assert/strict";
import { createRng, rngKey } from "../../../core/random.ts";
import { alignmentRange } from "../../../models/theory/alignment.ts";
import { leastSquaresProblem, lsSpectrum } from "../../../models/theory/least_squares.ts";
import { expectedLossCurve, momentGrowthFactor } from "../../../models/theory/second_moment.ts";
import {
  boundaryRho,
  stabilityBand,
  usamStabilityCondition,
} from "../../../models/theory/stability_bound.ts";

Deno.test("the condition's sides, C and the band edges agree with each other", () => {
  const base = { eta: 0.2, rho: 0.7, batch: 2, gamma: 0.65 };
  const { usamMax, sgdMax } = stabilityBand(base);
  // The closed form of USAM's bound (docs/paper.md#theory).
  const closed = (2 * (Math.sqrt(1 + (4 * 0.49) / 0.04) - 1)) / (2 * 0.49 * 0.65);
  assert.ok(Math.abs(usamMax - closed) < 1e-12 * closed);
  assert.ok(Math.abs(sgdMax - 2 / (0.04 * 0.65)) < 1e-12 * sgdMax);
  const at = usamStabilityCondition({ ...base, frobenius2: usamMax });
  assert.ok(Math.abs(at.growthBound - 1) < 1e-12);
  assert.ok(usamStabilityCondition({ ...base, frobenius2: usamMax * 0.99 }).satisfied);
  assert.ok(!usamStabilityCondition({ ...base, frobenius2: usamMax * 1.01 }).satisfied);
  const c = usamStabilityCondition({ ...base, frobenius2: 7 });
  assert.ok(Math.abs(c.growthBound - c.lhs / c.rhs) < 1e-15);
  // ρ = 0 is SGD's condition; both bands coincide.
  const sgd = stabilityBand({ ...base, rho: 0 });
  assert.equal(sgd.usamMax, sgd.sgdMax);
  assert.ok(usamMax < sgdMax);
});

Deno.test("boundaryRho lies on lhs = rhs and is null where SGD's condition already fails", () => {
  const inputs = { eta: 0.15, batch: 3, gamma: 0.8, frobenius2: 12 };
  const rho = boundaryRho(inputs)!;
  const c = usamStabilityCondition({ ...inputs, rho });
  assert.ok(Math.abs(c.lhs / c.rhs - 1) < 1e-12);
  assert.equal(boundaryRho({ ...inputs, eta: 2 }), null);
});

Deno.test("C is a true lower bound: E[L̃] grows at least by C per step from any start (γ = exact inf; shared and independent batches)", () => {
  const p = leastSquaresProblem(rngKey(4, "test", "bound"), { n: 6, d: 14, featureStd: 0.6 });
  const s = lsSpectrum(p);
  const gamma = alignmentRange(s).min;
  const rng = createRng(rngKey(4, "test", "bound", "starts"));
  const settings = [[0.3, 0, 1], [0.5, 1, 1], [0.2, 2, 2], [0.8, 0.5, 3]];
  for (const batches of ["shared", "independent"] as const) {
    for (const [eta, rho, batch] of settings) {
      const C = usamStabilityCondition({ eta, rho, batch, gamma, frobenius2: s.frobenius2 })
        .growthBound;
      const hyper = { eta, rho, batch, batches };
      const g = momentGrowthFactor(s, hyper, { iterations: 300 });
      assert.ok(
        g.factor >= C,
        `${batches} η=${eta} ρ=${rho} B=${batch}: growth ${g.factor} < C ${C}`,
      );
      for (let k = 0; k < 3; k++) {
        const curve = expectedLossCurve(s, rng.normals(s.n), { ...hyper, steps: 6 });
        for (let t = 1; t < curve.length; t++) {
          assert.ok(curve[t] >= C * curve[t - 1] * (1 - 1e-12), `${batches} step ${t}`);
        }
      }
    }
  }
});
