/**
 * Convolution cases shared by the oracle tests of the wasm and native convolution kernels:
 * strides 1–3, same/valid/numeric/explicit padding, odd and non-square sizes.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { values } from "./_helpers.ts";

/** A conv padding as tfjs takes it. */
export type Pad = "same" | "valid" | number | tf.backend_util.ExplicitPadding;

/** One convolution case. */
export interface Case {
  h: number;
  w: number;
  k: [number, number];
  stride: number | [number, number];
  pad: Pad;
}

/** Batch size and channels of the cases. */
export const N = 2;
/** Input channels. */
export const CI = 3;
/** Output channels. */
export const CO = 4;

/**
 * dx and dW of sum(conv2d(x, w) * r) on the current backend, with stock tfjs gradients, for
 * CI → CO channels or (`firstLayer`) 1 → 10 channels: a first layer's filter gradient takes
 * the matmul route (few input channels), the others the convolution route.
 */
export function convGrads(c: Case, firstLayer = false): [Float32Array, Float32Array] {
  const [ci, co] = firstLayer ? [1, 10] : [CI, CO];
  return tf.tidy(() => {
    const x = tf.tensor4d(values(N * c.h * c.w * ci, 1), [N, c.h, c.w, ci]);
    const w = tf.tensor4d(values(c.k[0] * c.k[1] * ci * co, 2), [c.k[0], c.k[1], ci, co]);
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
      return tf.sum(tf.mul(y, tf.tensor(values(y.size, 3), y.shape)));
    };
    const [dx, dw] = tf.grads(f)([x, w]);
    assert.deepEqual(dx.shape, x.shape);
    assert.deepEqual(dw.shape, w.shape);
    return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
  });
}

/** The cases. */
export const CASES: Case[] = [];
for (const size of [7, 8]) {
  for (const k of [3, 1]) {
    for (const stride of [1, 2]) {
      for (const pad of ["same", "valid"] as const) {
        CASES.push({ h: size, w: size, k: [k, k], stride, pad });
      }
    }
  }
}
CASES.push(
  // Odd total 'same' padding (the extra row/column goes after), non-square everything.
  { h: 7, w: 8, k: [4, 2], stride: [2, 1], pad: "same" },
  { h: 9, w: 6, k: [5, 5], stride: 2, pad: "same" },
  // Output sizes where (H + pads − K) is not a multiple of the stride.
  { h: 8, w: 9, k: [3, 3], stride: 3, pad: "valid" },
  { h: 9, w: 9, k: [2, 2], stride: 2, pad: "valid" },
  // Numeric and explicit pads, including more padding than K − 1.
  { h: 8, w: 8, k: [3, 3], stride: 2, pad: 1 },
  { h: 8, w: 7, k: [3, 3], stride: 2, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
  { h: 6, w: 6, k: [3, 3], stride: 1, pad: [[0, 0], [3, 1], [1, 4], [0, 0]] },
);

/** A case as a short label. */
export function label(c: Case): string {
  return `${c.h}x${c.w} k${c.k.join("x")} s${c.stride} pad ${JSON.stringify(c.pad)}`;
}
