/**
 * The ReLU gradient `dx = dy · [y > 0]` as one kernel (`ReluBackprop`, a name of this
 * project's) for the wasm backend.
 *
 * tfjs differentiates ReLU as `mul(dy, step(x))`: two passes over the activation and a
 * temporary. This kernel reads `dy` and the ReLU's output `y` once and writes `dx` once,
 * on raw bits and without branches (a branch on `y > 0` mispredicts on half the entries of
 * an activation and ran 3× slower): `y ≤ 0` is the sign of `y | (y − 1)` on its integer bits
 * (+0 and every value with the sign bit set), and zeroed entries keep `dy`'s sign, as
 * `dy · 0` does. For non-NaN `y` the result is bitwise tfjs' (tested); a NaN `y` passes `dy`
 * through where tfjs gives NaN.
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

/** `dx` from `dy` and the ReLU output `y`, all as raw float32 bits. */
export function reluBackpropBits(dy: Int32Array, y: Int32Array, dx: Int32Array): void {
  const n = dx.length;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    const zeroed = (v | ((v - 1) | 0)) >>> 31; // 1 where y ≤ 0 (incl. −0)
    dx[i] = dy[i] & ((zeroed - 1) | SIGN);
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
