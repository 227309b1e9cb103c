/**
 * Models by name.
 *
 * | name | model |
 * |---|---|
 * | `mlp` | {@link createMlp} (hidden 256, 256) |
 * | `cnn` | {@link createCnn}, the platform's reference CNN |
 * | `cnn-bn` | {@link createCnnBn}, the reference CNN with BatchNorm after each convolution |
 * | `resnet20` … `resnet56` | {@link createResNet}, CIFAR ResNets with option-A shortcuts |
 * | `wrn16-8` | {@link createWideResNet}, the authors' WRN-16-8 (3 units per stage) |
 * | `vgg16-bn` | {@link createVgg16Bn} |
 *
 * The authors' code accepts ResNets on CIFAR-10 only (docs/paper.md#settings); this registry
 * builds every
 * model for any number of classes.
 *
 * @module
 */
import type { ModelOptions } from "../core/model.ts";
import type { Tree } from "../core/tree.ts";
import { createCnn, createCnnBn } from "./cnn.ts";
import { type SpecModel, specSize } from "./layers.ts";
import { createMlp } from "./mlp.ts";
import { createResNet, type ResNetDepth } from "./resnet.ts";
import { createVgg16Bn } from "./vgg.ts";
import { createWideResNet } from "./wrn.ts";

/** Every registered model name. */
export const MODEL_NAMES = [
  "mlp",
  "cnn",
  "cnn-bn",
  "resnet20",
  "resnet32",
  "resnet44",
  "resnet56",
  "wrn16-8",
  "vgg16-bn",
] as const;

/** A registered model name. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** Options of {@link createModel}: the contract's options plus per-model extras. */
export interface CreateModelOptions extends ModelOptions {
  /** `vgg16-bn` only: dropout rate in train mode (default 0.5; see `models/vgg.ts`). */
  dropout?: number;
  /** `mlp` only: hidden widths (default [256, 256]). */
  hidden?: readonly number[];
}

/** The registered models without BatchNorm layers (no batch statistics); all others have it. */
const WITHOUT_BATCHNORM: readonly string[] = ["mlp", "cnn"];

/**
 * Whether model `name` has BatchNorm layers, so that a note such as "train-mode BatchNorm"
 * applies to it (false for unknown names).
 */
export function hasBatchNorm(name: string): boolean {
  return isModelName(name) && !WITHOUT_BATCHNORM.includes(name);
}

/** Whether `name` is a registered model name. */
export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * Builds a registered model (no tensors are created until `init`).
 *
 * @throws {Error} naming the registered models when `name` is unknown; {@link RangeError} on
 *   invalid options.
 */
export function createModel(name: string, options: CreateModelOptions): SpecModel {
  if (!isModelName(name)) {
    throw new Error(`unknown model "${name}"; available: ${MODEL_NAMES.join(", ")}`);
  }
  const base: ModelOptions = { numClasses: options.numClasses, inputShape: options.inputShape };
  switch (name) {
    case "mlp":
      return createMlp({ ...base, hidden: options.hidden });
    case "cnn":
      return createCnn(base);
    case "cnn-bn":
      return createCnnBn(base);
    case "resnet20":
    case "resnet32":
    case "resnet44":
    case "resnet56":
      return createResNet({ ...base, depth: Number(name.slice(6)) as ResNetDepth });
    case "wrn16-8":
      return createWideResNet({ ...base, depth: 16, widthFactor: 8 });
    case "vgg16-bn":
      return createVgg16Bn({ ...base, dropout: options.dropout });
  }
}

/** Number of scalars in a parameter tree. */
export function parameterCount(params: Tree): number {
  return Object.values(params).reduce((acc, t) => acc + t.size, 0);
}

/** Number of trainable scalars of a model, from its spec (nothing is materialized). */
export function modelParameterCount(model: SpecModel): number {
  return specSize(model.spec.params);
}
