/**
 * `BatchMatMul` with transposed operands on the wasm backend: transpose first, then use the
 * fast path.
 *
 * The stock kernel sends only `transposeA = transposeB = false` to XNNPACK (~30 GFLOP/s
 * here); a transposed operand takes a scalar loop at ~2 GFLOP/s. A dense layer's backward
 * pass needs both (`dx = dy·Wᵀ`, `dW = xᵀ·dy`), e.g. 7.5 ms of the reference CNN's step
 * for 8 MFLOP. Materializing the transpose (one pass over the operand) and multiplying on
 * the fast path is several times faster. XNNPACK sums in its own order, so results match the
 * stock kernel to float32 rounding (tested against the cpu backend), not bitwise.
 *
 * Only single matrices (every batch dimension 1) take this path; batched products, and those
 * without transposes, are the stock kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { free, reshape, run, sizeOf } from "./kernel_util.ts";

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** `x` as a 2-D matrix, transposed when asked (a new TensorInfo either way). */
function asMatrix(backend: tf.KernelBackend, x: tf.TensorInfo, transpose: boolean) {
  const [r, c] = x.shape.slice(-2);
  const m = reshape(backend, x, [r, c]);
  if (!transpose) return m;
  const t = run(tf.Transpose, backend, { x: m }, { perm: [1, 0] });
  free(backend, m);
  return t;
}

/** Builds the wasm `BatchMatMul`: transposes materialized for single matrices. */
export function buildBatchMatMul(stock: tf.KernelConfig | undefined): tf.KernelFunc {
  if (stock == null) throw new Error("wasm BatchMatMul: the stock kernel is missing");
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
    const single = sizeOf(a.shape.slice(0, -2)) === 1 && sizeOf(b.shape.slice(0, -2)) === 1;
    if (!(transposeA || transposeB) || !single || a.dtype !== "float32") {
      return stock.kernelFunc(args);
    }
    const backend = args.backend as tf.KernelBackend;
    const a2 = asMatrix(backend, a, transposeA);
    const b2 = asMatrix(backend, b, transposeB);
    const product = stock.kernelFunc({
      ...args,
      inputs: { a: a2, b: b2 },
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
    free(backend, a2, b2);
    // The stock kernel's output shape: the broadcast batch dimensions (all 1), then [M, N].
    const rank = Math.max(a.shape.length, b.shape.length);
    const shape = [...new Array(rank - 2).fill(1), ...product.shape.slice(-2)];
    const out = reshape(backend, product, shape);
    free(backend, product);
    return out;
  };
}
