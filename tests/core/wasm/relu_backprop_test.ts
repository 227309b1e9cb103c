import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../core/backend.ts";
import { relu } from "../../../models/layers.ts";
import { assertBitwise, onCpu, onFastWasm, onStockWasm, read, values } from "./_helpers.ts";

/** x with zeros (both signs) and values of both signs; dy with both signs. */
function inputs(): [Float32Array, Float32Array] {
  const x = values(3 * 7 * 5 * 4, 3).map((v, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? -0 : v));
  const dy = values(x.length, 4).map((v, i) => (i % 13 === 0 ? 0 : v));
  return [x, dy];
}

/** d/dx of sum(f(x) · dy) for the models' relu and for tf.relu. */
function grads(): Float32Array[] {
  const [xs, dys] = inputs();
  return tf.tidy(() => {
    const x = tf.tensor(xs, [3, 7, 5, 4]);
    const dy = tf.tensor(dys, x.shape);
    const ours = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(relu(t), dy)))(x);
    const theirs = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), dy)))(x);
    const y = relu(x);
    return read(ours, theirs, y);
  });
}

Deno.test("ReluBackprop on wasm is bitwise tfjs' ReLU gradient, signed zeros included", async () => {
  const [ours, theirs, y] = await onFastWasm(grads);
  assertBitwise(ours, theirs, "gradient");
  const [, , stockY] = await onStockWasm(grads);
  assertBitwise(y, stockY, "forward");
  await useBackend("cpu");
});

Deno.test("relu's gradient falls back to tfjs' formula where the kernel is missing", async () => {
  const [ours, theirs] = await onCpu(grads);
  assertBitwise(ours, theirs, "cpu gradient");
  // The formula differentiates the output: zero where x ≤ 0, dy where x > 0.
  const [xs, dys] = inputs();
  ours.forEach((g, i) => assert.ok(Object.is(g, xs[i] > 0 ? dys[i] : dys[i] * 0), `index ${i}`));
});
