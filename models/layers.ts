/**
 * Functional building blocks for the image models: layers as plain functions of tensors,
 * initializers that draw from the project's seeded streams, and a small declarative layer
 * for building a model's parameter list and running its forward pass.
 *
 * ## Parameter naming convention
 *
 * Every tensor of a model lives in a flat {@link Tree} under a path-like name:
 *
 *     <scope>/<layer>/<leaf>          e.g. "stem/conv/kernel", "stage1/unit0/bn1/gamma"
 *
 * - scopes and layers are lower-case words with an optional index (`stage1`, `unit0`,
 *   `conv2`, `fc1`); stages count from 1 (as in the papers), units within a stage from 0;
 * - leaves: convolutions and dense layers have `kernel` (and `bias` when they have one);
 *   BatchNorm has trainable `gamma` (scale) and `beta` (shift) in `params`, and running
 *   statistics `mean` and `var` in the non-trainable `state` tree;
 * - the classifier (last dense layer) is `classifier/kernel` and `classifier/bias` in every
 *   model.
 *
 * Layouts: images NHWC; conv kernels [KH, KW, Cin, Cout]; dense kernels [in, out]. Parameter
 * values are not interchangeable with PyTorch checkpoints without transposition.
 *
 * Each tensor is initialized from its own stream, `deriveKey(key, ...name.split("/"))`, so a
 * tensor's initial value depends only on the model key and its name, not on the order in which
 * tensors are created.
 *
 * ## PyTorch semantics
 *
 * - `same` convolution padding is PyTorch's `padding = k // 2` on every side (odd kernels).
 *   For stride 1 this is what TF "same" does too. For stride 2 on an even input, TF "same"
 *   pads asymmetrically (0 before, 1 after) while PyTorch pads 1 on both sides: the windows
 *   are shifted by one pixel. {@link conv2d} then pads explicitly (`tf.pad`) and runs a `valid`
 *   convolution, so only `same`/`valid` convolution kernels are ever used (which is what the
 *   faster backend kernels are written and tested for).
 * - BatchNorm ({@link batchNorm}) follows PyTorch: batch statistics over N,H,W (N for 2-D
 *   input), normalization with the biased variance, running variance updated with the
 *   unbiased one, momentum 0.1 (weight of the new batch), eps 1e-5. It is written as plain
 *   broadcasting arithmetic instead of `tf.batchNorm`, whose gradient is slow, with its
 *   gradient in closed form (`tf.customGrad`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { createRng, deriveKey, type RngKey } from "../core/random.ts";
import type { Tree } from "../core/tree.ts";
import type { ApplyOptions, Mode, Model, ModelOutput } from "../core/model.ts";
import { reluBackprop } from "../core/wasm/relu_backprop.ts";
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from "../core/native/kernels.ts";

// ---------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------

/** Padding of {@link conv2d}: `same` = PyTorch `padding = k // 2` (odd kernels), or none. */
export type Padding = "same" | "valid";

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  /** Stride in both spatial dimensions; default 1. */
  stride?: number;
  /** Default `same`. */
  padding?: Padding;
  /** Per-output-channel bias [Cout], if any. */
  bias?: tf.Tensor;
}

/** TF's "same" padding before the input along one dimension. */
function tfSamePadBefore(size: number, k: number, stride: number): number {
  const out = Math.ceil(size / stride);
  return Math.floor(Math.max((out - 1) * stride + k - size, 0) / 2);
}

/**
 * A 2-D convolution with PyTorch padding semantics.
 *
 * `x` is NHWC, `kernel` is [KH, KW, Cin, Cout]. With `padding: "same"` (odd kernels only)
 * each spatial side is padded with `(k − 1) / 2` zeros, as PyTorch's `padding = k // 2`; the
 * output is `floor((H + 2p − k) / stride) + 1` = `ceil(H / stride)` pixels. When TF's "same"
 * places the padding differently (stride > 1 on even inputs) the input is padded explicitly
 * and convolved with `valid` padding.
 *
 * @throws {Error} on an even kernel with `same` padding or mismatched channels.
 */
export function conv2d(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  options: Conv2dOptions = {},
): tf.Tensor4D {
  const { stride = 1, padding = "same", bias } = options;
  const [kh, kw, cin] = kernel.shape;
  if (x.shape[3] !== cin) {
    throw new Error(`conv2d: input has ${x.shape[3]} channels, kernel expects ${cin}`);
  }
  return tf.tidy(() => {
    let y: tf.Tensor4D;
    if (padding === "valid") {
      y = tf.conv2d(x, kernel, stride, "valid");
    } else {
      if (kh % 2 === 0 || kw % 2 === 0) {
        throw new Error(`conv2d: "same" padding needs an odd kernel, got ${kh}x${kw}`);
      }
      const ph = (kh - 1) / 2;
      const pw = (kw - 1) / 2;
      if (ph === 0 && pw === 0) {
        y = tf.conv2d(x, kernel, stride, "valid");
      } else if (
        tfSamePadBefore(x.shape[1], kh, stride) === ph &&
        tfSamePadBefore(x.shape[2], kw, stride) === pw
      ) {
        // TF places the windows exactly where PyTorch does.
        y = tf.conv2d(x, kernel, stride, "same");
      } else {
        const padded = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]]);
        y = tf.conv2d(padded, kernel, stride, "valid");
      }
    }
    return bias ? tf.add(y, bias) : y;
  });
}

/** A dense layer: `x·kernel + bias` with `x` [B, in] and `kernel` [in, out]. */
export function dense(x: tf.Tensor2D, kernel: tf.Tensor2D, bias?: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const y = tf.matMul(x, kernel);
    return (bias ? tf.add(y, bias) : y) as tf.Tensor2D;
  });
}

/**
 * Elementwise max(x, 0). Differentiated from its output in one pass where the backend has the
 * `ReluBackprop` kernel (wasm; tfjs' own gradient takes two), with tfjs' formula elsewhere.
 */
export function relu<T extends tf.Tensor>(x: T): T {
  // A named scope: tf.profile lists the op as "ReLU".
  return tf.tidy("ReLU", () => reluOp(x)) as T;
}

const reluOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const y = tf.relu(args[0] as tf.Tensor);
  (args[1] as tf.GradSaveFunc)([y]);
  return { value: y, gradFunc: (dy, saved) => reluBackprop(dy as tf.Tensor, saved[0]) };
});

/** 2×2 max pooling with stride 2 (PyTorch `MaxPool2d(2)`: odd sizes are floored). */
export function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 2, 2, "valid");
}

/** Mean over the spatial dimensions: [N, H, W, C] → [N, C]. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/** Flattens every dimension after the batch one: [N, …] → [N, prod(…)]. */
export function flatten(x: tf.Tensor): tf.Tensor2D {
  return tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
}

/** The parameters and running statistics of one BatchNorm layer. */
export interface BatchNormParams {
  /** Scale γ [C] (trainable). */
  gamma: tf.Tensor;
  /** Shift β [C] (trainable). */
  beta: tf.Tensor;
  /** Running mean [C] (state). */
  mean: tf.Tensor;
  /** Running variance [C] (state). */
  var: tf.Tensor;
}

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Weight of the new batch statistic in the running average (PyTorch momentum); 0.1. */
  momentum?: number;
  /** Added to the variance before the square root; 1e-5. */
  eps?: number;
}

/** What {@link batchNorm} returns. */
export interface BatchNormOutput<T extends tf.Tensor> {
  y: T;
  /** Updated running mean (train mode) or null (eval mode). */
  mean: tf.Tensor | null;
  /** Updated running variance (train mode) or null (eval mode). */
  var: tf.Tensor | null;
}

/**
 * BatchNorm with PyTorch semantics over the last (channel) axis of a 2-D or 4-D input.
 *
 * Train mode normalizes with the batch mean and the biased batch variance over all axes but
 * the last, and returns the new running statistics
 * `mean ← (1 − m)·mean + m·batchMean`, `var ← (1 − m)·var + m·batchVar·n/(n − 1)`
 * (n = values per channel). Eval mode normalizes with the running statistics and returns null
 * statistics. Output `y = (x − μ)/√(σ² + eps)·γ + β`.
 *
 * The running statistics are not on the path to any loss, so they never contribute to a
 * gradient. Under `tf.grads`/`tf.valueAndGrads` every tensor the loss function creates except
 * its result is disposed when the gradient scope ends: a caller that wants the new statistics
 * must `tf.keep` them inside the loss function.
 *
 * @throws {Error} in train mode when a channel has a single value (PyTorch refuses too: the
 *   unbiased variance is undefined).
 */
export function batchNorm<T extends tf.Tensor>(
  x: T,
  bn: BatchNormParams,
  mode: Mode,
  options: BatchNormOptions = {},
): BatchNormOutput<T> {
  const { momentum = 0.1, eps = 1e-5 } = options;
  if (x.rank !== 2 && x.rank !== 4) {
    throw new Error(`batchNorm: input must be 2-D or 4-D, got rank ${x.rank}`);
  }
  const axes = x.rank === 4 ? [0, 1, 2] : [0];
  if (mode === "eval") {
    const y = tf.tidy(() => {
      const scale = tf.mul(bn.gamma, tf.rsqrt(tf.add(bn.var, eps)));
      const shift = tf.sub(bn.beta, tf.mul(bn.mean, scale));
      return tf.add(tf.mul(x, scale), shift) as T;
    });
    return { y, mean: null, var: null };
  }
  const n = axes.reduce((acc, a) => acc * x.shape[a], 1);
  if (n < 2) {
    throw new Error(
      `batchNorm: train mode needs more than one value per channel, got input shape ` +
        `[${x.shape.join(", ")}]`,
    );
  }
  const stats: { mean?: tf.Tensor; var?: tf.Tensor } = {};
  // The native backend computes the op and its gradient in one kernel each.
  const fused = tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) != null;
  const normalize = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, gamma, beta] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    if (fused) {
      const [y, batchMean, batchVar, r] = tf.engine().runKernel(
        BATCH_NORM_TRAIN,
        { x: xIn, gamma, beta },
        { eps },
      ) as tf.Tensor[];
      stats.mean = tf.keep(tf.clone(batchMean));
      stats.var = tf.keep(batchVar);
      save([xIn, batchMean, r, gamma]);
      return {
        value: y,
        gradFunc: (dy, saved) => {
          const [xs, mean, rs, g] = saved;
          const inputs = { dy: dy as tf.Tensor, x: xs, mean, r: rs, gamma: g };
          return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs, {}) as tf.Tensor[];
        },
      };
    }
    const batchMean = tf.mean(xIn, axes);
    const centered = tf.sub(xIn, batchMean);
    const batchVar = tf.mean(tf.square(centered), axes);
    const r = tf.rsqrt(tf.add(batchVar, eps));
    const scale = tf.mul(gamma, r);
    const y = tf.add(tf.mul(centered, scale), beta);
    // The batch statistics leave the op for the running averages (disposed below).
    stats.mean = tf.keep(batchMean);
    stats.var = tf.keep(batchVar);
    save([centered, r, scale]);
    return { value: y, gradFunc: (dy, saved) => batchNormGrad(dy as tf.Tensor, saved, axes, n) };
  });
  try {
    return tf.tidy(() => {
      // A named scope: tf.profile lists the op as "BatchNorm".
      const y = tf.tidy("BatchNorm", () => normalize(x, bn.gamma, bn.beta)) as T;
      const batchMean = stats.mean as tf.Tensor;
      const mean = tf.add(tf.mul(1 - momentum, bn.mean), tf.mul(momentum, batchMean));
      const unbiased = tf.mul(stats.var as tf.Tensor, n / (n - 1));
      const variance = tf.add(tf.mul(1 - momentum, bn.var), tf.mul(momentum, unbiased));
      return { y, mean, var: variance };
    });
  } finally {
    tf.dispose([stats.mean, stats.var].filter((t): t is tf.Tensor => t != null));
  }
}

/**
 * The gradient of train-mode BatchNorm in closed form, from the forward pass's centered input
 * `xc = x − μ`, `r = 1/√(σ² + eps)` and `scale = γ·r` (per channel; n values per channel):
 *
 *     dβ = Σ dy,   dγ = r·Σ dy·xc,   dx = scale·dy − scale·dβ/n − xc·(scale·r·dγ/n).
 *
 * Seven passes over the activation instead of the ~25 that differentiating the forward ops
 * one by one takes (tfjs' Mean gradient alone materializes a full-size tensor of ones).
 */
function batchNormGrad(dy: tf.Tensor, saved: tf.Tensor[], axes: number[], n: number) {
  const [xc, r, scale] = saved;
  const dbeta = tf.sum(dy, axes);
  const dgamma = tf.mul(tf.sum(tf.mul(dy, xc), axes), r);
  const k = tf.div(tf.mul(tf.mul(scale, r), dgamma), n);
  const shift = tf.div(tf.mul(scale, dbeta), n);
  const dx = tf.sub(tf.sub(tf.mul(dy, scale), tf.mul(xc, k)), shift);
  return [dx, dgamma, dbeta];
}

/**
 * Inverted dropout (PyTorch semantics): each value is zeroed with probability `rate` and the
 * survivors are scaled by 1/(1 − rate). The mask is drawn from `key`'s stream (uniform draws
 * in row-major order; a value survives when its draw is ≥ rate), so it is deterministic.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, key: RngKey): T {
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
  }
  if (rate === 0) return tf.clone(x);
  const rng = createRng(key);
  const mask = new Float32Array(x.size);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() >= rate ? keep : 0;
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape)) as T);
}

// ---------------------------------------------------------------------------------------
// Initializers
// ---------------------------------------------------------------------------------------

/**
 * Fan-in and fan-out of a weight, as PyTorch computes them: conv kernel [KH, KW, Cin, Cout]
 * gives (KH·KW·Cin, KH·KW·Cout); dense kernel [in, out] gives (in, out).
 *
 * @throws {Error} for shapes of rank other than 2 or 4.
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  if (shape.length === 4) {
    const field = shape[0] * shape[1];
    return { fanIn: field * shape[2], fanOut: field * shape[3] };
  }
  throw new Error(`fans: need a 2-D or 4-D weight shape, got [${shape.join(", ")}]`);
}

/** How one tensor is initialized. */
export type Init =
  /** PyTorch `kaiming_normal_`: N(0, gain²/fan), untruncated; gain √2 (ReLU) by default. */
  | { kind: "kaimingNormal"; mode: "fan_in" | "fan_out"; gain?: number }
  /** U(−bound, bound). PyTorch's default Linear/Conv init has bound 1/√fan_in. */
  | { kind: "uniform"; bound: number }
  /** N(0, std²). */
  | { kind: "normal"; std: number }
  | { kind: "zeros" }
  | { kind: "ones" };

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Standard deviation of PyTorch's `kaiming_normal_` for a weight shape. */
export function kaimingStd(
  shape: readonly number[],
  mode: "fan_in" | "fan_out" = "fan_in",
  gain = Math.SQRT2,
): number {
  const { fanIn, fanOut } = fans(shape);
  return gain / Math.sqrt(mode === "fan_in" ? fanIn : fanOut);
}

/** N(0, std²) draws from `key`'s stream, row-major (untruncated). */
export function normalInit(key: RngKey, shape: readonly number[], std: number): tf.Tensor {
  const rng = createRng(key);
  const out = new Float32Array(size(shape));
  for (let i = 0; i < out.length; i++) out[i] = std * rng.normal();
  return tf.tensor(out, [...shape]);
}

/** PyTorch `kaiming_normal_` (untruncated) from `key`'s stream. */
export function kaimingNormal(
  key: RngKey,
  shape: readonly number[],
  options: { mode?: "fan_in" | "fan_out"; gain?: number } = {},
): tf.Tensor {
  return normalInit(key, shape, kaimingStd(shape, options.mode, options.gain));
}

/** U(−bound, bound) draws from `key`'s stream, row-major. */
export function uniformInit(key: RngKey, shape: readonly number[], bound: number): tf.Tensor {
  const rng = createRng(key);
  const out = new Float32Array(size(shape));
  for (let i = 0; i < out.length; i++) out[i] = -bound + 2 * bound * rng.uniform();
  return tf.tensor(out, [...shape]);
}

/**
 * PyTorch's default Linear/Conv2d init for a weight or bias: U(±1/√fanIn). (For weights this
 * is `kaiming_uniform_(a=√5)`, whose bound √(6/((1+a²)·fanIn)) is exactly 1/√fanIn.)
 */
export function torchDefaultInit(key: RngKey, shape: readonly number[], fanIn: number): tf.Tensor {
  return uniformInit(key, shape, 1 / Math.sqrt(fanIn));
}

/** All zeros. */
export function zerosInit(shape: readonly number[]): tf.Tensor {
  return tf.zeros([...shape]);
}

/** All ones. */
export function onesInit(shape: readonly number[]): tf.Tensor {
  return tf.ones([...shape]);
}

/** Materializes one initializer for `shape` from `key`'s stream. */
export function initTensor(init: Init, key: RngKey, shape: readonly number[]): tf.Tensor {
  switch (init.kind) {
    case "kaimingNormal":
      return kaimingNormal(key, shape, { mode: init.mode, gain: init.gain });
    case "uniform":
      return uniformInit(key, shape, init.bound);
    case "normal":
      return normalInit(key, shape, init.std);
    case "zeros":
      return zerosInit(shape);
    case "ones":
      return onesInit(shape);
  }
}

// ---------------------------------------------------------------------------------------
// Declarative models
// ---------------------------------------------------------------------------------------

/** One named tensor of a model, with its shape and initializer. */
export interface TensorSpec {
  name: string;
  shape: readonly number[];
  init: Init;
}

/** Every tensor a model has, without materializing any. */
export interface ModelSpec {
  params: TensorSpec[];
  state: TensorSpec[];
}

/** Number of scalars in a list of tensor specs. */
export function specSize(specs: readonly TensorSpec[]): number {
  return specs.reduce((acc, s) => acc + size(s.shape), 0);
}

/**
 * Materializes every tensor of a spec. Each tensor draws from its own stream
 * `deriveKey(key, ...name.split("/"))`; returns fresh tensors.
 */
export function initFromSpec(spec: ModelSpec, key: RngKey): { params: Tree; state: Tree } {
  const build = (list: TensorSpec[]): Tree => {
    const tree: Tree = {};
    for (const s of list) {
      if (s.name in tree) throw new Error(`duplicate tensor name "${s.name}"`);
      tree[s.name] = initTensor(s.init, deriveKey(key, ...s.name.split("/")), s.shape);
    }
    return tree;
  };
  return { params: build(spec.params), state: build(spec.state) };
}

/** Weight and bias initializers of a conv or dense layer. */
export interface LayerInit {
  weight: Init;
  /** Omit for a layer without bias. */
  bias?: Init;
}

/** PyTorch's default Linear/Conv2d init for a layer of the given fan-in (weights and bias). */
export function torchDefaultLayerInit(fanIn: number): Required<LayerInit> {
  const bound = 1 / Math.sqrt(fanIn);
  return { weight: { kind: "uniform", bound }, bias: { kind: "uniform", bound } };
}

/** Collects the tensor specs of a model, layer by layer. */
export class SpecBuilder {
  readonly params: TensorSpec[] = [];
  readonly state: TensorSpec[] = [];

  /** A conv layer `name/kernel` [k, k, cin, cout] (and `name/bias` [cout] if `init.bias`). */
  conv(name: string, k: number, cin: number, cout: number, init: LayerInit): this {
    this.params.push({ name: `${name}/kernel`, shape: [k, k, cin, cout], init: init.weight });
    if (init.bias) this.params.push({ name: `${name}/bias`, shape: [cout], init: init.bias });
    return this;
  }

  /** A dense layer `name/kernel` [inputs, outputs] (and `name/bias` if `init.bias`). */
  dense(name: string, inputs: number, outputs: number, init: LayerInit): this {
    this.params.push({ name: `${name}/kernel`, shape: [inputs, outputs], init: init.weight });
    if (init.bias) this.params.push({ name: `${name}/bias`, shape: [outputs], init: init.bias });
    return this;
  }

  /** A BatchNorm layer: params `name/gamma` (1), `name/beta` (0); state `name/mean` (0), `name/var` (1). */
  batchNorm(name: string, channels: number): this {
    this.params.push({ name: `${name}/gamma`, shape: [channels], init: { kind: "ones" } });
    this.params.push({ name: `${name}/beta`, shape: [channels], init: { kind: "zeros" } });
    this.state.push({ name: `${name}/mean`, shape: [channels], init: { kind: "zeros" } });
    this.state.push({ name: `${name}/var`, shape: [channels], init: { kind: "ones" } });
    return this;
  }

  /** The collected spec. */
  build(): ModelSpec {
    return { params: [...this.params], state: [...this.state] };
  }
}

/**
 * The forward pass of one `apply` call: looks parameters up by name, runs layers, and
 * collects the new BatchNorm running statistics in train mode. Create it inside a `tf.tidy`.
 */
export class Forward {
  readonly #params: Tree;
  readonly #state: Tree;
  readonly mode: Mode;
  readonly #newState: Tree = {};
  readonly #bnOptions: BatchNormOptions;

  constructor(params: Tree, state: Tree, mode: Mode, bnOptions: BatchNormOptions = {}) {
    if (mode !== "train" && mode !== "eval") {
      throw new Error(`apply: mode must be "train" or "eval", got ${String(mode)}`);
    }
    this.#params = params;
    this.#state = state;
    this.mode = mode;
    this.#bnOptions = bnOptions;
  }

  /** The parameter called `name`. @throws {Error} when it is missing. */
  param(name: string): tf.Tensor {
    const t = this.#params[name];
    if (!t) throw new Error(`apply: missing parameter "${name}"`);
    return t;
  }

  #stateLeaf(name: string): tf.Tensor {
    const t = this.#state?.[name];
    if (!t) throw new Error(`apply: missing state "${name}"`);
    return t;
  }

  /** Conv layer `name` (its `kernel`, and `bias` when present in the params). */
  conv(name: string, x: tf.Tensor4D, options: { stride?: number; padding?: Padding } = {}) {
    return conv2d(x, this.param(`${name}/kernel`) as tf.Tensor4D, {
      ...options,
      bias: this.#params[`${name}/bias`],
    });
  }

  /** Dense layer `name` (its `kernel`, and `bias` when present in the params). */
  dense(name: string, x: tf.Tensor2D): tf.Tensor2D {
    return dense(x, this.param(`${name}/kernel`) as tf.Tensor2D, this.#params[`${name}/bias`]);
  }

  /** BatchNorm layer `name`; in train mode records its new running statistics. */
  batchNorm<T extends tf.Tensor>(name: string, x: T): T {
    const out = batchNorm(
      x,
      {
        gamma: this.param(`${name}/gamma`),
        beta: this.param(`${name}/beta`),
        mean: this.#stateLeaf(`${name}/mean`),
        var: this.#stateLeaf(`${name}/var`),
      },
      this.mode,
      this.#bnOptions,
    );
    if (out.mean && out.var) {
      this.#newState[`${name}/mean`] = out.mean;
      this.#newState[`${name}/var`] = out.var;
    }
    return out.y;
  }

  /**
   * The state to return from `apply`: null in eval mode; in train mode the new running
   * statistics, which must cover exactly the names of the input state.
   */
  finish(): Tree | null {
    if (this.mode === "eval") return null;
    const expected = Object.keys(this.#state).sort();
    const got = Object.keys(this.#newState).sort();
    if (expected.length !== got.length || expected.some((k, i) => k !== got[i])) {
      throw new Error(
        `apply: state has [${expected.join(", ")}] but the pass updated [${got.join(", ")}]`,
      );
    }
    return { ...this.#newState };
  }
}

/** Options an `apply` may take (defined by the model contract in core/model.ts). */
export type { ApplyOptions } from "../core/model.ts";

/** Throws unless `x` is a batch of the model's input shape. */
export function checkInput(
  name: string,
  x: tf.Tensor,
  inputShape: readonly [number, number, number],
): void {
  const ok = x.rank === 4 && x.shape[1] === inputShape[0] && x.shape[2] === inputShape[1] &&
    x.shape[3] === inputShape[2];
  if (!ok) {
    throw new Error(
      `${name}: expected input [batch, ${inputShape.join(", ")}], got [${x.shape.join(", ")}]`,
    );
  }
}

/** Throws unless the model options are usable (positive integers, at least two classes). */
export function checkOptions(
  name: string,
  options: { numClasses: number; inputShape: readonly number[] },
): void {
  const { numClasses, inputShape } = options;
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new RangeError(`${name}: numClasses must be an integer ≥ 2, got ${numClasses}`);
  }
  if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(
      `${name}: inputShape must be [height, width, channels] of positive integers, got ` +
        `[${inputShape.join(", ")}]`,
    );
  }
}

/** A model built from a {@link ModelSpec}: its tensors can be listed without materializing. */
export interface SpecModel extends Model {
  /** Every parameter and state tensor: names, shapes, initializers. */
  readonly spec: ModelSpec;
  /** {@link Model.apply}, with optional extras (see {@link ApplyOptions}). */
  apply(
    params: Tree,
    state: Tree,
    x: tf.Tensor4D,
    mode: Mode,
    options?: ApplyOptions,
  ): ModelOutput;
}

/** What {@link defineModel} needs. */
export interface ModelDefinition {
  name: string;
  numClasses: number;
  inputShape: readonly [number, number, number];
  spec: ModelSpec;
  /** The network: logits [batch, numClasses] from the input batch. */
  forward(f: Forward, x: tf.Tensor4D, options: ApplyOptions): tf.Tensor2D;
  bnOptions?: BatchNormOptions;
}

/**
 * Wraps a spec and a forward function into a {@link SpecModel}: `init` materializes the spec,
 * `apply` validates the input, runs `forward` in a `tf.tidy` and returns fresh logits and
 * state (the new running statistics in train mode, `{}` for a model without BatchNorm; null in
 * eval mode).
 */
export function defineModel(def: ModelDefinition): SpecModel {
  const { name, numClasses, inputShape, spec } = def;
  checkOptions(name, { numClasses, inputShape });
  return {
    name,
    numClasses,
    inputShape: [...inputShape] as [number, number, number],
    spec,
    init: (key: RngKey) => initFromSpec(spec, key),
    apply(params, state, x, mode, options = {}) {
      checkInput(name, x, inputShape);
      const out = tf.tidy(() => {
        const f = new Forward(params, state, mode, def.bnOptions);
        const logits = def.forward(f, x, options);
        if (logits.rank !== 2 || logits.shape[1] !== numClasses) {
          throw new Error(`${name}: produced logits [${logits.shape.join(", ")}]`);
        }
        return { logits, state: f.finish() ?? {} };
      });
      return { logits: out.logits, state: mode === "eval" ? null : out.state };
    },
  };
}
