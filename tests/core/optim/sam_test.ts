import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { samPerturbation, type SamVariant } from "../../../core/optim/sam.ts";
import { type Tree, treeDispose } from "../../../core/tree.ts";

await tf.setBackend("cpu");

function tree(x: number[], y: number[]): Tree {
  return { x: tf.tensor1d(x), y: tf.tensor1d(y) };
}

function assertClose(actual: tf.Tensor, expected: number[], tol = 1e-6): void {
  const got = Array.from(actual.dataSync());
  assert.equal(got.length, expected.length);
  got.forEach((v, i) => {
    const ok = Math.abs(v - expected[i]) <= tol * Math.max(1, Math.abs(expected[i]));
    assert.ok(ok, `element ${i}: got ${v}, expected ${expected[i]} (all: ${got})`);
  });
}

Deno.test("sam normalizes by the global norm across both leaves, not per leaf", () => {
  const params = tree([1, 0], [2]);
  const grads = tree([3, 0], [4]);
  const e = samPerturbation({ grads, params, rho: 0.5, variant: "sam" });
  // ‖g‖ = √(3² + 0² + 4²) = 5 over BOTH leaves; e = 0.5·(3, 0 | 4)/5 = (0.3, 0 | 0.4).
  // Per-leaf norms (3 and 4) would give (0.5, 0 | 0.5) instead.
  assertClose(e.x, [0.3, 0]);
  assertClose(e.y, [0.4]);
  treeDispose(params, grads, e);
});

Deno.test("usam scales the raw gradient by rho", () => {
  const params = tree([1, 0], [2]);
  const grads = tree([3, 0], [4]);
  const e = samPerturbation({ grads, params, rho: 0.05, variant: "usam" });
  // e = 0.05·(3, 0 | 4) = (0.15, 0 | 0.2)
  assertClose(e.x, [0.15, 0]);
  assertClose(e.y, [0.2]);
  treeDispose(params, grads, e);
});

Deno.test("asam weights the direction by θ² and the norm by |θ|", () => {
  const params = tree([1, -2], [3]);
  const grads = tree([3, -2], [4]);
  const e = samPerturbation({ grads, params, rho: 1.3, variant: "asam" });
  // |θ|⊙g = (3, −4 | 12) (sign irrelevant), ‖·‖ = √(9 + 16 + 144) = 13
  // θ²⊙g = (1·3, 4·(−2) | 9·4) = (3, −8 | 36); e = 1.3/13·(3, −8 | 36) = (0.3, −0.8 | 3.6)
  assertClose(e.x, [0.3, -0.8]);
  assertClose(e.y, [3.6]);
  treeDispose(params, grads, e);
});

Deno.test("zero gradient gives e = 0 (no NaN) for every variant thanks to eps", () => {
  const params = tree([1, -2], [3]);
  const grads = tree([0, 0], [0]);
  for (const variant of ["sam", "usam", "asam"] as SamVariant[]) {
    const e = samPerturbation({ grads, params, rho: 0.05, variant });
    assertClose(e.x, [0, 0]);
    assertClose(e.y, [0]);
    treeDispose(e);
  }
  // Without eps the normalized variants divide 0 by 0: this is what eps guards against.
  const raw = samPerturbation({ grads, params, rho: 0.05, variant: "sam", eps: 0 });
  assert.ok(Number.isNaN(raw.y.dataSync()[0]));
  treeDispose(params, grads, raw);
});

Deno.test("samPerturbation neither modifies nor disposes its inputs", () => {
  const params = tree([1, -2], [3]);
  const grads = tree([3, -2], [4]);
  for (const variant of ["sam", "usam", "asam"] as SamVariant[]) {
    treeDispose(samPerturbation({ grads, params, rho: 0.1, variant }));
  }
  assertClose(params.x, [1, -2]);
  assertClose(params.y, [3]);
  assertClose(grads.x, [3, -2]);
  assertClose(grads.y, [4]);
  treeDispose(params, grads);
});

Deno.test("samPerturbation is bitwise deterministic", () => {
  const params = tree([0.1234567, -2.7182818], [3.1415926]);
  const grads = tree([0.333333, -1e-3], [42.4242]);
  for (const variant of ["sam", "usam", "asam"] as SamVariant[]) {
    const a = samPerturbation({ grads, params, rho: 0.05, variant });
    const b = samPerturbation({ grads, params, rho: 0.05, variant });
    for (const k of ["x", "y"]) {
      const ba = new Uint8Array((a[k].dataSync() as Float32Array).buffer);
      const bb = new Uint8Array((b[k].dataSync() as Float32Array).buffer);
      assert.deepEqual(ba, bb);
    }
    treeDispose(a, b);
  }
  treeDispose(params, grads);
});

Deno.test("samPerturbation leaks no tensors over 20 calls", () => {
  const params = tree([1, -2], [3]);
  const grads = tree([3, -2], [4]);
  treeDispose(samPerturbation({ grads, params, rho: 0.05, variant: "asam" }));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    for (const variant of ["sam", "usam", "asam"] as SamVariant[]) {
      treeDispose(samPerturbation({ grads, params, rho: 0.05, variant }));
    }
  }
  assert.equal(tf.memory().numTensors, before);
  treeDispose(params, grads);
});

Deno.test("invalid samPerturbation arguments throw with the argument named", () => {
  const params = tree([1, 0], [2]);
  const grads = tree([3, 0], [4]);
  assert.throws(() => samPerturbation({ grads, params, rho: -0.1, variant: "sam" }), /"rho"/);
  assert.throws(() => samPerturbation({ grads, params, rho: NaN, variant: "sam" }), /"rho"/);
  assert.throws(
    () => samPerturbation({ grads, params, rho: 0.1, variant: "sam", eps: -1 }),
    /"eps"/,
  );
  assert.throws(
    () => samPerturbation({ grads, params, rho: 0.1, variant: "gsam" as SamVariant }),
    /"variant"/,
  );
  const other = { x: tf.tensor1d([1, 0]) };
  assert.throws(() => samPerturbation({ grads: other, params, rho: 0.1, variant: "sam" }));
  treeDispose(params, grads, other);
});
