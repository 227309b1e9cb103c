import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { sgd, type SgdState } from "../../../core/optim/sgd.ts";
import {
  disposeSgdState,
  type LossAndGrad,
  type OptimizerSpec,
  optimizerStep,
  switchOptimizerState,
} from "../../../core/optim/step.ts";
import { type Tree, treeDispose, treeKeys } from "../../../core/tree.ts";

await tf.setBackend("cpu");

// Quadratic on a two-leaf tree θ = {x ∈ R², y ∈ R¹}:
//   L(θ) = ½ xᵀAx − bᵀx + ½·c·y² − d·y,  A = [[2, 1], [1, 3]], b = (−1, 1), c = 4, d = 4,
//   ∇ₓL = Ax − b = (2x₁ + x₂ + 1, x₁ + 3x₂ − 1),  ∇ᵧL = 4y − 4.
// At θ₀ = (x = (1, 0), y = 2): L = ½·2 + 1 + ½·4·4 − 8 = 2 and g = (3, 0 | 4), ‖g‖ = 5.
const A = tf.tensor2d([[2, 1], [1, 3]]);
const B = tf.tensor1d([-1, 1]);

function quadLoss(p: Tree): tf.Scalar {
  const ax = tf.reshape(tf.matMul(A, tf.reshape(p.x, [2, 1])), [2]);
  const xPart = tf.sub(tf.mul(0.5, tf.dot(p.x, ax)), tf.dot(B, p.x));
  const yPart = tf.sum(tf.sub(tf.mul(2, tf.square(p.y)), tf.mul(4, p.y)));
  return tf.add(xPart, yPart) as tf.Scalar;
}

/** Loss and gradient by autodiff (tf.valueAndGrads), as a model's closure would do. */
const quadLossAndGrad: LossAndGrad = (params) =>
  tf.tidy(() => {
    const keys = treeKeys(params);
    const f = (...xs: tf.Tensor[]) =>
      quadLoss(Object.fromEntries(keys.map((k, i) => [k, xs[i]])) as Tree);
    const { value, grads } = tf.valueAndGrads(f)(keys.map((k) => params[k]));
    return { loss: value, grads: Object.fromEntries(keys.map((k, i) => [k, grads[i]])) as Tree };
  });

/** Wraps the quadratic closure: records every point it is called at and returns a model state
 * whose single value is the pass index (1, 2, ...), keeping the returned tensors to inspect. */
function recording() {
  const seen: number[][] = [];
  const returned: { loss: tf.Scalar; grads: Tree; state: Tree }[] = [];
  const lossAndGrad: LossAndGrad = (params) => {
    seen.push([...params.x.dataSync(), ...params.y.dataSync()]);
    const r = quadLossAndGrad(params);
    const out = { ...r, state: { "bn/mean": tf.tensor1d([seen.length]) } };
    returned.push(out);
    return out;
  };
  return { seen, returned, lossAndGrad };
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

function assertArraysClose(actual: number[], expected: number[], tol = 1e-6): void {
  assertClose(tf.tidy(() => tf.tensor1d(actual)), expected, tol);
}

function disposeResult(r: ReturnType<typeof optimizerStep>): void {
  treeDispose(r.params, r.modelState);
  disposeSgdState(r.state);
  r.loss.dispose();
}

Deno.test("sgd step takes one pass at θ and applies the base update", () => {
  const rec = recording();
  const base = sgd({ momentum: 0, weightDecay: 0 });
  const params = theta0();
  const r = optimizerStep({
    spec: { kind: "sgd" },
    lossAndGrad: rec.lossAndGrad,
    params,
    state: base.init(params),
    base,
    lr: 0.1,
  });
  // θ₁ = θ₀ − 0.1·(3, 0 | 4) = (0.7, 0 | 1.6); loss at θ₀ is 2.
  assert.equal(rec.seen.length, 1);
  assertClose(r.params.x, [0.7, 0]);
  assertClose(r.params.y, [1.6]);
  assertClose(r.loss, [2]);
  assert.ok(r.modelState);
  assertClose(r.modelState["bn/mean"], [1]);
  assert.equal(rec.returned[0].grads.x.isDisposed, true);
  treeDispose(params);
  disposeResult(r);
});

Deno.test("sam step: descent gradient at θ+e, weight decay at θ", () => {
  const rec = recording();
  const base = sgd({ momentum: 0.9, weightDecay: 0.5 });
  const params = theta0();
  const r = optimizerStep({
    spec: { kind: "sam", rho: 0.5 },
    lossAndGrad: rec.lossAndGrad,
    params,
    state: base.init(params),
    base,
    lr: 0.1,
  });
  // e = 0.5·(3, 0 | 4)/5 = (0.3, 0 | 0.4); pass 2 at θ + e = (1.3, 0 | 2.4)
  assert.equal(rec.seen.length, 2);
  assertArraysClose(rec.seen[0], [1, 0, 2]);
  assertArraysClose(rec.seen[1], [1.3, 0, 2.4]);
  // g₂ = (2·1.3 + 0 + 1, 1.3 + 0 − 1 | 4·2.4 − 4) = (3.6, 0.3 | 5.6)
  // d = g₂ + 0.5·θ₀ = (3.6 + 0.5, 0.3 + 0 | 5.6 + 1.0) = (4.1, 0.3 | 6.6) = buf (first step)
  //   (wd at θ + e would give (4.25, 0.3 | 6.8))
  // θ₁ = θ₀ − 0.1·buf = (0.59, −0.03 | 1.34)
  assert.ok(r.state.momentum);
  assertClose(r.state.momentum.x, [4.1, 0.3]);
  assertClose(r.state.momentum.y, [6.6]);
  assertClose(r.params.x, [0.59, -0.03]);
  assertClose(r.params.y, [1.34]);
  assert.equal(r.state.step, 1);
  treeDispose(params);
  disposeResult(r);
});

Deno.test("usam step perturbs by ρ·g before the descent pass", () => {
  const rec = recording();
  const base = sgd({ momentum: 0, weightDecay: 0 });
  const params = theta0();
  const r = optimizerStep({
    spec: { kind: "usam", rho: 0.1 },
    lossAndGrad: rec.lossAndGrad,
    params,
    state: base.init(params),
    base,
    lr: 0.1,
  });
  // e = 0.1·(3, 0 | 4) = (0.3, 0 | 0.4); g₂ = (3.6, 0.3 | 5.6) as above
  // θ₁ = (1 − 0.36, 0 − 0.03 | 2 − 0.56) = (0.64, −0.03 | 1.44)
  assertArraysClose(rec.seen[1], [1.3, 0, 2.4]);
  assertClose(r.params.x, [0.64, -0.03]);
  assertClose(r.params.y, [1.44]);
  treeDispose(params);
  disposeResult(r);
});

Deno.test("asam step perturbs by ρ·θ²⊙g/‖|θ|⊙g‖ before the descent pass", () => {
  const rec = recording();
  const base = sgd({ momentum: 0, weightDecay: 0 });
  const params = theta0();
  // |θ₀|⊙g = (3, 0 | 8), norm √73; θ₀²⊙g = (3, 0 | 16). With ρ = 0.1·√73: e = (0.3, 0 | 1.6)
  const r = optimizerStep({
    spec: { kind: "asam", rho: 0.1 * Math.sqrt(73) },
    lossAndGrad: rec.lossAndGrad,
    params,
    state: base.init(params),
    base,
    lr: 0.1,
  });
  // θ + e = (1.3, 0 | 3.6); g₂ = (3.6, 0.3 | 4·3.6 − 4 = 10.4)
  // θ₁ = (1 − 0.36, −0.03 | 2 − 1.04) = (0.64, −0.03 | 0.96)
  assertArraysClose(rec.seen[1], [1.3, 0, 3.6]);
  assertClose(r.params.x, [0.64, -0.03]);
  assertClose(r.params.y, [0.96]);
  treeDispose(params);
  disposeResult(r);
});

Deno.test("sam step returns pass 1's loss and model state and disposes pass 2's", () => {
  const rec = recording();
  const base = sgd({ momentum: 0.9, weightDecay: 0 });
  const params = theta0();
  const r = optimizerStep({
    spec: { kind: "sam", rho: 0.5 },
    lossAndGrad: rec.lossAndGrad,
    params,
    state: base.init(params),
    base,
    lr: 0.1,
  });
  const [pass1, pass2] = rec.returned;
  // Loss at θ₀ is 2 (at θ + e it would be ½·1.3·2.6 + 1.3 + 2·2.4² − 9.6 = 5.665).
  assert.equal(r.loss, pass1.loss);
  assertClose(r.loss, [2]);
  assert.equal(r.modelState, pass1.state);
  assertClose(r.modelState["bn/mean"], [1]);
  assert.equal(pass2.state["bn/mean"].isDisposed, true);
  assert.equal(pass2.loss.isDisposed, true);
  for (const g of [pass1.grads, pass2.grads]) {
    for (const k of treeKeys(g)) assert.equal(g[k].isDisposed, true);
  }
  treeDispose(params);
  disposeResult(r);
});

Deno.test("optimizerStep neither modifies nor disposes params or state", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 0.5 });
  const params = theta0();
  // A state with a buffer, so the momentum path reads it.
  const state: SgdState = {
    step: 3,
    momentum: { x: tf.tensor1d([1, -1]), y: tf.tensor1d([0.5]) },
  };
  for (const spec of [{ kind: "sgd" }, { kind: "sam", rho: 0.5 }] as OptimizerSpec[]) {
    const r = optimizerStep({ spec, lossAndGrad: quadLossAndGrad, params, state, base, lr: 0.1 });
    assert.notEqual(r.params.x, params.x);
    assert.ok(r.state.momentum);
    assert.notEqual(r.state.momentum.x, state.momentum?.x);
    assert.equal(r.state.step, 4);
    disposeResult(r);
  }
  assertClose(params.x, [1, 0]);
  assertClose(params.y, [2]);
  assert.equal(state.step, 3);
  assert.ok(state.momentum);
  assertClose(state.momentum.x, [1, -1]);
  assertClose(state.momentum.y, [0.5]);
  treeDispose(params);
  disposeSgdState(state);
});

Deno.test("switchOptimizerState resets momentum by default", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 0 });
  const params = theta0();
  const r = optimizerStep({
    spec: { kind: "sgd" },
    lossAndGrad: quadLossAndGrad,
    params,
    state: base.init(params),
    base,
    lr: 0.1,
  });
  assert.ok(r.state.momentum);
  const fresh = switchOptimizerState({ state: r.state, base, params: r.params });
  assert.deepEqual(fresh, { step: 0, momentum: null });
  // The old state is left to its owner.
  assert.equal(r.state.momentum.x.isDisposed, false);
  treeDispose(params);
  disposeResult(r);
});

Deno.test("switchOptimizerState keeps a copy of the buffer with keepMomentum", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 0 });
  const params = theta0();
  const r = optimizerStep({
    spec: { kind: "sgd" },
    lossAndGrad: quadLossAndGrad,
    params,
    state: base.init(params),
    base,
    lr: 0.1,
  });
  const kept = switchOptimizerState({
    state: r.state,
    base,
    params: r.params,
    keepMomentum: true,
  });
  assert.equal(kept.step, 1);
  assert.ok(kept.momentum);
  disposeResult(r); // the copy survives disposal of the original
  assertClose(kept.momentum.x, [3, 0]);
  assertClose(kept.momentum.y, [4]);
  treeDispose(params);
  disposeSgdState(kept);
});

Deno.test("zero gradient under a sam step gives e = 0 and no NaN", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 0 });
  const params = theta0();
  const seen: number[][] = [];
  const flat: LossAndGrad = (p) => {
    seen.push([...p.x.dataSync(), ...p.y.dataSync()]);
    return { loss: tf.scalar(1), grads: { x: tf.zeros([2]), y: tf.zeros([1]) } };
  };
  const r = optimizerStep({
    spec: { kind: "sam", rho: 0.05 },
    lossAndGrad: flat,
    params,
    state: base.init(params),
    base,
    lr: 0.1,
  });
  assert.deepEqual(seen, [[1, 0, 2], [1, 0, 2]]);
  assertClose(r.params.x, [1, 0]);
  assertClose(r.params.y, [2]);
  treeDispose(params);
  disposeResult(r);
});

function runSteps(spec: OptimizerSpec, steps: number): Uint8Array[] {
  const base = sgd({ momentum: 0.9, weightDecay: 5e-4 });
  let params: Tree = { x: tf.tensor1d([0.3141593, -1.234567]), y: tf.tensor1d([2.7182818]) };
  let state = base.init(params);
  for (let i = 0; i < steps; i++) {
    const r = optimizerStep({ spec, lossAndGrad: quadLossAndGrad, params, state, base, lr: 0.05 });
    treeDispose(params, r.modelState);
    disposeSgdState(state);
    r.loss.dispose();
    ({ params, state } = r);
  }
  const bytes = [params.x, params.y, ...(state.momentum ? [state.momentum.x] : [])].map((t) =>
    new Uint8Array((t.dataSync() as Float32Array).slice().buffer)
  );
  treeDispose(params);
  disposeSgdState(state);
  return bytes;
}

Deno.test("two identical runs give bitwise identical params and momentum", () => {
  for (const kind of ["sgd", "sam", "usam", "asam"] as const) {
    const spec: OptimizerSpec = kind === "sgd" ? { kind } : { kind, rho: 0.05 };
    assert.deepEqual(runSteps(spec, 5), runSteps(spec, 5));
  }
});

Deno.test("no tensor leak over 20 steps of every optimizer, model state included", () => {
  for (const kind of ["sgd", "sam", "usam", "asam"] as const) {
    const spec: OptimizerSpec = kind === "sgd" ? { kind } : { kind, rho: 0.05 };
    const base = sgd({ momentum: 0.9, weightDecay: 5e-4 });
    let params = theta0();
    let state = base.init(params);
    const step = () => {
      const r = optimizerStep({
        spec,
        lossAndGrad: recording().lossAndGrad,
        params,
        state,
        base,
        lr: 0.01,
      });
      treeDispose(params, r.modelState);
      disposeSgdState(state);
      r.loss.dispose();
      ({ params, state } = r);
    };
    step(); // warm-up: the momentum buffer now exists
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    assert.equal(tf.memory().numTensors, before, `leak under ${kind}`);
    treeDispose(params);
    disposeSgdState(state);
  }
});

Deno.test("a failing second pass leaks nothing and leaves the inputs intact", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 0 });
  const params = theta0();
  const state = base.init(params);
  let calls = 0;
  const failing: LossAndGrad = (p) => {
    if (++calls === 2) throw new Error("boom");
    return { ...quadLossAndGrad(p), state: { s: tf.scalar(0) } };
  };
  const before = tf.memory().numTensors;
  assert.throws(
    () =>
      optimizerStep({
        spec: { kind: "sam", rho: 0.05 },
        lossAndGrad: failing,
        params,
        state,
        base,
        lr: 0.1,
      }),
    /boom/,
  );
  assert.equal(tf.memory().numTensors, before);
  assertClose(params.x, [1, 0]);
  treeDispose(params);
});

Deno.test("invalid step arguments throw with the argument named", () => {
  const base = sgd({ momentum: 0.9, weightDecay: 0 });
  const params = theta0();
  const state = base.init(params);
  const common = { lossAndGrad: quadLossAndGrad, params, state, base };
  const before = tf.memory().numTensors;
  assert.throws(
    () => optimizerStep({ ...common, spec: { kind: "adam" } as unknown as OptimizerSpec, lr: 0.1 }),
    /"kind"/,
  );
  assert.throws(
    () => optimizerStep({ ...common, spec: { kind: "sam", rho: -1 }, lr: 0.1 }),
    /"rho"/,
  );
  assert.throws(() => optimizerStep({ ...common, spec: { kind: "sgd" }, lr: NaN }), /"lr"/);
  assert.equal(tf.memory().numTensors, before);
  treeDispose(params);
});
