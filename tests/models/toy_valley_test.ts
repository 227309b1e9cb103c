import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import {
  crossSectionDerivatives,
  noisyLossAndGrad,
  predictedLossGrowth,
  sharpnessDerivatives,
  type ValleyConfig,
  valleyHessian,
  valleyLoss,
  valleyLossExact,
  valleyParams,
  valleySharpness,
} from "../../models/toy_valley.ts";

await useBackend("cpu");

const VALLEYS: ValleyConfig[] = [
  { sharpness: "quadratic", crossSection: "subquadratic", h0: 1, a: 1, b: 0.5 },
  { sharpness: "quadratic", crossSection: "quadratic", h0: 2, a: 0.3, b: 1 },
  { sharpness: "cosh", crossSection: "subquadratic", h0: 1.5, a: 0.7, b: 0.2 },
];
const POINTS = [{ u: 0.3, v: -0.2 }, { u: -2.1, v: 0.7 }, { u: 3.7, v: 1e-3 }];

function exactGradient(valley: ValleyConfig, p: { u: number; v: number }): [number, number] {
  const [h, dh] = sharpnessDerivatives(valley, p.u);
  const [q, dq] = crossSectionDerivatives(valley, p.v);
  return [dh * q, h * dq];
}

Deno.test("the exact Hessian matches central differences of the exact gradient (float64)", () => {
  // Step 1e-5 in float64: truncation O(δ²) ~ 1e-10 and rounding ~ 1e-11 relative.
  const d = 1e-5;
  for (const valley of VALLEYS) {
    for (const p of POINTS) {
      const H = valleyHessian(valley, p);
      const gu = (s: number) => exactGradient(valley, { u: p.u + s, v: p.v });
      const gv = (s: number) => exactGradient(valley, { u: p.u, v: p.v + s });
      const colU = [(gu(d)[0] - gu(-d)[0]) / (2 * d), (gu(d)[1] - gu(-d)[1]) / (2 * d)];
      const colV = [(gv(d)[0] - gv(-d)[0]) / (2 * d), (gv(d)[1] - gv(-d)[1]) / (2 * d)];
      const fd = [[colU[0], colV[0]], [colU[1], colV[1]]];
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          const scale = Math.max(1, Math.abs(H[i][j]));
          assert.ok(
            Math.abs(H[i][j] - fd[i][j]) < 1e-6 * scale,
            `${JSON.stringify(valley)} ${i}${j}`,
          );
        }
      }
    }
  }
});

Deno.test("the gradient is the derivative of the loss (float64 finite differences)", () => {
  const d = 1e-6;
  for (const valley of VALLEYS) {
    for (const p of POINTS) {
      const [gu, gv] = exactGradient(valley, p);
      const fu = (valleyLossExact(valley, { u: p.u + d, v: p.v }) -
        valleyLossExact(valley, { u: p.u - d, v: p.v })) / (2 * d);
      const fv = (valleyLossExact(valley, { u: p.u, v: p.v + d }) -
        valleyLossExact(valley, { u: p.u, v: p.v - d })) / (2 * d);
      assert.ok(Math.abs(gu - fu) < 1e-6 * Math.max(1, Math.abs(gu)));
      assert.ok(Math.abs(gv - fv) < 1e-6 * Math.max(1, Math.abs(gv)));
    }
  }
});

Deno.test("minima lie on v = 0 with sharpness λ_max = h(u)", () => {
  for (const valley of VALLEYS) {
    for (const u of [-3, 0, 0.5, 2]) {
      assert.equal(valleyLossExact(valley, { u, v: 0 }), 0);
      const h = sharpnessDerivatives(valley, u)[0];
      assert.ok(Math.abs(valleySharpness(valley, { u, v: 0 }) - h) < 1e-12 * h);
    }
    // Flatter towards u = 0.
    assert.ok(valleySharpness(valley, { u: 1, v: 0 }) < valleySharpness(valley, { u: 2, v: 0 }));
  }
});

Deno.test("tfjs autodiff of the valley loss matches the exact gradient to float32 precision", () => {
  for (const valley of VALLEYS) {
    for (const p of POINTS) {
      const params = valleyParams(p);
      const { loss, grads } = noisyLossAndGrad(valley, params, { sigma: 0, z: 0 });
      const [gu, gv] = exactGradient(valley, p);
      assert.ok(
        Math.abs(loss.dataSync()[0] - valleyLossExact(valley, p)) <
          1e-5 * Math.max(1e-3, valleyLossExact(valley, p)),
      );
      assert.ok(Math.abs(grads.u.dataSync()[0] - gu) < 2e-5 * Math.max(1, Math.abs(gu)));
      assert.ok(Math.abs(grads.v.dataSync()[0] - gv) < 2e-5 * Math.max(1, Math.abs(gv)));
      tf.dispose([loss, grads.u, grads.v, params.u, params.v]);
    }
  }
});

Deno.test("the subquadratic cross-section keeps float32 precision next to the minimum", () => {
  // b(√(b²+v²) − b) evaluated naively in float32 is exactly 0 at v = 1e-6.
  const valley = VALLEYS[0];
  const params = valleyParams({ u: 3.7, v: 1e-6 });
  const loss = valleyLoss(valley, params).dataSync()[0];
  const exact = valleyLossExact(valley, { u: 3.7, v: 1e-6 });
  assert.ok(Math.abs(loss - exact) < 1e-5 * exact, `${loss} vs ${exact}`);
  tf.dispose([params.u, params.v]);
});

Deno.test("noise is loss-scaled and acts on v only: σ·z·√(2L·h(u))", () => {
  const valley = VALLEYS[0];
  const p = { u: 2, v: 0.1 };
  const params = valleyParams(p);
  const clean = noisyLossAndGrad(valley, params, { sigma: 0.5, z: 0 });
  const noisy = noisyLossAndGrad(valley, params, { sigma: 0.5, z: 1.3 });
  const L = valleyLossExact(valley, p);
  const h = sharpnessDerivatives(valley, p.u)[0];
  assert.equal(noisy.grads.u.dataSync()[0], clean.grads.u.dataSync()[0]);
  const shift = noisy.grads.v.dataSync()[0] - clean.grads.v.dataSync()[0];
  assert.ok(Math.abs(shift - 0.5 * 1.3 * Math.sqrt(2 * L * h)) < 1e-5);
  const atMin = noisyLossAndGrad(valley, valleyParams({ u: 2, v: 0 }), { sigma: 0.5, z: 3 });
  assert.equal(atMin.grads.v.dataSync()[0], 0); // noise vanishes at a minimum
  tf.dispose([clean, noisy, atMin, params] as unknown as tf.TensorContainer);
});

Deno.test("predicted growth reduces to the closed forms for σ = 0 and for ρ = 0", () => {
  const eta = 0.1;
  for (const h of [5, 14.7, 25]) {
    const noiseless = predictedLossGrowth({ eta, rho: 0.05, sigma: 0, sharpness: h });
    const usam = (1 - eta * h * (1 + 0.05 * h)) ** 2;
    assert.ok(Math.abs(noiseless.mean - usam) < 1e-9 * usam);
    assert.ok(Math.abs(noiseless.typical - usam) < 1e-9 * usam);
    // SGD with multiplicative noise: E[(1 − ηh(1 + σz))²] = (1 − ηh)² + (ησh)².
    const sgdGrowth = predictedLossGrowth({ eta, rho: 0, sigma: 0.3, sharpness: h });
    const closed = (1 - eta * h) ** 2 + (eta * 0.3 * h) ** 2;
    assert.ok(Math.abs(sgdGrowth.mean - closed) < 1e-8 * closed, `${sgdGrowth.mean} vs ${closed}`);
    assert.ok(sgdGrowth.typical < sgdGrowth.mean); // Jensen
  }
});
