/**
 * The finite-difference HVP of real models against Hessians built independently in float64
 * (`_float64.ts`: plain-TypeScript forward and backward passes of the MLP and the CNN).
 *
 * ReLU and max pooling make the gradient discontinuous: a central difference over ±ε that
 * crosses a kink picks up the jump of the gradient, which double backprop (the authors'
 * HVP) ignores. The comparisons with the Hessian therefore run where the segment θ ± εv is
 * checked to be kink-free; a separate test shows that across kinks the tfjs HVP still equals
 * the float64 central difference at the same ε, i.e. the difference is the method's, not the
 * implementation's.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  createHvp,
  lanczos,
  type LinearOperator,
  paramLayout,
  symmetricEigen,
  treeToVector,
  vectorNorm,
} from "../../../core/metrics/mod.ts";
import { createRng, rngKey } from "../../../core/random.ts";
import { treeDispose } from "../../../core/tree.ts";
import { createCnn, createMlp, crossEntropy } from "../../../models/mod.ts";
import {
  cnnPass,
  hessian64,
  hvp64,
  mlpPass,
  type Oracle,
  smoothOnSegment,
  softmaxRegressionHessian,
} from "./_float64.ts";
import { matVec, relativeError } from "./_helpers.ts";

await tf.setBackend("cpu");

const U = 2 ** -24;

function gaussianData(n: number, size: number, numClasses: number, seed: number) {
  const rng = createRng(rngKey(seed, "test", "oracle-data"));
  return {
    x: Float32Array.from(rng.normals(n * size)),
    y: Int32Array.from({ length: n }, () => rng.int(numClasses)),
    n,
  };
}

/** The float32 finite-difference HVP of `model` on the data (chunks of 5). */
function tfHvp(
  model: ReturnType<typeof createMlp>,
  params: Record<string, tf.Tensor>,
  data: { x: Float32Array; y: Int32Array; n: number },
  epsilon: number,
) {
  return createHvp({
    model,
    params,
    state: {},
    data: [{ x: data.x, y: data.y, size: data.n }],
    loss: crossEntropy,
    chunk: 5,
    epsilon,
  });
}

/**
 * A bound on the float32 rounding error of a product, relative to ‖Hv‖: the two gradients are
 * rounded to ~u·‖g‖ each and their difference is divided by 2ε (the factor 10 covers the
 * accumulation over chunks and the rounding of the perturbed weights).
 */
function roundingBound(gradNorm: number, hvNorm: number, epsilon: number): number {
  return (10 * U * gradNorm) / (epsilon * hvNorm);
}

Deno.test("softmax regression: FD-HVP and Lanczos match the analytic float64 Hessian", () => {
  // `createMlp` without hidden layers is softmax regression: smooth, no kinks.
  const model = createMlp({ numClasses: 4, inputShape: [3, 3, 1], hidden: [] });
  const { params } = model.init(rngKey(0, "test", "softmax"));
  const layout = paramLayout(params);
  const theta = treeToVector(params, layout);
  const data = gaussianData(40, 9, 4, 2);
  const h = softmaxRegressionHessian(theta, layout, data, 4); // 40 × 40
  // The analytic Hessian agrees with differences of the analytic gradient (oracle check).
  const oracle: Oracle = (t) => mlpPass(t, layout, data, [], 4);
  assert.ok(relativeError(hessian64(oracle, theta), h) < 1e-8);
  const gradNorm = vectorNorm(oracle(theta).grad);
  const exact = symmetricEigen(h, layout.dim).values;
  const v = createRng(rngKey(0, "test", "softmax-direction")).normals(layout.dim);
  for (const epsilon of [1e-3, 1e-2, 1e-1]) {
    const op = tfHvp(model, params, data, epsilon);
    const want = matVec(h, v);
    const err = relativeError(op.apply(v), want);
    // Truncation (third derivatives of the cross-entropy, O(ε²)): the float64 central
    // difference at the same ε has exactly that error; rounding as bounded above.
    const truncation = relativeError(centralDifference(oracle, theta, v, epsilon), want);
    const tolerance = 2 * truncation +
      roundingBound(gradNorm, vectorNorm(want) / vectorNorm(v), epsilon);
    assert.ok(err < tolerance, `ε ${epsilon}: error ${err} ≥ ${tolerance}`);
    // Eigenvalues: Rayleigh quotients along the top eigenvectors have a larger truncation
    // error (5e-3 relative at ε = 0.1 here, scaling as ε²: 5e-5 at 1e-2), and rounding is
    // ≤ 5e-5 at 1e-3, so the spectrum is checked to 1e-4 for ε ≤ 1e-2.
    if (epsilon <= 1e-2) {
      const r = lanczos(op, {
        key: rngKey(0, "test", "softmax-lanczos"),
        k: 2,
        maxIterations: 30,
        tolerance: 1e-6,
      });
      r.eigenvalues.forEach((value, i) =>
        assert.ok(
          Math.abs(value - exact[i]) < 1e-4 * exact[0],
          `ε ${epsilon}: eigenvalue ${i} ${value} vs ${exact[i]}`,
        )
      );
    }
    op.dispose();
  }
  treeDispose(params);
});

Deno.test("softmax regression: the λ_max estimate is stable over ε from 1e-3 to 1e-1", () => {
  const model = createMlp({ numClasses: 4, inputShape: [3, 3, 1], hidden: [] });
  const { params } = model.init(rngKey(0, "test", "softmax"));
  const data = gaussianData(40, 9, 4, 2);
  const estimates = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1].map((epsilon) => {
    const op = tfHvp(model, params, data, epsilon);
    const r = lanczos(op, {
      key: rngKey(0, "test", "stability"),
      k: 1,
      maxIterations: 30,
      tolerance: 1e-6,
    });
    op.dispose();
    return r.eigenvalues[0];
  });
  const spread = (Math.max(...estimates) - Math.min(...estimates)) / Math.min(...estimates);
  assert.ok(spread < 1e-2, `λ_max over ε: ${estimates}`);
  treeDispose(params);
});

Deno.test("ReLU MLP: FD-HVP matches the float64 Hessian on kink-free segments", () => {
  const model = createMlp({ numClasses: 3, inputShape: [2, 2, 1], hidden: [6] });
  const { params } = model.init(rngKey(0, "test", "mlp"));
  const layout = paramLayout(params);
  const theta = treeToVector(params, layout);
  const data = gaussianData(24, 4, 3, 1);
  const oracle: Oracle = (t) => mlpPass(t, layout, data, [6], 3);
  const h = hessian64(oracle, theta); // 51 × 51, columns by δ = 1e-5 differences
  const gradNorm = vectorNorm(oracle(theta).grad);
  const rng = createRng(rngKey(0, "test", "mlp-directions"));
  for (const epsilon of [1e-3, 1e-2]) {
    const op = tfHvp(model, params, data, epsilon);
    for (let trial = 0; trial < 3; trial++) {
      const v = rng.normals(layout.dim);
      assert.ok(smoothOnSegment(oracle, theta, v, epsilon), "the test needs a kink-free segment");
      const exact = matVec(h, v);
      const err = relativeError(op.apply(v), exact);
      // Truncation O(ε²), measured by the float64 central difference at the same ε; rounding.
      const truncation = relativeError(centralDifference(oracle, theta, v, epsilon), exact);
      const tolerance = 2 * truncation +
        roundingBound(gradNorm, vectorNorm(exact) / vectorNorm(v), epsilon);
      assert.ok(err < tolerance, `ε ${epsilon}: error ${err} ≥ ${tolerance}`);
    }
    op.dispose();
  }
  treeDispose(params);
});

/** The float64 central difference (g(θ + εu) − g(θ − εu))/2ε·‖v‖ with u = v/‖v‖. */
function centralDifference(oracle: Oracle, theta: Float64Array, v: Float64Array, epsilon: number) {
  const vn = vectorNorm(v);
  const at = (s: number) => oracle(theta.map((t, i) => t + (s * epsilon * v[i]) / vn)).grad;
  const [gp, gm] = [at(1), at(-1)];
  return gp.map((g, i) => ((g - gm[i]) * vn) / (2 * epsilon));
}

/** The reference CNN on 4×4×1 inputs, 3 classes: 19,011 parameters. */
function tinyCnn() {
  const shape: [number, number, number] = [4, 4, 1];
  const model = createCnn({ numClasses: 3, inputShape: shape });
  const { params } = model.init(rngKey(0, "test", "cnn"));
  const layout = paramLayout(params);
  const theta = treeToVector(params, layout);
  const data = gaussianData(4, 16, 3, 1);
  const oracle: Oracle = (t) => cnnPass(t, layout, data, shape, 3);
  return { model, params, layout, theta, data, oracle };
}

Deno.test("CNN: FD-HVP matches the float64 Hessian along its top eigenvectors where kink-free", () => {
  const { model, params, layout, theta, data, oracle } = tinyCnn();
  // The float64 Hessian operator: δ = 1e-6 differences of the analytic gradient (throws if
  // the pattern changes within ±δ).
  const h64: LinearOperator = { dim: layout.dim, apply: (v) => hvp64(oracle, theta, v, 1e-6) };
  const top = lanczos(h64, {
    key: rngKey(0, "test", "cnn-lanczos"),
    k: 2,
    maxIterations: 40,
    tolerance: 1e-8,
    returnVectors: true,
  });
  assert.ok(top.converged);
  const gradNorm = vectorNorm(oracle(theta).grad);
  const epsilon = 1e-4; // small enough that these segments are kink-free (asserted)
  const op = tfHvp(model, params, data, epsilon);
  top.vectors!.forEach((v, i) => {
    assert.ok(smoothOnSegment(oracle, theta, v, epsilon), "the test needs a kink-free segment");
    const exact = h64.apply(v);
    const err = relativeError(op.apply(v), exact);
    const tolerance = roundingBound(gradNorm, Math.abs(top.eigenvalues[i]), epsilon);
    assert.ok(err < tolerance, `eigenvector ${i}: error ${err} ≥ ${tolerance}`);
    assert.ok(err < 1e-3);
  });
  op.dispose();
  treeDispose(params);
});

Deno.test("CNN: across kinks the tfjs HVP equals the float64 central difference at the same ε", () => {
  const { model, params, layout, theta, data, oracle } = tinyCnn();
  const v = createRng(rngKey(0, "test", "cnn-direction")).normals(layout.dim);
  const epsilon = 1e-2;
  assert.ok(!smoothOnSegment(oracle, theta, v, epsilon), "this segment crosses kinks");
  const central = centralDifference(oracle, theta, v, epsilon);
  const op = tfHvp(model, params, data, epsilon);
  const hv = op.apply(v);
  op.dispose();
  const err = relativeError(hv, central);
  const gradNorm = vectorNorm(oracle(theta).grad);
  const bound = roundingBound(gradNorm, vectorNorm(central) / vectorNorm(v), epsilon);
  assert.ok(err < bound, `error ${err} ≥ ${bound}`);
  // ... while the Hessian (double backprop's quantity) is far from it on this segment.
  const hessian = hvp64(oracle, theta, v, 1e-6);
  assert.ok(relativeError(hv, hessian) > 0.5);
  treeDispose(params);
});
