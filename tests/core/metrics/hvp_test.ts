import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  createHvp,
  lanczos,
  measureSharpness,
  rechunk,
  symmetricEigen,
  treeToVector,
  vectorNorm,
} from "../../../core/metrics/mod.ts";
import { createRng, rngKey } from "../../../core/random.ts";
import { treeDispose, treeToArrays } from "../../../core/tree.ts";
import { tinyDeps, tinyModel } from "../train_helpers.ts";
import { matVec, relativeError } from "./_helpers.ts";
import {
  gramMatrix,
  leastSquaresModel,
  regressionData,
  splitBatch,
  squaredLoss,
} from "./_models.ts";

await tf.setBackend("cpu");

const U = 2 ** -24; // float32 unit roundoff
const D = 12;
const N = 100;
const model = leastSquaresModel(D);
const data = regressionData(N, D, 0);
const H = gramMatrix(data, D);
const v = createRng(rngKey(0, "test", "v")).normals(D);

Deno.test("the HVP of a quadratic is exact up to float32 rounding, for every ε", () => {
  const { params, state } = model.init(rngKey(0, "test", "lsq"));
  const theta = vectorNorm(treeToVector(params));
  const exact = matVec(H, v);
  for (const epsilon of [1e-4, 1e-3, 1e-2, 1e-1, 1, 10]) {
    const op = createHvp({
      model,
      params,
      state,
      data: [data],
      loss: squaredLoss,
      chunk: 32,
      epsilon,
    });
    const hv = op.apply(v);
    const g = vectorNorm(op.gradient().grad);
    op.dispose();
    // No truncation error for a quadratic: what remains is float32 rounding of the two
    // gradients (≈ u·‖g‖ each, divided by the step ε) and of the perturbed weights
    // (≈ u·‖θ‖/ε relative in the direction), plus u for the result itself.
    const bound = 10 * U * (g / (epsilon * vectorNorm(exact)) + theta / epsilon + 1);
    const err = relativeError(hv, exact);
    assert.ok(err <= bound, `ε ${epsilon}: error ${err} > bound ${bound}`);
  }
  treeDispose(params);
});

Deno.test("chunks are weighted by size/n: any chunking gives the same mean-loss HVP and gradient", () => {
  const { params, state } = model.init(rngKey(0, "test", "lsq"));
  const results = [7, 32, 100, 128].map((chunk) => {
    const op = createHvp({
      model,
      params,
      state,
      data: splitBatch(data, 30), // arrives in batches of 30, regrouped into chunks
      loss: squaredLoss,
      chunk,
      epsilon: 1,
    });
    assert.equal(op.examples, N);
    assert.equal(op.chunks, Math.ceil(N / chunk));
    const out = { hv: op.apply(v), g: op.gradient() };
    op.dispose();
    return out;
  });
  // Exact gradient: Xᵀ(Xw − y)/n and loss ½·mean((Xw − y)²) in float64.
  const w = treeToVector(params);
  const grad = new Float64Array(D);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    let r = -data.y[i];
    for (let j = 0; j < D; j++) r += data.x[i * D + j] * w[j];
    loss += 0.5 * r * r / N;
    for (let j = 0; j < D; j++) grad[j] += (data.x[i * D + j] * r) / N;
  }
  for (const r of results) {
    assert.ok(relativeError(r.hv, matVec(H, v)) < 1e-6);
    assert.ok(relativeError(r.g.grad, grad) < 1e-6);
    assert.ok(Math.abs(r.g.loss - loss) < 1e-6 * loss);
  }
  treeDispose(params);
});

Deno.test("Lanczos on the finite-difference HVP recovers the exact top eigenvalues", () => {
  const { params, state } = model.init(rngKey(0, "test", "lsq"));
  const exact = symmetricEigen(H, D).values;
  const op = createHvp({ model, params, state, data: [data], loss: squaredLoss, epsilon: 1 });
  const r = lanczos(op, {
    key: rngKey(0, "test", "lanczos"),
    k: 2,
    maxIterations: D,
    tolerance: 1e-6,
  });
  op.dispose();
  assert.ok(
    Math.abs(r.eigenvalues[0] - exact[0]) < 1e-5 * exact[0],
    `${r.eigenvalues} vs ${exact}`,
  );
  assert.ok(Math.abs(r.eigenvalues[1] - exact[1]) < 1e-5 * exact[0]);
  assert.equal(op.hvps, r.iterations);
  assert.equal(op.gradients, 2 * r.iterations);
  treeDispose(params);
});

Deno.test("the HVP frees every tensor it creates", () => {
  const { params, state } = model.init(rngKey(0, "test", "lsq"));
  const before = tf.memory().numTensors;
  const op = createHvp({ model, params, state, data: [data], loss: squaredLoss, chunk: 32 });
  const held = tf.memory().numTensors;
  assert.equal(held - before, 2 * op.chunks); // the uploaded subset: x and y per chunk
  op.apply(v);
  op.apply(new Float64Array(D)); // the zero vector: no product, no tensors
  op.gradient();
  assert.equal(tf.memory().numTensors, held);
  op.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => op.apply(new Float64Array(D + 1)), RangeError);
  treeDispose(params);
});

Deno.test("BatchNorm mode: train uses per-chunk statistics, eval the running ones; state is never updated", () => {
  const m = tinyModel();
  const deps = tinyDeps(m);
  const { params, state } = m.init(rngKey(0, "test", "tiny"));
  const batches = [...deps.testBatches()];
  const before = treeToArrays(state);
  const loss = deps.evalLoss;
  const probe = createRng(rngKey(0, "test", "probe")).normals(15);
  const hv = (bnMode: "train" | "eval", chunk: number) => {
    const op = createHvp({
      model: m,
      params,
      state,
      data: batches,
      loss,
      bnMode,
      chunk,
      epsilon: 1e-2,
    });
    const out = op.apply(probe);
    op.dispose();
    return out;
  };
  const train = hv("train", 20);
  const evalMode = hv("eval", 20);
  assert.ok(relativeError(train, evalMode) > 1e-2, "train and eval mode should differ");
  // In eval mode the chunk size does not change the function; in train mode it does.
  assert.ok(relativeError(hv("eval", 7), evalMode) < 1e-4);
  assert.ok(relativeError(hv("train", 7), train) > 1e-3);
  assert.deepEqual(treeToArrays(state), before);
  treeDispose(params, state);
});

Deno.test("rechunk regroups examples in order", () => {
  const chunks = [...rechunk(splitBatch(data, 30), 45)];
  assert.deepEqual(chunks.map((c) => c.size), [45, 45, 10]);
  assert.deepEqual(Float32Array.from(chunks.flatMap((c) => [...c.x])), data.x);
  assert.deepEqual(Int32Array.from(chunks.flatMap((c) => [...c.y])), data.y);
  assert.throws(() => [...rechunk([data], 0)], RangeError);
});

Deno.test("measureSharpness is bitwise deterministic for a fixed seed and counts its HVPs", () => {
  const m = tinyModel();
  const deps = tinyDeps(m);
  const { params, state } = m.init(rngKey(0, "test", "tiny"));
  const batches = [...deps.testBatches()];
  const run = (seed: number) =>
    measureSharpness({
      model: m,
      params,
      state,
      data: batches,
      loss: deps.evalLoss,
      key: rngKey(seed, "sharpness"),
      chunk: 20,
      k: 2,
      lanczosIterations: 8,
      powerIterations: 5,
      traceProbes: 4,
    });
  const a = run(0);
  const b = run(0);
  const c = run(1);
  const strip = (r: typeof a) => ({ ...r, seconds: 0 });
  assert.deepEqual(strip(a), strip(b));
  assert.notDeepEqual(a.trace!.samples, c.trace!.samples);
  assert.equal(a.hvps, a.lanczos.iterations + a.power!.iterations + a.trace!.probes);
  assert.equal(a.gradients, 2 * a.hvps);
  assert.equal(a.lambdaMax, a.eigenvalues[0]);
  assert.equal(a.operator.examples, 60);
  assert.equal(a.operator.chunks, 3);
  assert.throws(
    () =>
      measureSharpness({
        ...{ model: m, params, state, data: batches, loss: deps.evalLoss },
        key: rngKey(0),
        k: 3,
        lanczosIterations: 2,
      }),
    /lanczosIterations/,
  );
  treeDispose(params, state);
});
