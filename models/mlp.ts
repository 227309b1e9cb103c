/**
 * A multilayer perceptron: flatten → (dense → ReLU)× → dense.
 *
 * Not one of the paper's models; a cheap model for tests and small experiments. Layers use
 * PyTorch's default `nn.Linear` init (weights and biases U(±1/√fan_in)).
 *
 * Parameters: `fc0/…`, `fc1/…` (hidden layers, `kernel` [in, out] and `bias`) and
 * `classifier/kernel`, `classifier/bias`. No state.
 *
 * @module
 */
import type { ModelOptions } from "../core/model.ts";
import {
  defineModel,
  flatten,
  relu,
  SpecBuilder,
  type SpecModel,
  torchDefaultLayerInit,
} from "./layers.ts";

/** Hidden widths used when none are given. */
export const MLP_DEFAULT_HIDDEN: readonly number[] = [256, 256];

/** Options of {@link createMlp}. */
export interface MlpOptions extends ModelOptions {
  /** Width of each hidden layer; default {@link MLP_DEFAULT_HIDDEN}. Empty: a linear model. */
  hidden?: readonly number[];
}

/** Builds the MLP. @throws {RangeError} on a non-positive hidden width. */
export function createMlp(options: MlpOptions): SpecModel {
  const { numClasses, inputShape, hidden = MLP_DEFAULT_HIDDEN } = options;
  if (hidden.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new RangeError(
      `mlp: hidden widths must be positive integers, got [${hidden.join(", ")}]`,
    );
  }
  const b = new SpecBuilder();
  let width = inputShape[0] * inputShape[1] * inputShape[2];
  hidden.forEach((w, i) => {
    b.dense(`fc${i}`, width, w, torchDefaultLayerInit(width));
    width = w;
  });
  b.dense("classifier", width, numClasses, torchDefaultLayerInit(width));
  return defineModel({
    name: "mlp",
    numClasses,
    inputShape,
    spec: b.build(),
    forward(f, x) {
      let h = flatten(x);
      hidden.forEach((_, i) => {
        h = relu(f.dense(`fc${i}`, h));
      });
      return f.dense("classifier", h);
    },
  });
}
