/**
 * Hessian-vector products of a model's mean loss over a fixed subset, by central finite
 * differences of the gradient:
 *
 *     H·v ≈ (g(θ + s·v) − g(θ − s·v)) / 2s,   s = ε/‖v‖,
 *
 * so ε is the length of the step in parameter space whatever the norm of v. tfjs' nested
 * gradients are broken for conv, max-pool and softmax cross-entropy (docs/platform.md), so double
 * backprop is never used. The error is O(ε²) (third derivatives) plus float32 rounding of the
 * two gradients, O(u·‖g‖/ε) with u = 6e-8; the default ε balances the two on the reference
 * CNN (docs/sharpness.md: measured stable range).
 *
 * ReLU and max pooling make g jump where a unit changes sign or a pooling window changes its
 * winner. Double backprop differentiates with the activation pattern fixed; a central
 * difference also picks up the jump of every kink on θ ± s·v. On tiny problems that dominates;
 * on a trained CNN over ~1,000 images the crossings average out to a few percent. On ResNet-20
 * with train-mode BatchNorm over 128 images they do not: against PyTorch's double backprop,
 * Lanczos on this operator overestimates λ_max by 61 % at ε = 1e-2 and 9 % at 1e-1 (512
 * images: 25 % and 3.8 %; docs/sharpness.md, "ε on a BatchNorm network";
 * `tests/bench/hvp_batchnorm.ts`).
 *
 * g is the gradient of the mean loss over all n examples of the subset: chunk c contributes
 * its mean-loss gradient weighted by size_c/n. The difference g₊ − g₋ is formed chunk by chunk
 * on the device before accumulating, so the large, nearly equal gradients never meet in a long
 * float32 sum; one read-back per product. BatchNorm runs in train mode by default (per-chunk
 * batch statistics, as the authors measure; the running statistics are not updated, the
 * state tree is only read) or in eval mode. Models with dropout need `dropoutKey`: chunk i uses
 * the masks of `deriveKey(dropoutKey, i)` in every pass, so g₊ and g₋ see the same masks.
 *
 * The perturbed weights are rounded to float32, so the direction actually probed is
 * d = (fl(θ + s·v) − fl(θ − s·v))/2s, which differs from v by about u·‖θ‖/ε relative
 * (1e-4 for the reference CNN at ε = 1e-2): below the finite-difference error.
 *
 * Memory: the subset stays on the device (see `chunks.ts`); each product holds two perturbed
 * parameter copies and one accumulator on the device (3 × 4 bytes per parameter) plus the
 * host vectors (θ in float32 and the result in float64).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch } from "../batch.ts";
import type { Mode, Model } from "../model.ts";
import { deriveKey, type RngKey } from "../random.ts";
import type { Tree } from "../tree.ts";
import { type DeviceChunk, type DeviceSubset, uploadSubset } from "./chunks.ts";
import type { LinearOperator } from "./operator.ts";
import { type ParamLayout, paramLayout, treeToVector, vectorNorm, vectorToTree } from "./vector.ts";

/** A mean loss over a batch of logits, e.g. `crossEntropy` of `models/loss.ts`. */
export type LossFunction = (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar;

/**
 * Default finite-difference step ε (parameter-space length). Measured on a trained reference
 * CNN (docs/sharpness.md): along the top eigenvector vᵀHv stays within 1 % of its mean for ε
 * from 1e-3 to 1e-1, 1.4–2.8 % above the fixed-pattern Hessian of double backprop. On ResNet-20
 * with train-mode BatchNorm over 512 images only 1e-1 keeps λ_max within 5 % (same page).
 */
export const DEFAULT_HVP_EPSILON = 1e-2;

/** Default chunk size: the authors' `--bs 128`. */
export const DEFAULT_HVP_CHUNK = 128;

/** Options of {@link createHvp}. */
export interface HvpOptions {
  model: Model;
  /** The point θ; read once (its tensors must stay alive while the operator is used). */
  params: Tree;
  /** Non-trainable state (BatchNorm running statistics); read, never updated. */
  state: Tree;
  /** The fixed subset, in any batching (regrouped into `chunk`s). */
  data: Iterable<Batch>;
  /** Mean loss of a chunk (plain cross-entropy for the authors' sharpness). */
  loss: LossFunction;
  /** Examples per chunk; default {@link DEFAULT_HVP_CHUNK}. */
  chunk?: number;
  /** Finite-difference step; default {@link DEFAULT_HVP_EPSILON}. */
  epsilon?: number;
  /** BatchNorm mode of every pass; default `train` (per-chunk batch statistics). */
  bnMode?: Mode;
  /** Dropout streams (models with dropout only; see the module documentation). */
  dropoutKey?: RngKey;
}

/** The Hessian of the subset's mean loss as a {@link LinearOperator}. */
export interface HvpOperator extends LinearOperator {
  /** Where each parameter lives in the vectors. */
  readonly layout: ParamLayout;
  /** Examples in the subset and chunks they are split into. */
  readonly examples: number;
  readonly chunks: number;
  readonly epsilon: number;
  readonly bnMode: Mode;
  /** Products computed so far (calls of `apply` with a non-zero vector). */
  readonly hvps: number;
  /** Full-subset gradient evaluations so far (2 per product, 1 per `gradient` call). */
  readonly gradients: number;
  /** The mean loss and its gradient at θ (float32 sums, returned in float64). */
  gradient(): { loss: number; grad: Float64Array };
  /** Frees the uploaded subset. */
  dispose(): void;
}

/**
 * Builds the finite-difference Hessian operator of the mean loss over `data` at `params`
 * (see the module documentation).
 *
 * @throws {RangeError} for a non-positive ε or chunk, an empty subset or inputs that do not
 *   match the model's input shape.
 */
export function createHvp(options: HvpOptions): HvpOperator {
  const { model, state, loss, dropoutKey } = options;
  const epsilon = options.epsilon ?? DEFAULT_HVP_EPSILON;
  const bnMode = options.bnMode ?? "train";
  const chunk = options.chunk ?? DEFAULT_HVP_CHUNK;
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) {
    throw new RangeError(`HVP epsilon must be a positive number, got ${epsilon}`);
  }
  if (bnMode !== "train" && bnMode !== "eval") {
    throw new RangeError(`HVP bnMode must be "train" or "eval", got "${bnMode}"`);
  }
  const layout = paramLayout(options.params);
  const theta = treeToVector(options.params, layout);
  const subset: DeviceSubset = uploadSubset(options.data, model.inputShape, chunk);
  const n = subset.count;
  let hvps = 0;
  let gradients = 0;

  const leaves = (values: Float32Array): tf.Tensor[] => {
    const tree = vectorToTree(values, layout);
    return layout.names.map((name) => tree[name]);
  };

  /** Σ_c size_c · ∇(mean loss of chunk c) at `point` for each leaf, plus Σ size_c · loss_c. */
  const chunkPass = (
    point: tf.Tensor[],
    ch: DeviceChunk,
    index: number,
  ): { value: tf.Scalar; grads: tf.Tensor[] } => {
    const f = (...values: tf.Tensor[]) => {
      const p: Tree = {};
      layout.names.forEach((name, i) => (p[name] = values[i]));
      const applyOptions = dropoutKey ? { dropoutKey: deriveKey(dropoutKey, index) } : undefined;
      // A train-mode pass returns new running statistics; they are dropped (freed by the
      // gradient scope), so the state is never updated.
      const out = model.apply(p, state, ch.x, bnMode, applyOptions);
      return loss(out.logits, ch.y);
    };
    const { value, grads } = tf.valueAndGrads(f)(point);
    return { value: value as tf.Scalar, grads };
  };

  const accumulate = (acc: tf.Tensor[], terms: tf.Tensor[]): tf.Tensor[] => {
    if (acc.length === 0) return terms;
    const sum = terms.map((t, i) => tf.add(acc[i], t));
    tf.dispose([...acc, ...terms]);
    return sum;
  };

  const readBack = (acc: tf.Tensor[], scale: number): Float64Array => {
    const out = new Float64Array(layout.dim);
    acc.forEach((t, i) => {
      const data = t.dataSync();
      const offset = layout.offsets[i];
      for (let j = 0; j < data.length; j++) out[offset + j] = data[j] * scale;
    });
    return out;
  };

  return {
    dim: layout.dim,
    layout,
    examples: n,
    chunks: subset.chunks.length,
    epsilon,
    bnMode,
    get hvps() {
      return hvps;
    },
    get gradients() {
      return gradients;
    },
    apply(v: Float64Array): Float64Array {
      if (v.length !== layout.dim) {
        throw new RangeError(`HVP applied to a vector of ${v.length} values, dim ${layout.dim}`);
      }
      const vNorm = vectorNorm(v);
      if (!Number.isFinite(vNorm)) throw new RangeError("HVP applied to a non-finite vector");
      if (vNorm === 0) return new Float64Array(layout.dim);
      const step = epsilon / vNorm;
      const plus = new Float32Array(layout.dim);
      const minus = new Float32Array(layout.dim);
      for (let i = 0; i < layout.dim; i++) {
        plus[i] = theta[i] + step * v[i];
        minus[i] = theta[i] - step * v[i];
      }
      const plusT = leaves(plus);
      const minusT = leaves(minus);
      let acc: tf.Tensor[] = [];
      try {
        subset.chunks.forEach((ch, index) => {
          const terms = tf.tidy(() => {
            const gp = chunkPass(plusT, ch, index).grads;
            const gm = chunkPass(minusT, ch, index).grads;
            return gp.map((g, i) => tf.mul(tf.sub(g, gm[i]), ch.size));
          });
          acc = accumulate(acc, terms);
        });
        hvps++;
        gradients += 2;
        return readBack(acc, 1 / (2 * step * n));
      } finally {
        tf.dispose([...plusT, ...minusT, ...acc]);
      }
    },
    gradient() {
      const point = leaves(Float32Array.from(theta));
      let acc: tf.Tensor[] = [];
      let lossSum = 0;
      try {
        subset.chunks.forEach((ch, index) => {
          const { value, grads } = tf.tidy(() => {
            const pass = chunkPass(point, ch, index);
            return { value: pass.value, grads: pass.grads.map((g) => tf.mul(g, ch.size)) };
          });
          lossSum += value.dataSync()[0] * ch.size;
          value.dispose();
          acc = accumulate(acc, grads);
        });
        gradients++;
        return { loss: lossSum / n, grad: readBack(acc, 1 / n) };
      } finally {
        tf.dispose([...point, ...acc]);
      }
    },
    dispose() {
      subset.dispose();
    },
  };
}
