/**
 * `Transpose` on the wasm backend for the pattern the conv-filter gradient needs: swapping
 * the outermost and innermost dimensions, `[N, S, C] → [C, S, N]` (e.g. activations
 * [N, H, W, C] → [C, H, W, N]; plain matrix transposes are the case S = 1).
 *
 * The stock kernel ran these at ~5 ns per element (~10 ms per ResNet-20 stage-1 activation,
 * 19 filter gradients per step). Here the copy walks blocks of 16 rows of N (one cache line
 * of output per (c, s)), reading each input line once and writing each output line once:
 * 2–3.5× faster on the gradient's shapes. Bits are copied as integers, so results are bitwise
 * the stock kernel's. Other permutations (after merging dimensions that stay adjacent, and
 * dropping unit ones) and other dtypes take the stock kernel.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { bitViews, type WasmHeapBackend } from "./kernel_util.ts";

/** Rows of N moved together: 16 four-byte values fill a 64-byte cache line. */
const BLOCK = 16;

/** A transpose problem: input shape and the permutation (output dim i = input dim perm[i]). */
export interface TransposeDims {
  shape: number[];
  perm: number[];
}

/** `d` when it is the next non-unit input dimension after `prev`, else −1. */
function nextKept(shape: number[], prev: number, d: number): number {
  for (let i = prev + 1; i < shape.length; i++) {
    if (shape[i] !== 1) return i === d ? d : -1;
  }
  return -1;
}

/**
 * The same transpose with unit dimensions dropped and runs of input dimensions that stay
 * adjacent and in order in the output merged into one.
 */
export function collapseTranspose(dims: TransposeDims): TransposeDims {
  const keep = dims.perm.filter((d) => dims.shape[d] !== 1);
  if (keep.length === 0) return { shape: [1], perm: [0] };
  const groups: number[][] = []; // in output order
  for (const d of keep) {
    const last = groups[groups.length - 1];
    if (last != null && nextKept(dims.shape, last[last.length - 1], d) === d) last.push(d);
    else groups.push([d]);
  }
  const byInput = [...groups].sort((g, h) => g[0] - h[0]);
  return {
    shape: byInput.map((g) => g.reduce((a, d) => a * dims.shape[d], 1)),
    perm: groups.map((g) => byInput.indexOf(g)),
  };
}

/** Writes `x` [n, s, c] transposed to [c, s, n] into `out`. */
export function swapOuterInner(
  x: Int32Array,
  out: Int32Array,
  n: number,
  s: number,
  c: number,
): void {
  const step = s * c;
  for (let n0 = 0; n0 < n; n0 += BLOCK) {
    const len = Math.min(n, n0 + BLOCK) - n0;
    for (let j = 0; j < s; j++) {
      for (let k = 0; k < c; k++) {
        let dst = (k * s + j) * n + n0;
        let src = (n0 * s + j) * c + k;
        for (let i = 0; i < len; i++, src += step) out[dst++] = x[src];
      }
    }
  }
}

/** [n, s, c] of a transpose that swaps the outermost and innermost dimensions, else null. */
export function outerInnerSwap(dims: TransposeDims): [number, number, number] | null {
  const { shape, perm } = collapseTranspose(dims);
  if (perm.length === 2 && perm[0] === 1) return [shape[0], 1, shape[1]];
  if (perm.length === 3 && perm[0] === 2 && perm[1] === 1) return [shape[0], shape[1], shape[2]];
  return null;
}

/** Builds the wasm `Transpose`: the blocked copy for outer/inner swaps, `stock` otherwise. */
export function buildTranspose(stock: tf.KernelConfig | undefined): tf.KernelFunc {
  if (stock == null) throw new Error("wasm Transpose: the stock kernel is missing");
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    const swap = x.dtype === "float32" || x.dtype === "int32"
      ? outerInnerSwap({ shape: x.shape, perm })
      : null;
    if (swap == null || x.shape.some((d) => d === 0)) return stock.kernelFunc(args);
    const backend = args.backend as WasmHeapBackend;
    const out = backend.makeOutput(perm.map((d) => x.shape[d]), x.dtype);
    const [xv, ov] = bitViews(backend, x, out) as Int32Array[];
    swapOuterInner(xv, ov, ...swap);
    return out;
  };
}
