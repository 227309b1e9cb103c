/**
 * The training step that the benchmarks and the profiler time: batch 128 of seeded normal
 * images and uniform labels, label-smoothed loss (s = 0.1), SGD with momentum 0.9 and weight
 * decay 5e-4 at lr 0.01, or SAM (ρ = 0.05) over it, exactly as `core/train.ts` runs one.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { disposeSgdState, type OptimizerSpec, optimizerStep, sgd } from "../../core/optim/mod.ts";
import { createRng, rngKey } from "../../core/random.ts";
import { batchLossAndGrad, initRun } from "../../core/train.ts";
import { type Tree, treeDispose, treeToArrays } from "../../core/tree.ts";
import { createModel, smoothCrossEntropy } from "../../models/mod.ts";

/** The models the benchmarks time. */
export const STEP_MODELS = ["cnn", "cnn-bn", "resnet20"] as const;

/** A benchmarked model. */
export type StepModel = (typeof STEP_MODELS)[number];

/** Input shape of each benchmarked model. */
export const STEP_SHAPES: Record<StepModel, [number, number, number]> = {
  cnn: [28, 28, 1],
  "cnn-bn": [28, 28, 1],
  resnet20: [32, 32, 3],
};

/** Batch size of the benchmarked steps. */
export const STEP_BATCH = 128;

/** The model, its initial run state, a seeded batch and the training losses. */
function fixture(modelName: StepModel, batch = STEP_BATCH) {
  const shape = STEP_SHAPES[modelName];
  const model = createModel(modelName, { numClasses: 10, inputShape: shape });
  const run = initRun(model, 0);
  const rng = createRng(rngKey(0, "bench", modelName));
  const x = tf.tensor4d(
    Float32Array.from(rng.normals(batch * shape[0] * shape[1] * shape[2])),
    [batch, ...shape],
  );
  const y = tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(10)), "int32");
  const deps = {
    model,
    trainBatches: () => [],
    testBatches: () => [],
    trainLoss: (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
      smoothCrossEntropy(logits, labels, { smoothing: 0.1, numClasses: 10 }),
    evalLoss: (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
      smoothCrossEntropy(logits, labels, { smoothing: 0, numClasses: 10 }),
  };
  return { run, x, y, deps };
}

/**
 * A function that takes one optimizer step on a batch of `batch` images (default 128), and
 * reads the loss back, as the loop's epoch end does at most; params and optimizer state carry
 * over from call to call. It returns the new parameters (valid until the next call).
 */
export function makeStepper(
  modelName: StepModel,
  optimizer: "sgd" | "sam",
  batch = STEP_BATCH,
): () => Tree {
  const spec: OptimizerSpec = optimizer === "sgd" ? { kind: "sgd" } : { kind: "sam", rho: 0.05 };
  const { run, x, y, deps } = fixture(modelName, batch);
  const base = sgd({ momentum: 0.9, weightDecay: 5e-4 });
  let state = base.init(run.params);
  let params = run.params;
  let modelState = run.modelState;
  return () => {
    const stash: { correct: tf.Scalar | null } = { correct: null };
    const step = optimizerStep({
      spec,
      lossAndGrad: batchLossAndGrad(deps, modelState, x, y, stash),
      params,
      state,
      base,
      lr: 0.01,
    });
    step.loss.dataSync(); // wait for the step, as training does once per epoch at most
    tf.dispose([step.loss, stash.correct as tf.Scalar]);
    treeDispose(params, modelState);
    disposeSgdState(state);
    params = step.params;
    modelState = step.modelState ?? {};
    state = step.state;
    return params;
  };
}

/**
 * The model's initial parameters and its gradient function on the fixed batch (train-mode
 * BatchNorm; the new statistics are dropped). The caller disposes the returned gradients.
 */
export function makeGradFn(modelName: StepModel): { params: Tree; grad: (p: Tree) => Tree } {
  const { run, x, y, deps } = fixture(modelName);
  const grad = (p: Tree) => {
    const stash: { correct: tf.Scalar | null } = { correct: null };
    const out = batchLossAndGrad(deps, run.modelState, x, y, stash)(p);
    tf.dispose([out.loss, stash.correct as tf.Scalar]);
    treeDispose(out.state);
    return out.grads;
  };
  return { params: run.params, grad };
}

/** A parameter tree's values in one flat array (leaves in `treeToArrays` order). */
export function flatParams(params: Tree): Float32Array {
  return Float32Array.from(Object.values(treeToArrays(params)).flatMap((a) => [...a]));
}
