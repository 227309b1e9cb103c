import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { applyUpdates, sgd, type SgdState } from "../../../core/optim/sgd.ts";
import { type Tree, treeDispose } from "../../../core/tree.ts";

await tf.setBackend("cpu");

// Quadratic on a two-leaf tree θ = {x ∈ R², y ∈ R¹}:
//   L(θ) = ½ xᵀAx − bᵀx + ½·c·y² − d·y,  A = [[2, 1], [1, 3]], b = (−1, 1), c = 4, d = 4,
//   ∇ₓL = Ax − b,  ∇ᵧL = c·y − d.
// At θ₀ = (x = (1, 0), y = 2) the gradient is (3, 0 | 4).
function quadGrads(p: Tree): Tree {
  const [x1, x2] = p.x.dataSync();
  const [y] = p.y.dataSync();
  return {
    x: tf.tensor1d([2 * x1 + x2 + 1, x1 + 3 * x2 - 1]),
    y: tf.tensor1d([4 * y - 4]),
  };
}

function theta0(): Tree {
  return { x: tf.tensor1d([1, 0]), y: tf.tensor1d([2]) };
}

function assertClose(actual: tf.Tensor, expected: number[], tol = 1e-6): void {
  const got = Array.from(actual.dataSync());
  assert.equal(got.length, expected.length);
  got.forEach((v, i) => {
    const ok = Math.abs(v - expected[i]) <= tol * Math.max(1, Math.abs(expected[i]));
    assert.ok(ok, `element ${i}: got ${v}, expected ${expected[i]} (all: ${got})`);
  });
}

/** One transform step on the quadratic; disposes the old params/state, returns the new ones. */
function quadStep(
  base: ReturnType<typeof sgd>,
  params: Tree,
  state: SgdState,
  lr: number,
): { params: Tree; state: SgdState } {
  const grads = quadGrads(params);
  const { updates, state: next } = base.update({ grads, state, params, lr });
  const newParams = applyUpdates(params, updates);
  treeDispose(grads, updates, params, state.momentum ?? undefined);
  return { params: newParams, state: next };
}

Deno.test("applyUpdates adds leaf by leaf into fresh tensors", () => {
  const p = theta0();
  const u = { x: tf.tensor1d([0.5, -1]), y: tf.tensor1d([-2]) };
  const out = applyUpdates(p, u);
  assertClose(out.x, [1.5, -1]);
  assertClose(out.y, [0]);
  assert.notEqual(out.x, p.x);
  assertClose(p.x, [1, 0]);
  treeDispose(p, u, out);
});

Deno.test("sgd without momentum steps θ − lr·g and keeps no buffer", () => {
  const base = sgd({ momentum: 0, weightDecay: 0 });
  const params = theta0();
  const state = base.init(params);
  assert.deepEqual(state, { step: 0, momentum: null });
  const grads = { x: tf.tensor1d([3, 0]), y: tf.tensor1d([4]) };
  const { updates, state: next } = base.update({ grads, state, params, lr: 0.1 });
  // updates = −0.1·(3, 0 | 4) = (−0.3, 0 | −0.4); θ₁ = (0.7, 0 | 1.6)
  assertClose(updates.x, [-0.3, 0]);
  assertClose(updates.y, [-0.4]);
  const p1 = applyUpdates(params, updates);
  assertClose(p1.x, [0.7, 0]);
  assertClose(p1.y, [1.6]);
  assert.equal(next.step, 1);
  assert.equal(next.momentum, null);
  treeDispose(params, grads, updates, p1);
});

Deno.test("momentum buffer is d on the first step and μ·buf + d on the second", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 0 });
  let params = theta0();
  let state = base.init(params);
  ({ params, state } = quadStep(base, params, state, 0.1));
  // Step 1: buf = g₀ = (3, 0 | 4); θ₁ = (1 − 0.3, 0 | 2 − 0.4) = (0.7, 0 | 1.6)
  assert.ok(state.momentum);
  assertClose(state.momentum.x, [3, 0]);
  assertClose(state.momentum.y, [4]);
  assertClose(params.x, [0.7, 0]);
  assertClose(params.y, [1.6]);
  ({ params, state } = quadStep(base, params, state, 0.1));
  // Step 2: g₁ = (2·0.7 + 0 + 1, 0.7 + 0 − 1 | 4·1.6 − 4) = (2.4, −0.3 | 2.4)
  //   buf = 0.9·(3, 0 | 4) + (2.4, −0.3 | 2.4) = (5.1, −0.3 | 6.0)
  //   θ₂ = (0.7 − 0.51, 0 + 0.03 | 1.6 − 0.6) = (0.19, 0.03 | 1.0)
  assert.ok(state.momentum);
  assertClose(state.momentum.x, [5.1, -0.3]);
  assertClose(state.momentum.y, [6.0]);
  assertClose(params.x, [0.19, 0.03]);
  assertClose(params.y, [1.0]);
  assert.equal(state.step, 2);
  treeDispose(params, state.momentum);
});

Deno.test("coupled weight decay adds wd·θ at the current params before momentum", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 0.5 });
  let params = theta0();
  let state = base.init(params);
  ({ params, state } = quadStep(base, params, state, 0.1));
  // Step 1: d = (3, 0 | 4) + 0.5·(1, 0 | 2) = (3.5, 0 | 5) = buf
  //   θ₁ = (1 − 0.35, 0 | 2 − 0.5) = (0.65, 0 | 1.5)
  assert.ok(state.momentum);
  assertClose(state.momentum.x, [3.5, 0]);
  assertClose(state.momentum.y, [5]);
  assertClose(params.x, [0.65, 0]);
  assertClose(params.y, [1.5]);
  ({ params, state } = quadStep(base, params, state, 0.1));
  // Step 2: g₁ = (1.3 + 0 + 1, 0.65 + 0 − 1 | 6 − 4) = (2.3, −0.35 | 2)
  //   d = g₁ + 0.5·(0.65, 0 | 1.5) = (2.625, −0.35 | 2.75)
  //   buf = 0.9·(3.5, 0 | 5) + d = (5.775, −0.35 | 7.25)
  //   θ₂ = (0.65 − 0.5775, 0 + 0.035 | 1.5 − 0.725) = (0.0725, 0.035 | 0.775)
  assert.ok(state.momentum);
  assertClose(state.momentum.x, [5.775, -0.35]);
  assertClose(state.momentum.y, [7.25]);
  assertClose(params.x, [0.0725, 0.035]);
  assertClose(params.y, [0.775]);
  treeDispose(params, state.momentum);
});

Deno.test("sgd update neither modifies nor disposes its inputs, and its outputs do not alias them", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 0 });
  const params = theta0();
  const grads = { x: tf.tensor1d([3, 0]), y: tf.tensor1d([4]) };
  const s0 = base.init(params);
  const r1 = base.update({ grads, state: s0, params, lr: 0.1 });
  const r2 = base.update({ grads, state: r1.state, params, lr: 0.1 });
  for (const t of [params.x, params.y, grads.x, grads.y]) assert.equal(t.isDisposed, false);
  assertClose(params.x, [1, 0]);
  assertClose(grads.y, [4]);
  // The old state is still the caller's: buf₁ = (3, 0 | 4), untouched by the second update.
  assert.ok(r1.state.momentum);
  assertClose(r1.state.momentum.x, [3, 0]);
  // With wd = 0 the first buffer equals g but must be its own tensor.
  treeDispose(grads);
  assertClose(r1.state.momentum.y, [4]);
  treeDispose(params, r1.updates, r2.updates, r1.state.momentum, r2.state.momentum ?? undefined);
});

Deno.test("invalid sgd options throw with the option named", () => {
  assert.throws(() => sgd({ momentum: 1, weightDecay: 0 }), /"momentum"/);
  assert.throws(() => sgd({ momentum: -0.1, weightDecay: 0 }), /"momentum"/);
  assert.throws(() => sgd({ momentum: NaN, weightDecay: 0 }), /"momentum"/);
  assert.throws(() => sgd({ momentum: 0.9, weightDecay: -1e-4 }), /"weightDecay"/);
  assert.throws(() => sgd({ momentum: 0.9, weightDecay: Infinity }), /"weightDecay"/);
  const base = sgd({ momentum: 0.9, weightDecay: 0 });
  const params = theta0();
  const grads = { x: tf.tensor1d([3, 0]), y: tf.tensor1d([4]) };
  const state = base.init(params);
  assert.throws(() => base.update({ grads, state, params, lr: NaN }), /"lr"/);
  assert.throws(() => base.update({ grads, state, params, lr: -0.1 }), /"lr"/);
  treeDispose(params, grads);
});

Deno.test("a momentum buffer given to a momentum-free sgd is rejected", () => {
  const base = sgd({ momentum: 0, weightDecay: 0 });
  const params = theta0();
  const grads = { x: tf.tensor1d([3, 0]), y: tf.tensor1d([4]) };
  const state = { step: 1, momentum: { x: tf.tensor1d([1, 1]), y: tf.tensor1d([1]) } };
  assert.throws(() => base.update({ grads, state, params, lr: 0.1 }), /momentum/);
  treeDispose(params, grads, state.momentum);
});

Deno.test("sgd leaks no tensors over 20 steps", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 5e-4 });
  let params = theta0();
  let state = base.init(params);
  ({ params, state } = quadStep(base, params, state, 0.01));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) ({ params, state } = quadStep(base, params, state, 0.01));
  assert.equal(tf.memory().numTensors, before);
  treeDispose(params, state.momentum ?? undefined);
});
