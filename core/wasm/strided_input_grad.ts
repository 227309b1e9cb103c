/**
 * The input gradient of a strided convolution as `sh·sw` small stride-1 convolutions, one per
 * phase of the input grid, instead of one convolution over a zero-dilated `dy`.
 *
 * With stride s, input row `ih` (padded coordinate `ih + padTop = q·s + a`, phase a < s) only
 * meets filter rows `kh = a + t·s`, against output rows `oh = q − t`:
 *
 *     dx[q·s + a − padTop] = Σ_t dy[q − t] · W[a + t·s]
 *
 * a full (padding T − 1) stride-1 correlation of dy with the reversed sub-filter W[a::s]
 * (T = ⌈(K − a)/s⌉ taps, in/out channels swapped). The phases together do the forward pass's
 * multiply-adds; zero-dilating dy did s² times as many (4× for stride 2), on a dy four times
 * the size. A JavaScript pass then interleaves the phases into dx (rows of the input that no
 * filter tap reaches get 0).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { bitViews, free, makeOutput, run } from "./kernel_util.ts";

/** Taps of phase `a` of a K-tap filter with stride s: ⌈(K − a)/s⌉, or 0 when a ≥ K. */
export function phaseTaps(k: number, s: number, a: number): number {
  return a >= k ? 0 : Math.ceil((k - a) / s);
}

/**
 * The reversed, channel-swapped sub-filter of phase (a, b): `F[i, j, co, ci] =
 * W[a + (ta − 1 − i)·sh, b + (tb − 1 − j)·sw, ci, co]`, shape [ta, tb, Co, Ci].
 */
function phaseFilter(
  backend: tf.KernelBackend,
  filter: tf.TensorInfo,
  a: number,
  b: number,
  taps: [number, number],
  strides: [number, number],
): tf.TensorInfo {
  const [, kw, ci, co] = filter.shape;
  const [ta, tb] = taps;
  const out = makeOutput(backend, [ta, tb, co, ci]);
  const [w, f] = bitViews(backend, filter, out) as Int32Array[];
  let o = 0;
  for (let i = 0; i < ta; i++) {
    const r = a + (ta - 1 - i) * strides[0];
    for (let j = 0; j < tb; j++) {
      const c = b + (tb - 1 - j) * strides[1];
      for (let oc = 0; oc < co; oc++) {
        for (let ic = 0; ic < ci; ic++) f[o++] = w[((r * kw + c) * ci + ic) * co + oc];
      }
    }
  }
  return out;
}

/** Geometry of the strided convolution whose input gradient is wanted. */
export interface StridedGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/** dx [N, H, W, Ci] of a strided convolution from dy [N, OH, OW, Co] and its filter. */
export function stridedInputGrad(
  backend: tf.KernelBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: StridedGeometry,
): tf.TensorInfo {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = g;
  // phases[a][b]: the full correlation of phase (a, b), [N, OH + ta − 1, OW + tb − 1, Ci].
  const phases: (tf.TensorInfo | null)[][] = [];
  for (let a = 0; a < sh; a++) {
    phases.push([]);
    for (let b = 0; b < sw; b++) {
      const ta = phaseTaps(kh, sh, a);
      const tb = phaseTaps(kw, sw, b);
      if (ta === 0 || tb === 0) {
        phases[a].push(null);
        continue;
      }
      const f = phaseFilter(backend, filter, a, b, [ta, tb], [sh, sw]);
      phases[a].push(
        run(tf.Conv2D, backend, { x: dy, filter: f }, {
          strides: [1, 1],
          pad: [[0, 0], [ta - 1, ta - 1], [tb - 1, tb - 1], [0, 0]],
          dataFormat: "NHWC",
          dilations: [1, 1],
          dimRoundingMode: undefined,
        }),
      );
      free(backend, f);
    }
  }
  const { batch: n, inHeight: h, inWidth: w, inChannels: ci } = g;
  const dx = makeOutput(backend, [n, h, w, ci]);
  // Views after every allocation (a growing heap detaches older views).
  const live = phases.flat().filter((p): p is tf.TensorInfo => p != null);
  const views = bitViews(backend, dx, ...live) as Int32Array[];
  const out = views[0];
  const viewOf = new Map(live.map((p, i) => [p, views[i + 1]]));
  let o = 0;
  for (let b0 = 0; b0 < n; b0++) {
    for (let ih = 0; ih < h; ih++) {
      const ip = ih + g.padTop;
      const q = Math.floor(ip / sh);
      const a = ip - q * sh;
      for (let iw = 0; iw < w; iw++) {
        const jp = iw + g.padLeft;
        const p = Math.floor(jp / sw);
        const phase = phases[a][jp - p * sw];
        const rows = phase?.shape[1] ?? 0;
        const cols = phase?.shape[2] ?? 0;
        if (phase == null || q >= rows || p >= cols) {
          for (let c = 0; c < ci; c++) out[o++] = 0;
          continue;
        }
        const src = viewOf.get(phase)!;
        let s = ((b0 * rows + q) * cols + p) * ci;
        for (let c = 0; c < ci; c++) out[o++] = src[s++];
      }
    }
  }
  free(backend, ...live);
  return dx;
}
