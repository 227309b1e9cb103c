/**
 * Convolution-gradient kernels for the tfjs `wasm` backend, built from its forward `Conv2D`.
 *
 * The wasm backend of tfjs 4.22 has no `Conv2DBackpropFilter` kernel (so conv nets cannot
 * train on it), and its `Conv2DBackpropInput` runs about 10× slower than the forward `Conv2D`
 * (XNNPACK). Both gradients are rewritten here as forward convolutions:
 *
 * - input gradient: for stride 1, `dx = conv2d(pad(dy), reverse(W, [0, 1]) with in/out
 *   channels swapped)`, with `K − 1 − p` rows/columns of padding before and whatever makes the
 *   output as large as `x` after (cropping instead where that count is negative); for larger
 *   strides one such convolution per phase of the input grid (`strided_input_grad.ts`);
 * - filter gradient: with channels as the batch, `conv2d(transpose(x) [Ci, H, W, N],
 *   transpose(dy) [OH, OW, N, Co], stride 1, dilation = stride)` over `x` padded as in the
 *   forward pass (and cut to the rows the forward pass read), giving `[Ci, KH, KW, Co]`, which
 *   is transposed to `[KH, KW, Ci, Co]`; for layers with few input channels (a net's first
 *   layer) instead one matmul `Pᵀ · dy` with the transposed patch matrix (`im2col.ts`).
 *
 * Only NHWC data and dilation 1 are supported (the only forms tfjs' `Conv2D` gradient produces
 * on wasm); other attributes are rejected with an error naming them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { patchesTransposed } from "./im2col.ts";
import { stridedInputGrad } from "./strided_input_grad.ts";
import { bitViews, free, makeOutput, reshape, run } from "./kernel_util.ts";

type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
type Rounding = "floor" | "round" | "ceil" | undefined;
type Shape4 = [number, number, number, number];

interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: [number, number] | number;
}

function checkAttrs(kernelName: string, attrs: ConvGradAttrs): void {
  if (attrs.dataFormat != null && attrs.dataFormat !== "NHWC") {
    throw new Error(`${kernelName} on wasm supports dataFormat NHWC only, got ${attrs.dataFormat}`);
  }
  const d = attrs.dilations;
  if (d != null && !(d === 1 || (Array.isArray(d) && d[0] === 1 && d[1] === 1))) {
    throw new Error(`${kernelName} on wasm supports dilation 1 only, got ${JSON.stringify(d)}`);
  }
}

/** Forward-pass geometry of the convolution whose gradient is wanted. */
function geometry(
  kernelName: string,
  xShape: Shape4,
  filterShape: Shape4,
  dyShape: number[],
  attrs: ConvGradAttrs,
): tf.backend_util.Conv2DInfo {
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode as Rounding,
    false,
    "channelsLast",
  );
  if (
    dyShape.length !== 4 || dyShape[0] !== info.batchSize || dyShape[1] !== info.outHeight ||
    dyShape[2] !== info.outWidth || dyShape[3] !== info.outChannels
  ) {
    throw new Error(
      `${kernelName}: dy has shape [${dyShape}], expected [${info.outShape}] for input ` +
        `[${xShape}], filter [${filterShape}], strides ${JSON.stringify(attrs.strides)}, ` +
        `pad ${JSON.stringify(attrs.pad)}`,
    );
  }
  return info;
}

/**
 * Convolves `x` [N, H, W, C] with `filter`, stride 1 and the given dilation, after padding
 * (or, for negative counts, cropping) its rows by `[top, bottom]` and columns by
 * `[left, right]`. Non-negative padding is left to the convolution itself (no copy).
 */
function convPadded(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  rows: [number, number],
  cols: [number, number],
  dilations: [number, number],
): tf.TensorInfo {
  let input = x;
  const [top, bottom] = rows;
  const [left, right] = cols;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = x.shape;
    const begin = [0, Math.max(0, -top), Math.max(0, -left), 0];
    const size = [
      n,
      h - Math.max(0, -top) - Math.max(0, -bottom),
      w - Math.max(0, -left) - Math.max(0, -right),
      c,
    ];
    if (size[1] <= 0 || size[2] <= 0) throw new Error(`conv gradient: empty crop [${size}]`);
    input = run(tf.Slice, backend, { x }, { begin, size });
  }
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ];
  const out = run(tf.Conv2D, backend, { x: input, filter }, {
    strides: [1, 1],
    pad,
    dataFormat: "NHWC",
    dilations,
    dimRoundingMode: undefined,
  });
  if (input !== x) free(backend, input);
  return out;
}

/** `Conv2DBackpropInput` for wasm built from the forward `Conv2D`. */
export const conv2DBackpropInputWasm: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as tf.KernelBackend;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
  checkAttrs(tf.Conv2DBackpropInput, a);
  const info = geometry(
    tf.Conv2DBackpropInput,
    a.inputShape,
    filter.shape as Shape4,
    dy.shape,
    a,
  );
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, padInfo } = info;
  if ((sh > 1 || sw > 1) && filter.dtype === "float32") {
    return stridedInputGrad(backend, dy, filter, {
      batch: info.batchSize,
      inHeight: h,
      inWidth: w,
      inChannels: info.inChannels,
      outHeight: oh,
      outWidth: ow,
      filterHeight: kh,
      filterWidth: kw,
      strideHeight: sh,
      strideWidth: sw,
      padTop: padInfo.top,
      padLeft: padInfo.left,
    });
  }

  // Filter spatially reversed, in/out channels swapped: [KH, KW, Co, Ci].
  const reversed = run(tf.Reverse, backend, { x: filter }, { dims: [0, 1] });
  const flipped = run(tf.Transpose, backend, { x: reversed }, { perm: [0, 1, 3, 2] });
  free(backend, reversed);

  // Stride 1: dy padded by K − 1 − p before and by H + p − OH after has H + K − 1 rows, so a
  // valid convolution gives exactly H rows; negative counts crop rows that only met padding.
  const dx = convPadded(
    backend,
    dy,
    flipped,
    [kh - 1 - padInfo.top, h + padInfo.top - oh],
    [kw - 1 - padInfo.left, w + padInfo.left - ow],
    [1, 1],
  );
  free(backend, flipped);
  return dx;
};

/**
 * The filter gradient as one matrix product with the transposed patch matrix:
 * `dW [KH·KW·Ci, Co] = Pᵀ · dy [N·OH·OW, Co]`. Pᵀ has KH·KW·Ci rows, so this pays off only
 * for few input channels (the first layer of a net), where the convolution route's
 * transposes and XNNPACK's repacking of the big `dy` filter dominate.
 */
function filterGradByMatMul(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const cols = info.batchSize * info.outHeight * info.outWidth;
  const pt = makeOutput(backend, [kh * kw * ci, cols]);
  const [xv, ptv] = bitViews(backend, x, pt) as Int32Array[];
  patchesTransposed(xv, ptv, {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: ci,
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
  });
  const dy2 = reshape(backend, dy, [cols, co]);
  const g = run(tf.BatchMatMul, backend, { a: pt, b: dy2 }, {
    transposeA: false,
    transposeB: false,
  });
  free(backend, pt, dy2);
  const dw = reshape(backend, g, [kh, kw, ci, co]);
  free(backend, g);
  return dw;
}

/** `Conv2DBackpropFilter` for wasm built from the forward `Conv2D` (or a matmul). */
export const conv2DBackpropFilterWasm: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as tf.KernelBackend;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as ConvGradAttrs & { filterShape: Shape4 };
  checkAttrs(tf.Conv2DBackpropFilter, a);
  const info = geometry(tf.Conv2DBackpropFilter, x.shape as Shape4, a.filterShape, dy.shape, a);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  // Pᵀ no larger than twice dy: cheaper than transposing x and dy and repacking dy.
  if (kh * kw * info.inChannels <= 2 * info.outChannels && x.dtype === "float32") {
    return filterGradByMatMul(backend, x, dy, info);
  }
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, padInfo } = info;

  // Channels become the batch, the batch becomes the channels.
  const xT = run(tf.Transpose, backend, { x }, { perm: [3, 1, 2, 0] }); // [Ci, H, W, N]
  const dyT = run(tf.Transpose, backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, N, Co]
  // x padded as in the forward pass and cut to the (OH − 1)·sh + KH rows the forward pass
  // read; dy as a filter dilated by the stride then yields KH × KW outputs.
  const g = convPadded(
    backend,
    xT,
    dyT,
    [padInfo.top, (oh - 1) * sh + kh - h - padInfo.top],
    [padInfo.left, (ow - 1) * sw + kw - w - padInfo.left],
    [sh, sw],
  ); // [Ci, KH, KW, Co]
  free(backend, xT, dyT);
  const dw = run(tf.Transpose, backend, { x: g }, { perm: [1, 2, 0, 3] }); // [KH, KW, Ci, Co]
  free(backend, g);
  return dw;
};
