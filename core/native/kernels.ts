/**
 * tfjs kernels of the `native` backend: the wasm backend's `Conv2D`, `Conv2DBackpropInput`,
 * `Conv2DBackpropFilter` and `BatchMatMul` computed by oneDNN on the tensors' bytes in the
 * wasm heap (no copies).
 *
 * Each kernel covers float32 NHWC convolutions (any stride, dilation and padding tfjs
 * computes) and float32 matmuls whose batch dimensions are equal or broadcast from 1; anything
 * else goes to the kernel registered before (the project's wasm kernel, or tfjs' stock one).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { sizeOf } from "../wasm/kernel_util.ts";
import { isPool2, type PoolAttrs } from "../wasm/max_pool_grad.ts";
import { RELU_BACKPROP } from "../wasm/relu_backprop.ts";
import {
  BN_BACKWARD_PARAM as G,
  BN_FORWARD_PARAM as B,
  CONV_OP,
  CONV_PARAM as P,
  MATMUL_PARAM as Q,
  type NativeLibrary,
} from "./ffi.ts";

/**
 * Train-mode BatchNorm over the last axis (a kernel of this project's, native only): inputs
 * `x`, `gamma`, `beta`, attribute `eps`; outputs `y`, the batch mean, the biased batch
 * variance and `r = 1/√(var + eps)`.
 */
export const BATCH_NORM_TRAIN = "LateSamBatchNormTrain";

/**
 * The gradient of {@link BATCH_NORM_TRAIN}: inputs `dy`, `x`, `mean`, `r`, `gamma`; outputs
 * `dx`, `dgamma`, `dbeta`.
 */
export const BATCH_NORM_TRAIN_GRAD = "LateSamBatchNormTrainGrad";

/** The parts of tfjs' `BackendWasm` the native kernels use. */
interface WasmBackend extends tf.KernelBackend {
  wasm: { HEAPU8: Uint8Array };
  getMemoryOffset(dataId: tf.DataId): number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** What the kernels need besides their inputs. */
export interface NativeKernelContext {
  lib: NativeLibrary;
  /** oneDNN threads per kernel call. */
  threads: number;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  inputShape?: number[];
  filterShape?: number[];
}

function convParams(
  op: number,
  info: tf.backend_util.Conv2DInfo,
  threads: number,
): BigInt64Array {
  // In the order of CONV_PARAM (the shim's enum); the three offsets follow, set by the caller.
  const key = [
    op,
    threads,
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.padInfo.bottom,
    info.padInfo.right,
  ];
  const p = new BigInt64Array(P.length);
  key.forEach((v, i) => (p[i] = BigInt(v)));
  return p;
}

/** The convolution geometry, or null when the native kernel does not cover it. */
function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  dtypes: tf.DataType[],
): tf.backend_util.Conv2DInfo | null {
  if (attrs.dataFormat === "NCHW" || dtypes.some((d) => d !== "float32")) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  const sizes = [sizeOf(xShape), sizeOf(filterShape), sizeOf(info.outShape)];
  if (sizes.some((s) => s <= 0)) return null;
  if (
    [info.padInfo.top, info.padInfo.left, info.padInfo.bottom, info.padInfo.right].some((v) =>
      v < 0
    )
  ) {
    return null;
  }
  return info;
}

/** Runs one convolution direction on (x-like, filter-like, y-like) tensors. */
function runConv(
  ctx: NativeKernelContext,
  backend: WasmBackend,
  op: number,
  info: tf.backend_util.Conv2DInfo,
  tensors: { x: tf.TensorInfo; f: tf.TensorInfo; y: tf.TensorInfo },
): void {
  // oneDNN splits the filter gradient's sum over the batch between threads, so its bits
  // depend on the thread count: it always runs on one, which keeps every result independent
  // of the thread count (forward and input gradient split only the output).
  const threads = op === CONV_OP.filterGrad ? 1 : ctx.threads;
  const p = convParams(op, info, threads);
  p[P.x] = BigInt(backend.getMemoryOffset(tensors.x.dataId));
  p[P.f] = BigInt(backend.getMemoryOffset(tensors.f.dataId));
  p[P.y] = BigInt(backend.getMemoryOffset(tensors.y.dataId));
  // Read the heap view now: allocating the output may have grown (and replaced) it.
  ctx.lib.conv2d(backend.wasm.HEAPU8, p);
}

/** A native kernel built over the kernel it replaces (its fallback). */
export type NativeKernelBuilder = (
  ctx: NativeKernelContext,
  fallback: tf.KernelConfig | undefined,
) => tf.KernelFunc;

function needFallback(name: string, fallback: tf.KernelConfig | undefined): tf.KernelFunc {
  return (args) => {
    if (fallback == null) throw new Error(`native ${name}: case not covered and no fallback`);
    return fallback.kernelFunc(args);
  };
}

const conv2D: NativeKernelBuilder = (ctx, fallback) => (args) => {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs;
  const info = convInfo(x.shape, filter.shape, attrs, [x.dtype, filter.dtype]);
  if (info == null) return needFallback(tf.Conv2D, fallback)(args);
  const backend = args.backend as WasmBackend;
  const y = backend.makeOutput(info.outShape, "float32");
  runConv(ctx, backend, CONV_OP.forward, info, { x, f: filter, y });
  return y;
};

const conv2DBackpropInput: NativeKernelBuilder = (ctx, fallback) => (args) => {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs;
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs, [dy.dtype, filter.dtype]);
  if (info == null || !tf.util.arraysEqual(info.outShape, dy.shape)) {
    return needFallback(tf.Conv2DBackpropInput, fallback)(args);
  }
  const backend = args.backend as WasmBackend;
  const dx = backend.makeOutput(inputShape, "float32");
  runConv(ctx, backend, CONV_OP.inputGrad, info, { x: dx, f: filter, y: dy });
  return dx;
};

const conv2DBackpropFilter: NativeKernelBuilder = (ctx, fallback) => (args) => {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs;
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, [x.dtype, dy.dtype]);
  if (info == null || !tf.util.arraysEqual(info.outShape, dy.shape)) {
    return needFallback(tf.Conv2DBackpropFilter, fallback)(args);
  }
  const backend = args.backend as WasmBackend;
  const dw = backend.makeOutput(filterShape, "float32");
  runConv(ctx, backend, CONV_OP.filterGrad, info, { x, f: dw, y: dy });
  return dw;
};

const batchMatMul: NativeKernelBuilder = (ctx, fallback) => (args) => {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
  };
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const [ba, bb] = [sizeOf(batchA), sizeOf(batchB)];
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const [k2, n] = transposeB ? [bc, br] : [br, bc];
  const covered = a.dtype === "float32" && b.dtype === "float32" && k === k2 &&
    (ba === 1 || bb === 1 || tf.util.arraysEqual(batchA, batchB)) && m * n * k > 0;
  if (!covered) return needFallback(tf.BatchMatMul, fallback)(args);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const backend = args.backend as WasmBackend;
  const c = backend.makeOutput([...batchShape, m, n], "float32");
  const q = new BigInt64Array(Q.length);
  const values: [number, number][] = [
    // One thread: a threaded gemm may split the sum over k, and the models' matmuls are small.
    [Q.threads, 1],
    [Q.transA, transposeA ? 1 : 0],
    [Q.transB, transposeB ? 1 : 0],
    [Q.m, m],
    [Q.n, n],
    [Q.k, k],
    [Q.batchA, ba],
    [Q.batchB, bb],
    [Q.a, backend.getMemoryOffset(a.dataId)],
    [Q.b, backend.getMemoryOffset(b.dataId)],
    [Q.c, backend.getMemoryOffset(c.dataId)],
  ];
  for (const [i, v] of values) q[i] = BigInt(v);
  ctx.lib.matmul(backend.wasm.HEAPU8, q);
  return c;
};

const offset = (backend: WasmBackend, t: tf.TensorInfo) =>
  BigInt(backend.getMemoryOffset(t.dataId));

const batchNormTrain: NativeKernelBuilder = (ctx) => (args) => {
  const { x, gamma, beta } = args.inputs as Record<string, tf.TensorInfo>;
  const { eps } = args.attrs as unknown as { eps: number };
  const c = x.shape[x.shape.length - 1];
  const backend = args.backend as WasmBackend;
  const y = backend.makeOutput([...x.shape], "float32");
  const [mean, variance, r] = [0, 1, 2].map(() => backend.makeOutput([c], "float32"));
  const b = new BigInt64Array(B.length);
  b[B.m] = BigInt(sizeOf(x.shape) / c);
  b[B.c] = BigInt(c);
  const tensors = { x, gamma, beta, y, mean, variance, r };
  for (const [name, t] of Object.entries(tensors)) {
    b[B[name as keyof typeof tensors]] = offset(backend, t);
  }
  ctx.lib.bnForward(backend.wasm.HEAPU8, b, eps);
  return [y, mean, variance, r];
};

const batchNormTrainGrad: NativeKernelBuilder = (ctx) => (args) => {
  const { dy, x, mean, r, gamma } = args.inputs as Record<string, tf.TensorInfo>;
  const c = x.shape[x.shape.length - 1];
  const backend = args.backend as WasmBackend;
  const dx = backend.makeOutput([...x.shape], "float32");
  const [dgamma, dbeta] = [0, 1].map(() => backend.makeOutput([c], "float32"));
  const g = new BigInt64Array(G.length);
  g[G.m] = BigInt(sizeOf(x.shape) / c);
  g[G.c] = BigInt(c);
  const tensors = { dy, x, mean, r, gamma, dx, dgamma, dbeta };
  for (const [name, t] of Object.entries(tensors)) {
    g[G[name as keyof typeof tensors]] = offset(backend, t);
  }
  ctx.lib.bnBackward(backend.wasm.HEAPU8, g);
  return [dx, dgamma, dbeta];
};

const reluBackprop: NativeKernelBuilder = (ctx, fallback) => (args) => {
  const { dy, y } = args.inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
  if (dy.dtype !== "float32" || y.dtype !== "float32" || !tf.util.arraysEqual(dy.shape, y.shape)) {
    return needFallback(RELU_BACKPROP, fallback)(args);
  }
  const backend = args.backend as WasmBackend;
  const dx = backend.makeOutput([...dy.shape], "float32");
  const [a, b, c] = [dy, y, dx].map((t) => backend.getMemoryOffset(t.dataId));
  ctx.lib.reluBackprop(backend.wasm.HEAPU8, sizeOf(dy.shape), a, b, c);
  return dx;
};

const maxPoolGrad: NativeKernelBuilder = (ctx, fallback) => (args) => {
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  if (input.dtype !== "float32" || !isPool2(input.shape, args.attrs as unknown as PoolAttrs)) {
    return needFallback(tf.MaxPoolGrad, fallback)(args);
  }
  const backend = args.backend as WasmBackend;
  const dx = backend.makeOutput([...input.shape], "float32");
  const s = BigInt64Array.from([
    ...input.shape.map(BigInt),
    ...[input, dy, dx].map((t) => offset(backend, t)),
  ]);
  ctx.lib.maxPool2Grad(backend.wasm.HEAPU8, s);
  return dx;
};

/** The native kernels by the tfjs kernel name they replace (or add). */
export const NATIVE_KERNELS: Readonly<Record<string, NativeKernelBuilder>> = {
  [tf.Conv2D]: conv2D,
  [tf.Conv2DBackpropInput]: conv2DBackpropInput,
  [tf.Conv2DBackpropFilter]: conv2DBackpropFilter,
  [tf.BatchMatMul]: batchMatMul,
  [tf.MaxPoolGrad]: maxPoolGrad,
  [RELU_BACKPROP]: reluBackprop,
  [BATCH_NORM_TRAIN]: batchNormTrain,
  [BATCH_NORM_TRAIN_GRAD]: batchNormTrainGrad,
};
