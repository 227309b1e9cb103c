import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  interpolateStates,
  lambdaGrid,
  lineCurvature,
  lineProfile,
  treeToVector,
} from "../../../core/metrics/mod.ts";
import { rngKey } from "../../../core/random.ts";
import { evaluate } from "../../../core/train.ts";
import { treeDispose, treeToArrays } from "../../../core/tree.ts";
import { tinyDeps, tinyModel } from "../train_helpers.ts";
import { gramMatrix, leastSquaresModel, regressionData, squaredLoss } from "./_models.ts";
import { matVec } from "./_helpers.ts";

await tf.setBackend("cpu");

function bits(tree: Record<string, tf.Tensor>) {
  return Object.fromEntries(
    Object.entries(treeToArrays(tree)).map(([k, v]) => [k, new Uint32Array(v.buffer.slice(0))]),
  );
}

Deno.test("interpolation at λ = 0 and 1 reproduces A and B bitwise, state included", () => {
  const m = tinyModel();
  const a = m.init(rngKey(0, "test", "a"));
  const b = m.init(rngKey(1, "test", "b"));
  a.state["center/mean"].dispose();
  a.state["center/mean"] = tf.tensor1d([-0, 1.5, -2, 3]); // −0 must survive as −0
  b.state["center/mean"].dispose();
  b.state["center/mean"] = tf.tensor1d([4, 0.25, 7, -1]);
  const at0 = interpolateStates(a, b, 0);
  const at1 = interpolateStates(a, b, 1);
  assert.deepEqual(bits(at0.params), bits(a.params));
  assert.deepEqual(bits(at0.state), bits(a.state));
  assert.deepEqual(bits(at1.params), bits(b.params));
  assert.deepEqual(bits(at1.state), bits(b.state));
  const mid = interpolateStates(a, b, 0.25);
  assert.deepEqual(
    Array.from(mid.state["center/mean"].dataSync()),
    Array.from(
      Float32Array.from([0.75 * 0 + 0.25 * 4, 0.75 * 1.5 + 0.0625, -1.5 + 1.75, 2.25 - 0.25]),
    ),
  );
  const wa = a.params["dense/kernel"].dataSync();
  const wb = b.params["dense/kernel"].dataSync();
  const wm = mid.params["dense/kernel"].dataSync();
  wm.forEach((x, i) => assert.equal(x, Math.fround(0.75 * wa[i] + 0.25 * wb[i])));
  treeDispose(a.params, a.state, b.params, b.state, at0.params, at0.state, at1.params, at1.state);
  treeDispose(mid.params, mid.state);
});

Deno.test("interpolation rejects mismatched trees", () => {
  const m = tinyModel();
  const a = m.init(rngKey(0, "test", "a"));
  const b = tinyModel(4).init(rngKey(0, "test", "b"));
  assert.throws(() => interpolateStates(a, b, 0.5), /shape mismatch/);
  assert.throws(() => interpolateStates(a, a, NaN), RangeError);
  treeDispose(a.params, a.state, b.params, b.state);
});

Deno.test("lambdaGrid gives exact decimal points and rejects ragged grids", () => {
  const grid = lambdaGrid(-0.2, 1.2, 0.05);
  assert.equal(grid.length, 29);
  assert.equal(grid[0], -0.2);
  assert.equal(grid[4], 0);
  assert.equal(grid[7], 0.15);
  assert.equal(grid[24], 1);
  assert.equal(grid[28], 1.2);
  assert.throws(() => lambdaGrid(0, 1, 0.3), /whole number/);
  assert.throws(() => lambdaGrid(1, 0, 0.1), RangeError);
});

Deno.test("L″ of a quadratic path is the paper's formula exactly: a/2 for aλ² + bλ + c", () => {
  const grid = lambdaGrid(-0.2, 1.2, 0.05);
  const [a, b, c] = [3, -1.25, 0.5];
  const curvature = lineCurvature(grid, grid.map((l) => a * l * l + b * l + c), 0.1);
  grid.forEach((l, i) => {
    if (l < -0.1 - 1e-12 || l > 1.1 + 1e-12) assert.equal(curvature[i], null, `λ ${l}`);
    else assert.ok(Math.abs(curvature[i]! - a / 2) < 1e-12, `λ ${l}: ${curvature[i]}`);
  });
  assert.equal(curvature.filter((x) => x !== null).length, 25);
  // A grid of step 0.1 also works; step 0.15 never holds λ ± 0.1.
  assert.ok(
    lineCurvature(lambdaGrid(0, 1, 0.1), lambdaGrid(0, 1, 0.1).map((l) => l * l)).every((x, i) =>
      (i === 0 || i === 10) ? x === null : Math.abs(x! - 0.5) < 1e-12
    ),
  );
  assert.ok(
    lineCurvature(lambdaGrid(0, 1.5, 0.15), lambdaGrid(0, 1.5, 0.15)).every((x) => x === null),
  );
});

Deno.test("lineProfile: ends equal the end points' evaluations; L″ of a quadratic loss is ¼·ΔᵀHΔ", () => {
  const d = 6;
  const model = leastSquaresModel(d);
  const data = regressionData(80, d, 3);
  const a = model.init(rngKey(0, "test", "line-a"));
  const b = model.init(rngKey(1, "test", "line-b"));
  const before = tf.memory().numTensors;
  const rows = lineProfile({
    model,
    a,
    b,
    lambdas: lambdaGrid(-0.2, 1.2, 0.1),
    splits: { train: [data], test: [regressionData(30, d, 4)] },
    loss: squaredLoss,
    chunk: 32,
  });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(rows.length, 2 * 15);
  assert.deepEqual([...new Set(rows.map((r) => r.split))], ["train", "test"]);
  const deps = { ...tinyDeps(), model, evalLoss: squaredLoss };
  const train = rows.filter((r) => r.split === "train");
  const at = (l: number) => train.find((r) => Math.abs(r.lambda - l) < 1e-9)!;
  // The ends are exactly A and B: their losses agree with the training loop's evaluation up
  // to float32 summation order (chunks of 32 here, one batch there).
  for (const [lambda, end] of [[0, a], [1, b]] as const) {
    const want = evaluate(deps, { params: end.params, modelState: end.state }, [data]).loss;
    assert.ok(
      Math.abs(at(lambda).loss - want) < 1e-6 * want,
      `λ ${lambda}: ${at(lambda).loss} vs ${want}`,
    );
  }
  // L(λ) = ½·mean((X(A + λΔ) − y)²) is quadratic with d²L/dλ² = ΔᵀHΔ, H = XᵀX/n.
  const delta = treeToVector(b.params).map((x, i) => x - treeToVector(a.params)[i]);
  const want = matVec(gramMatrix(data, d), delta).reduce((s, x, i) => s + x * delta[i], 0) / 4;
  for (const r of train) {
    if (r.lambda < -0.1 - 1e-9 || r.lambda > 1.1 + 1e-9) assert.equal(r.curvature, null);
    // Float32 losses (~10) differenced over (2h)² = 0.04: error ~ u·L/0.04 ≈ 2e-5.
    else {assert.ok(
        Math.abs(r.curvature! - want) < 1e-3 * want,
        `λ ${r.lambda}: ${r.curvature} vs ${want}`,
      );}
  }
  treeDispose(a.params, b.params);
});
