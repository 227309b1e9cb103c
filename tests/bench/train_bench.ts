/**
 * Training-step benchmarks on the default backend (wasm): SGD and SAM steps of the reference
 * CNN (batch 128, 28×28×1) and of ResNet-20 (batch 128, 32×32×3). `deno bench` reports the
 * time per step; images/s is 128 divided by it, and the SAM/SGD ratio is in each group's
 * summary.
 */
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import { disposeSgdState, type OptimizerSpec, optimizerStep, sgd } from "../../core/optim/mod.ts";
import { createRng, rngKey } from "../../core/random.ts";
import { batchLossAndGrad, initRun } from "../../core/train.ts";
import { treeDispose } from "../../core/tree.ts";
import { createModel, smoothCrossEntropy } from "../../models/mod.ts";

await useBackend("wasm");

function stepBench(modelName: string, shape: [number, number, number], spec: OptimizerSpec) {
  const model = createModel(modelName, { numClasses: 10, inputShape: shape });
  const run = initRun(model, 0);
  const rng = createRng(rngKey(0, "bench", modelName));
  const x = tf.tensor4d(Float32Array.from(rng.normals(128 * shape[0] * shape[1] * shape[2])), [
    128,
    ...shape,
  ]);
  const y = tf.tensor1d(Int32Array.from({ length: 128 }, () => rng.int(10)), "int32");
  const base = sgd({ momentum: 0.9, weightDecay: 5e-4 });
  const deps = {
    model,
    trainBatches: () => [],
    testBatches: () => [],
    trainLoss: (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
      smoothCrossEntropy(logits, labels, { smoothing: 0.1, numClasses: 10 }),
    evalLoss: (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
      smoothCrossEntropy(logits, labels, { smoothing: 0, numClasses: 10 }),
  };
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
  };
}

const n = { n: 5, warmup: 2 };
Deno.bench(
  "reference CNN, SGD step (batch 128, 28×28×1)",
  { group: "cnn", baseline: true, ...n },
  stepBench("cnn", [28, 28, 1], { kind: "sgd" }),
);
Deno.bench(
  "reference CNN, SAM step (batch 128, 28×28×1)",
  { group: "cnn", ...n },
  stepBench("cnn", [28, 28, 1], { kind: "sam", rho: 0.05 }),
);
Deno.bench("ResNet-20, SGD step (batch 128, 32×32×3)", {
  group: "resnet20",
  baseline: true,
  n: 3,
  warmup: 1,
}, stepBench("resnet20", [32, 32, 3], { kind: "sgd" }));
Deno.bench(
  "ResNet-20, SAM step (batch 128, 32×32×3)",
  { group: "resnet20", n: 3, warmup: 1 },
  stepBench("resnet20", [32, 32, 3], { kind: "sam", rho: 0.05 }),
);
