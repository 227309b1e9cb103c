/**
 * `Identity` and same-type `Cast` for the wasm backend without a copy.
 *
 * The stock wasm kernels copy the whole buffer. The engine calls `Identity` for every tensor
 * a gradient saves from the forward pass (`saveTensorsForBackwardMode` clones it), and tfjs'
 * ReLU gradient casts a float tensor to float: ~600 full-size copies per ResNet-20 step. Tensors
 * are immutable, so the output can share the input's buffer, reference-counted as the stock
 * `Reshape` (and the cpu backend's `Identity`) already do. Values are untouched, so results
 * are bitwise those of the stock kernels.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** A new reference to `x`'s buffer. */
function share(backend: tf.KernelBackend, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/** `Identity` sharing the input's buffer (string tensors keep the stock copy). */
export function buildIdentity(stock: tf.KernelConfig | undefined): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === "string" && stock != null) return stock.kernelFunc(args);
    return share(args.backend as tf.KernelBackend, x);
  };
}

/** `Cast` sharing the buffer when the type does not change; the stock kernel otherwise. */
export function buildCast(stock: tf.KernelConfig | undefined): tf.KernelFunc {
  if (stock == null) throw new Error("wasm Cast: the stock kernel is missing");
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype !== args.attrs?.dtype || x.dtype === "string") return stock.kernelFunc(args);
    return share(args.backend as tf.KernelBackend, x);
  };
}
