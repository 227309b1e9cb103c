/**
 * `MaxPoolGrad` for non-overlapping 2×2 pools with stride 2 (PyTorch's `MaxPool2d(2)`) on the
 * wasm backend: one pass over the heap in JavaScript instead of the stock kernel's generic
 * windowed search, which ran at ~4× the cost (85 ms of a 296 ms CNN step).
 *
 * Each output gradient goes to one element of its window: the LAST maximal one in row-major
 * window order (ties go to the later element). Other elements, and the last row/column of
 * odd-sized inputs, which no window covers, get 0. The comparisons run on order-preserving
 * integer keys of the float bits, without branches (a branch per comparison mispredicts on
 * activations and made the first version 2× slower), so −0 counts as smaller than +0, and a
 * NaN as larger than +∞ (sign bit clear) or smaller than −∞ (set).
 *
 * The stock kernels differ only where no gradient survives a ReLU. The cpu backend picks the
 * FIRST maximal element. The stock wasm kernel also picks the last maximal element, but only
 * among values ≥ FLT_MIN (the smallest positive normal float): a window without a positive
 * value sends its gradient elsewhere (dropped, or to the first element of the input). Every
 * max-pool here follows a ReLU, so such a window is all zeros, and the ReLU's gradient turns
 * whatever it gets into ±0. ReLU → max-pool gradients therefore equal the stock wasm ones as
 * numbers, element by element (tested); only the sign of some zeros differs (−0 where the
 * stock kernel leaves +0), which no later addition or multiplication turns into a different
 * number. Without ties, all three kernels agree bitwise (tested against the cpu backend).
 *
 * Other pool geometries fall back to the stock kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { bitViews, makeOutput } from "./kernel_util.ts";

/** The attributes of a pooling kernel. */
export interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** Whether the pool is a non-overlapping, unpadded 2×2 pool with stride 2 on NHWC data. */
export function isPool2(xShape: number[], a: PoolAttrs): boolean {
  if (xShape.length !== 4) return false;
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const p = info.padInfo;
  return info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 &&
    info.strideWidth === 2 && p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0 &&
    info.outHeight === Math.floor(xShape[1] / 2) && info.outWidth === Math.floor(xShape[2] / 2);
}

/** Order-preserving integer key of float bits `u`: flips the magnitude of negatives. */
function key(u: number): number {
  return u ^ ((u >> 31) & 0x7fffffff);
}

/**
 * dx [N, H, W, C] of a 2×2/2 max pool from its input `x` and the output gradient `dy`
 * [N, ⌊H/2⌋, ⌊W/2⌋, C], all as raw float32 bits, written into `out` (see the module comment
 * for the tie rule).
 */
export function maxPool2Grad(
  x: Int32Array,
  dy: Int32Array,
  out: Int32Array,
  shape: readonly [number, number, number, number],
): void {
  const [n, h, w, c] = shape;
  const oh = h >> 1;
  const ow = w >> 1;
  const row = w * c;
  out.fill(0);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      // p: element (0, 0) of the window at (i, j), channel k.
      let p = (b * h + 2 * i) * row;
      for (let j = 0; j < ow; j++, p += c) {
        for (let k = 0; k < c; k++, p++, o++) {
          // Running (best, at) updated arithmetically: t is 1 where the next key is ≥ best.
          let best = key(x[p]);
          let at = 0;
          let v = key(x[p + c]);
          let t = +(v >= best);
          best += t * (v - best);
          at += t * (1 - at);
          v = key(x[p + row]);
          t = +(v >= best);
          best += t * (v - best);
          at += t * (2 - at);
          v = key(x[p + row + c]);
          t = +(v >= best);
          at += t * (3 - at);
          out[p + (at & 1) * c + (at >> 1) * row] = dy[o];
        }
      }
    }
  }
}

/** Builds the wasm `MaxPoolGrad`: the fast path for 2×2/2 pools, `stock` for the rest. */
export function buildMaxPoolGrad(stock: tf.KernelConfig | undefined): tf.KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const attrs = args.attrs as unknown as PoolAttrs;
    if (input.dtype !== "float32" || !isPool2(input.shape, attrs)) {
      if (stock == null) throw new Error("wasm MaxPoolGrad: no stock kernel for this pool");
      return stock.kernelFunc(args);
    }
    const backend = args.backend as tf.KernelBackend;
    const dx = makeOutput(backend, [...input.shape]);
    const [xv, dyv, dxv] = bitViews(backend, input, dy, dx) as Int32Array[];
    maxPool2Grad(xv, dyv, dxv, input.shape as [number, number, number, number]);
    return dx;
  };
}
