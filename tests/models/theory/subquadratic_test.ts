import assert from "node:assert/strict";
import { createRng, rngKey } from "../../../core/random.ts";
import {
  subquadraticExcursion,
  subquadraticGrad,
  subquadraticHess,
  subquadraticLoss,
  subquadraticStep,
  usamEscapeRho,
} from "../../../models/theory/subquadratic.ts";

const VALLEYS = [{ a: 1, b: 1 }, { a: 2.5, b: 0.3 }, { a: 0.4, b: 2 }];

Deno.test("L′ and L″ match central differences; L is accurate next to 0 and linear far out", () => {
  const h = 1e-5;
  for (const v of VALLEYS) {
    for (const t of [-3.1, -0.2, 0, 0.05, 1.7, 12]) {
      const fd1 = (subquadraticLoss(v, t + h) - subquadraticLoss(v, t - h)) / (2 * h);
      const fd2 = (subquadraticGrad(v, t + h) - subquadraticGrad(v, t - h)) / (2 * h);
      assert.ok(Math.abs(fd1 - subquadraticGrad(v, t)) < 1e-8, `L′ at ${t}`);
      assert.ok(Math.abs(fd2 - subquadraticHess(v, t)) < 1e-7, `L″ at ${t}`);
    }
    const tiny = 1e-9;
    assert.ok(Math.abs(subquadraticLoss(v, tiny) / ((v.a * tiny * tiny) / (2 * v.b)) - 1) < 1e-12);
    assert.ok(Math.abs(subquadraticGrad(v, 1e8) - v.a) < 1e-9 * v.a);
    assert.ok(Math.abs(subquadraticHess(v, 0) - v.a / v.b) < 1e-15 * (v.a / v.b));
  }
});

Deno.test("steps: ρ = 0 is GD for both variants; SAM's ascent has length ρ", () => {
  const v = VALLEYS[1];
  const [eta, rho, t] = [0.3, 0.2, 0.7];
  const gd = t - eta * subquadraticGrad(v, t);
  assert.equal(subquadraticStep(v, t, { eta, rho: 0, variant: "usam" }), gd);
  assert.ok(Math.abs(subquadraticStep(v, t, { eta, rho: 0, variant: "sam" }) - gd) < 1e-15);
  const sam = subquadraticStep(v, -t, { eta, rho, variant: "sam" });
  assert.ok(Math.abs(sam - (-t - eta * subquadraticGrad(v, -t - rho))) < 1e-12);
  const g = subquadraticGrad(v, t);
  assert.equal(
    subquadraticStep(v, t, { eta, rho, variant: "usam" }),
    t - eta * subquadraticGrad(v, t + rho * g),
  );
});

Deno.test("property: |θ_t| < max(|θ₀|, ηa) for every ρ ≥ 0, both variants", () => {
  const rng = createRng(rngKey(0, "test", "subquadratic", "property"));
  for (let k = 0; k < 300; k++) {
    const v = VALLEYS[k % VALLEYS.length];
    const eta = rng.uniform() * (4 * v.b) / v.a;
    const rho = 10 * rng.uniform() * (k % 2 ? v.b : v.b * v.b / v.a);
    const theta0 = (2 * rng.uniform() - 1) * 3 * v.b;
    for (const variant of ["usam", "sam"] as const) {
      const max = subquadraticExcursion(v, theta0, {
        eta,
        rho,
        variant,
        steps: 200,
        stopAt: Infinity,
      });
      assert.ok(
        max <= Math.max(Math.abs(theta0), eta * v.a),
        `${variant} η=${eta} ρ=${rho} θ₀=${theta0}`,
      );
    }
  }
});

Deno.test("the excursion stops at stopAt, and a GD run that should leave the valley does", () => {
  const v = { a: 1, b: 1 };
  // ηa = 6b: the first step from θ₀ = 0.9 overshoots to about −2.9.
  const max = subquadraticExcursion(v, 0.9, {
    eta: 6,
    rho: 0,
    variant: "usam",
    steps: 50,
    stopAt: 2,
  });
  assert.ok(max >= 2 && max < 6);
});

Deno.test("usamEscapeRho is USAM's linear-stability threshold at the minimum", () => {
  const v = VALLEYS[1];
  const eta = 0.05;
  const rho = usamEscapeRho(v, eta);
  const factor = (r: number) => Math.abs(1 - eta * (v.a / v.b) * (1 + r * (v.a / v.b)));
  assert.ok(Math.abs(factor(rho) - 1) < 1e-12);
  const grows = (r: number) => {
    let t = 1e-9;
    for (let k = 0; k < 50; k++) t = subquadraticStep(v, t, { eta, rho: r, variant: "usam" });
    return Math.abs(t) > 1e-9;
  };
  assert.ok(grows(rho * 1.2) && !grows(rho * 0.8));
  assert.equal(usamEscapeRho(v, (2 * v.b) / v.a), 0);
});
