/**
 * The ReLU gradient `dx = dy · [y > 0]` as one kernel (`ReluBackprop`, a name of this
 * project's) for the wasm backend.
 *
 * tfjs differentiates ReLU as `mul(dy, step(x))`: two passes over the activation and a
 * temporary. This kernel reads `dy` and the ReLU's output `y` once and writes `dx` once,
 * on raw bits: `y > 0` is tested on its integer representation (a positive finite float or
 * +∞ is an integer in (0, 0x7F800000]), and the zeroed entries keep `dy`'s sign, as
 * `dy · 0` does. For finite inputs the result is therefore bitwise tfjs' (tested); only NaN
 * payloads may differ.
 *
 * The models call it through {@link reluBackprop}, which falls back to tfjs' formulation on
 * backends without the kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { bitViews, makeOutput } from "./kernel_util.ts";

/** Name of the kernel (registered for wasm by `wasm_kernels.ts`). */
export const RELU_BACKPROP = "ReluBackprop";

const SIGN = 0x80000000 | 0;
const INF = 0x7f800000;

/** `dx` from `dy` and the ReLU output `y`, all as raw float32 bits. */
export function reluBackpropBits(dy: Int32Array, y: Int32Array, dx: Int32Array): void {
  for (let i = 0; i < dx.length; i++) {
    const v = y[i];
    dx[i] = v > 0 && v <= INF ? dy[i] : dy[i] & SIGN;
  }
}

/** The wasm kernel `ReluBackprop`: inputs `dy`, `y` (same shape, float32). */
export const reluBackpropWasm: tf.KernelFunc = ({ inputs, backend: b }) => {
  const backend = b as tf.KernelBackend;
  const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
  if (dy.dtype !== "float32" || y.dtype !== "float32" || !tf.util.arraysEqual(dy.shape, y.shape)) {
    throw new Error(`${RELU_BACKPROP}: needs float32 dy and y of one shape`);
  }
  const dx = makeOutput(backend, [...dy.shape]);
  const [dyv, yv, dxv] = bitViews(backend, dy, y, dx) as Int32Array[];
  reluBackpropBits(dyv, yv, dxv);
  return dx;
};

/**
 * The ReLU gradient from the output gradient and the ReLU's output: the `ReluBackprop` kernel
 * where the active backend has it, `dy · step(y)` elsewhere.
 */
export function reluBackprop(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (tf.getKernel(RELU_BACKPROP, tf.getBackend()) != null) {
    return tf.engine().runKernel(RELU_BACKPROP, { dy, y }) as tf.Tensor;
  }
  return tf.mul(dy, tf.step(y));
}
