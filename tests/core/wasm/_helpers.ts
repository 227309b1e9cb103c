/** Shared helpers of the wasm kernel oracle tests. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../core/backend.ts";
import {
  registerWasmKernels,
  unregisterWasmKernels,
  WASM_GRAD_KERNELS,
} from "../../../core/wasm_kernels.ts";

/** Deterministic values in [-1, 1) (no two equal in practice). */
export function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
    out[i] = 2 * (s - Math.floor(s)) - 1;
  }
  return out;
}

/** A tensor of {@link values}. */
export function valuesTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/**
 * Runs `f` on wasm with only the conv-gradient kernels registered (the stock wasm backend
 * plus what it needs to train conv nets), then restores every fast kernel.
 */
export function onStockWasm<T>(f: () => T): Promise<T> {
  return onWasmWith([], f);
}

/**
 * Runs `f` on wasm with the conv-gradient kernels and the given fast kernels registered (the
 * stock kernels for the rest), then restores every fast kernel.
 */
export async function onWasmWith<T>(kernels: readonly string[], f: () => T): Promise<T> {
  await useBackend("wasm");
  unregisterWasmKernels();
  registerWasmKernels({ only: [...WASM_GRAD_KERNELS, ...kernels] });
  try {
    return f();
  } finally {
    unregisterWasmKernels();
    registerWasmKernels();
  }
}

/** Runs `f` on the cpu backend (the pure-JavaScript oracle). */
export async function onCpu<T>(f: () => T): Promise<T> {
  await useBackend("cpu");
  return f();
}

/** Runs `f` on wasm with every fast kernel registered. */
export async function onFastWasm<T>(f: () => T): Promise<T> {
  await useBackend("wasm");
  return f();
}

/** max |a − b| / max |b| (the absolute error when b is all zeros). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? err : err / scale;
}

/** Asserts two float arrays are bitwise equal, naming the first differing index. */
export function assertBitwise(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}: index ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}

/** Reads tensors' values as Float32Arrays and disposes the tensors. */
export function read(...ts: tf.Tensor[]): Float32Array[] {
  const out = ts.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  tf.dispose(ts);
  return out;
}

/**
 * Loss and gradients of a small conv net on a 2×12×12×3 batch, exercising every op the
 * project's models use in training: conv with bias, ReLU, 2×2 max-pool, BatchNorm-style
 * statistics over N, H, W, option-A style strided subsampling and channel padding, dense
 * layer, label-smoothed cross-entropy.
 */
export function smallNetGrads(): Float32Array[] {
  return tf.tidy(() => {
    const shapes = [[3, 3, 3, 8], [8], [3, 3, 8, 8], [8], [8], [3 * 3 * 16, 5], [5]];
    const params = shapes.map((s, i) => tf.mul(valuesTensor(s, 10 + i), i === 4 ? 0.5 : 0.3));
    const x = valuesTensor([2, 12, 12, 3], 20) as tf.Tensor4D;
    const y = tf.oneHot(tf.tensor1d([1, 4], "int32"), 5);
    const loss = (...p: tf.Tensor[]) => {
      let h = tf.relu(tf.add(tf.conv2d(x, p[0] as tf.Tensor4D, 1, "same"), p[1])) as tf.Tensor4D;
      h = tf.maxPool(h, 2, 2, "valid");
      const z = tf.conv2d(h, p[2] as tf.Tensor4D, 1, "same");
      const mean = tf.mean(z, [0, 1, 2]);
      const centered = tf.sub(z, mean);
      const variance = tf.mean(tf.square(centered), [0, 1, 2]);
      const bn = tf.add(tf.mul(centered, tf.mul(p[4], tf.rsqrt(tf.add(variance, 1e-5)))), p[3]);
      const pairs = tf.reshape(tf.relu(bn), [2, 3, 2, 3, 2, 8]);
      const sub = tf.reshape(tf.slice(pairs, [0, 0, 0, 0, 0, 0], [2, 3, 1, 3, 1, 8]), [2, 3, 3, 8]);
      const wide = tf.pad(sub, [[0, 0], [0, 0], [0, 0], [4, 4]]);
      const logits = tf.add(tf.matMul(tf.reshape(wide, [2, -1]), p[5]), p[6]);
      return tf.losses.softmaxCrossEntropy(y, logits, undefined, 0.1) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(loss)(params);
    return [value, ...grads].map((g) => Float32Array.from(g.dataSync() as Float32Array));
  });
}
