import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import {
  correctCount,
  crossEntropy,
  smoothCrossEntropy,
  smoothingEntropy,
} from "../../models/loss.ts";

await useBackend("cpu");

function near(actual: number, expected: number, tol = 1e-5, what = "") {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

/** log softmax of a row, in float64. */
function logSoftmax(z: number[]): number[] {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
}

Deno.test("smoothCrossEntropy: hand-computed 3-class KL with s/(K−1) off-target mass", () => {
  // Row 1: z = (1, 2, 3), label 0, s = 0.3 → q = (0.7, 0.15, 0.15).
  // Row 2: z = (0, 0, 0), label 2 → p uniform.
  const logits = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
  const labels = tf.tensor1d([0, 2], "int32");
  const loss = smoothCrossEntropy(logits, labels, { smoothing: 0.3, numClasses: 3 });
  const lp = logSoftmax([1, 2, 3]); // (−2.4076, −1.4076, −0.4076)
  const q1 = [0.7, 0.15, 0.15];
  const kl1 = q1.reduce((s, q, i) => s + q * (Math.log(q) - lp[i]), 0);
  const q2 = [0.15, 0.15, 0.7];
  const kl2 = q2.reduce((s, q) => s + q * (Math.log(q) - Math.log(1 / 3)), 0);
  near(loss.dataSync()[0], (kl1 + kl2) / 2, 1e-5, "KL");
  // Spelled out for row 1: 0.7·ln(0.7) + 2·0.15·ln(0.15) + 0.7·2.40761 + 0.15·1.40761 + 0.15·0.40761
  near(kl1, 0.7 * Math.log(0.7) + 0.3 * Math.log(0.15) + 0.7 * 2.4076059 + 0.15 * 1.8152118, 1e-6);
  // The s/K convention would give q = (0.8, 0.1, 0.1) and a different value.
  const qk = [0.8, 0.1, 0.1];
  const klK = qk.reduce((s, q, i) => s + q * (Math.log(q) - lp[i]), 0);
  assert.ok(Math.abs(kl1 - klK) > 1e-2);
});

Deno.test("smoothCrossEntropy: gradient is (softmax − q)/B", () => {
  const z = [[1, 2, 3], [0.5, -1, 0]];
  const logits = tf.tensor2d(z);
  const labels = tf.tensor1d([0, 1], "int32");
  const s = 0.3;
  const [g] = tf.grads((l: tf.Tensor) =>
    smoothCrossEntropy(l as tf.Tensor2D, labels, { smoothing: s, numClasses: 3 })
  )([logits]);
  const expected = z.flatMap((row, r) => {
    const p = logSoftmax(row).map(Math.exp);
    return p.map((pi, i) => (pi - (i === [0, 1][r] ? 1 - s : s / 2)) / 2);
  });
  const got = g.dataSync();
  expected.forEach((e, i) => near(got[i], e, 1e-6, `grad[${i}]`));
});

Deno.test("smoothCrossEntropy with s = 0 equals crossEntropy, which is −log p[label]", () => {
  const z = [[2, -1, 0.5, 3], [0, 0, 1, -2], [10, 0, 0, 0]];
  const logits = tf.tensor2d(z);
  const labels = tf.tensor1d([3, 0, 1], "int32");
  const ce = crossEntropy(logits, labels).dataSync()[0];
  const expected = -(logSoftmax(z[0])[3] + logSoftmax(z[1])[0] + logSoftmax(z[2])[1]) / 3;
  near(ce, expected, 1e-5, "ce");
  near(smoothCrossEntropy(logits, labels, { smoothing: 0, numClasses: 4 }).dataSync()[0], ce, 1e-6);
  // Large logits stay finite (log-softmax, not log(softmax)).
  const big = crossEntropy(tf.tensor2d([[1000, -1000]]), tf.tensor1d([1], "int32")).dataSync()[0];
  near(big, 2000, 1e-2, "stable");
});

Deno.test("smoothed CE − KL is the entropy of q (0.5448 for K=10, s=0.1; 0.7846 for K=100)", () => {
  near(smoothingEntropy(0.1, 10), 0.5448, 1e-4);
  near(smoothingEntropy(0.1, 100), 0.7846, 1e-4);
  near(smoothingEntropy(0, 10), 0, 0);
  const z = Array.from({ length: 20 }, (_, i) => Math.sin(i * 1.7) * 3);
  const logits = tf.tensor2d(z, [2, 10]);
  const labels = tf.tensor1d([4, 9], "int32");
  const kl = smoothCrossEntropy(logits, labels, { smoothing: 0.1, numClasses: 10 }).dataSync()[0];
  const smoothedCe = [0, 1].map((r) => {
    const lp = logSoftmax(z.slice(10 * r, 10 * r + 10));
    return -lp.reduce((s, v, i) => s + v * (i === [4, 9][r] ? 0.9 : 0.1 / 9), 0);
  });
  near((smoothedCe[0] + smoothedCe[1]) / 2 - kl, smoothingEntropy(0.1, 10), 1e-5);
  assert.ok(kl >= 0);
});

Deno.test("correctCount counts arg-max hits", () => {
  const logits = tf.tensor2d([[0.1, 0.9, 0], [2, 1, 0], [0, 0, 5], [1, 3, 2]]);
  const labels = tf.tensor1d([1, 0, 1, 2], "int32");
  const c = correctCount(logits, labels);
  assert.equal(c.dtype, "int32");
  assert.deepEqual(c.shape, []);
  assert.equal(c.dataSync()[0], 2);
});

Deno.test("losses validate their inputs and do not leak tensors", () => {
  const logits = tf.tensor2d([[1, 2, 3]]);
  const labels = tf.tensor1d([0], "int32");
  assert.throws(
    () => smoothCrossEntropy(logits, labels, { smoothing: 0.1, numClasses: 4 }),
    /numClasses/,
  );
  assert.throws(
    () => smoothCrossEntropy(logits, labels, { smoothing: 1, numClasses: 3 }),
    RangeError,
  );
  assert.throws(() => crossEntropy(logits, tf.tensor1d([0])), /int32/);
  assert.throws(() => crossEntropy(logits, tf.tensor1d([0, 1], "int32")), /labels/);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    smoothCrossEntropy(logits, labels, { smoothing: 0.1, numClasses: 3 }).dispose();
    crossEntropy(logits, labels).dispose();
    correctCount(logits, labels).dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});
