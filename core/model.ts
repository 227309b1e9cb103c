/**
 * The contract between models and the training loop.
 *
 * A model is a pure function of explicit trees: trainable `params` and non-trainable `state`
 * (BatchNorm running statistics). `apply` never mutates either; in train mode it also returns
 * the updated state, so "SAM's second pass must not update the running statistics" is just
 * dropping that output. Inputs are NHWC float32 batches.
 *
 * This file holds types only; implementations live in `models/`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { RngKey } from "./random.ts";
import type { Tree } from "./tree.ts";

/** BatchNorm uses batch statistics (train) or running statistics (eval). */
export type Mode = "train" | "eval";

/** What `apply` returns; every tensor in it is fresh and owned by the caller. */
export interface ModelOutput {
  /** Unnormalized class scores, shape [batch, numClasses]. */
  logits: tf.Tensor2D;
  /**
   * The updated non-trainable state after a train-mode pass (same names and shapes as the
   * input state; an empty tree for models without BatchNorm), or null in eval mode.
   */
  state: Tree | null;
}

/** Options an `apply` may take beyond its four inputs; models that need none ignore them. */
export interface ApplyOptions {
  /**
   * Stream for dropout masks in train mode (models with dropout only; they throw without it).
   * The training loop passes a fresh key per pass: (seed, epoch/e/dropout/<step>/<pass>).
   */
  dropoutKey?: RngKey;
}

/** A functional model. */
export interface Model {
  /** Registry name, e.g. `resnet20`. */
  readonly name: string;
  readonly numClasses: number;
  /** Input image shape [height, width, channels]. */
  readonly inputShape: readonly [number, number, number];
  /** Draws initial parameters from `key`'s streams; returns fresh tensors. */
  init(key: RngKey): { params: Tree; state: Tree };
  /** Runs the network on a batch `x` of shape [batch, height, width, channels]. */
  apply(params: Tree, state: Tree, x: tf.Tensor4D, mode: Mode, options?: ApplyOptions): ModelOutput;
}

/** Options every model factory takes. */
export interface ModelOptions {
  numClasses: number;
  inputShape: readonly [number, number, number];
}
