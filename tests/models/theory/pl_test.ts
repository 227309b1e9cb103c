import assert from "node:assert/strict";
import { createRng, rngKey } from "../../../core/random.ts";
import {
  NONCONVEX_PL_BETA,
  nonconvexPl,
  nonconvexPlGrad,
  nonconvexPlHess,
  nonconvexPlSamStep,
  nonconvexPlUsamStep,
  plConstant,
  usamPlMargin,
  usamPlRate,
} from "../../../models/theory/pl.ts";

Deno.test("f′ and f″ match central differences; f is non-convex with max |f″| = β = 8", () => {
  const h = 1e-5;
  let maxAbs = 0;
  let minHess = Infinity;
  for (let x = -10; x <= 10; x += 0.01) {
    const fd1 = (nonconvexPl(x + h) - nonconvexPl(x - h)) / (2 * h);
    const fd2 = (nonconvexPlGrad(x + h) - nonconvexPlGrad(x - h)) / (2 * h);
    assert.ok(Math.abs(fd1 - nonconvexPlGrad(x)) < 1e-7 * (1 + Math.abs(fd1)));
    assert.ok(Math.abs(fd2 - nonconvexPlHess(x)) < 1e-6);
    maxAbs = Math.max(maxAbs, Math.abs(nonconvexPlHess(x)));
    minHess = Math.min(minHess, nonconvexPlHess(x));
  }
  assert.ok(Math.abs(maxAbs - NONCONVEX_PL_BETA) < 1e-3);
  assert.ok(minHess < -3.9, "f″ reaches −4: not convex");
});

Deno.test("the PL constant: a dense independent scan never goes below μ, and μ ≥ Karimi et al.'s 1/32", () => {
  const { mu, at } = plConstant();
  assert.ok(mu >= 1 / 32 && mu < 0.2, `μ = ${mu}`);
  assert.ok(Math.abs(nonconvexPlGrad(at) ** 2 / (2 * nonconvexPl(at)) - mu) < 1e-15);
  for (let x = -60; x <= 60; x += 1e-3) {
    if (Math.abs(x) < 1e-9) continue;
    assert.ok(nonconvexPlGrad(x) ** 2 >= 2 * mu * nonconvexPl(x) * (1 - 1e-9), `x = ${x}`);
  }
});

Deno.test("known answers of the bound: GD at η = 1/β contracts by 1 − μ/β; c ≤ 0 gives null", () => {
  const beta = 4;
  const mu = 0.5;
  assert.equal(usamPlMargin({ eta: 1 / beta, rho: 0, beta }), 0.5);
  assert.equal(usamPlRate({ eta: 1 / beta, rho: 0, beta, mu }), 1 - mu / beta);
  assert.ok(Math.abs(usamPlMargin({ eta: 0.1, rho: 0.05, beta }) - (1 - 0.2 - 0.2 * 1.44)) < 1e-15);
  assert.equal(usamPlRate({ eta: 1, rho: 0.3, beta, mu }), null);
});

Deno.test("property: every USAM step on f obeys f(x⁺) ≤ (1 − 2ημc)·f(x)", () => {
  const { mu } = plConstant();
  const rng = createRng(rngKey(0, "test", "pl", "property"));
  let checked = 0;
  for (let k = 0; k < 2000; k++) {
    const eta = (rng.uniform() * 1.2) / NONCONVEX_PL_BETA;
    const rho = (rng.uniform() * 0.4) / NONCONVEX_PL_BETA;
    const rate = usamPlRate({ eta, rho, beta: NONCONVEX_PL_BETA, mu });
    if (rate === null) continue;
    const x = (2 * rng.uniform() - 1) * 20;
    const next = nonconvexPlUsamStep(x, { eta, rho });
    assert.ok(nonconvexPl(next) <= rate * nonconvexPl(x) * (1 + 1e-12), `x=${x} η=${eta} ρ=${rho}`);
    checked++;
  }
  assert.ok(checked > 500);
});

Deno.test("normalized SAM on f does not settle at 0 with a fixed ρ (it keeps a loss floor)", () => {
  let x = 2.2;
  for (let k = 0; k < 2000; k++) x = nonconvexPlSamStep(x, { eta: 0.05, rho: 0.1 });
  assert.ok(nonconvexPl(x) > 1e-6);
  let y = 2.2;
  for (let k = 0; k < 2000; k++) y = nonconvexPlUsamStep(y, { eta: 0.05, rho: 0.1 });
  assert.ok(nonconvexPl(y) < 1e-100);
});
