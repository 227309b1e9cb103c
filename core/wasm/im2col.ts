/**
 * The transposed patch matrix ("im2col") of a convolution's input, for the filter gradient
 * as one matrix product: `dW [KH·KW·Ci, Co] = Pᵀ [KH·KW·Ci, N·OH·OW] · dy [N·OH·OW, Co]`.
 *
 * @module
 */

/** Geometry of the forward convolution whose patches are wanted (NHWC, dilation 1). */
export interface PatchGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
  outHeight: number;
  outWidth: number;
}

/**
 * Writes Pᵀ of `x` [N, H, W, Ci] into `out` [KH·KW·Ci, N·OH·OW]: row (kh·KW + kw)·Ci + ci,
 * column (n·OH + oh)·OW + ow holds `x[n, oh·sh + kh − padTop, ow·sw + kw − padLeft, ci]`, or
 * 0 where that falls in the padding. Works on raw bits (Int32Array views of float data), so
 * values are copied exactly.
 */
export function patchesTransposed(x: Int32Array, out: Int32Array, g: PatchGeometry): void {
  const { batch, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = g;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = g;
  const cols = batch * oh * ow;
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < oh; i++) {
      const col0 = (n * oh + i) * ow;
      for (let a = 0; a < kh; a++) {
        const ih = i * sh + a - g.padTop;
        const rowValid = ih >= 0 && ih < h;
        const rowBase = (n * h + ih) * w * ci;
        for (let b = 0; b < kw; b++) {
          // Output columns j whose input column j·sw + b − padLeft lies inside the image.
          let lo = 0;
          let hi = 0;
          if (rowValid) {
            lo = Math.min(ow, Math.max(0, Math.ceil((g.padLeft - b) / sw)));
            hi = Math.max(lo, Math.min(ow, Math.floor((w - 1 + g.padLeft - b) / sw) + 1));
          }
          for (let c = 0; c < ci; c++) {
            const dst = ((a * kw + b) * ci + c) * cols + col0;
            let j = 0;
            for (; j < lo; j++) out[dst + j] = 0;
            let src = rowBase + (lo * sw + b - g.padLeft) * ci + c;
            for (; j < hi; j++, src += sw * ci) out[dst + j] = x[src];
            for (; j < ow; j++) out[dst + j] = 0;
          }
        }
      }
    }
  }
}
