/**
 * Probe for wasm_threads_test.ts, run in its own process: selects wasm (threads from
 * LATE_SAM_WASM_THREADS), takes SGD and SAM steps of the reference CNN and of ResNet-20 on
 * small seeded batches, and prints the thread count and a sha256 of the final parameters.
 */
import * as tf from "@tensorflow/tfjs";
import { sha256Stream } from "../../core/hash.ts";
import { backendInfo, useBackend } from "../../core/backend.ts";
import { disposeSgdState, optimizerStep, sgd } from "../../core/optim/mod.ts";
import { createRng, rngKey } from "../../core/random.ts";
import { batchLossAndGrad, initRun } from "../../core/train.ts";
import { treeDispose, treeToArrays } from "../../core/tree.ts";
import { createModel, smoothCrossEntropy } from "../../models/mod.ts";

await useBackend("wasm");
const hash = sha256Stream();
for (
  const [name, shape, batch] of [["cnn", [28, 28, 1], 32], ["resnet20", [32, 32, 3], 16]] as const
) {
  const model = createModel(name, { numClasses: 10, inputShape: shape });
  const run = initRun(model, 0);
  const rng = createRng(rngKey(0, "probe", name));
  const x = tf.tensor4d(Float32Array.from(rng.normals(batch * shape[0] * shape[1] * shape[2])), [
    batch,
    ...shape,
  ]);
  const y = tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(10)), "int32");
  const deps = {
    model,
    trainBatches: () => [],
    testBatches: () => [],
    trainLoss: (l: tf.Tensor2D, t: tf.Tensor1D) =>
      smoothCrossEntropy(l, t, { smoothing: 0.1, numClasses: 10 }),
    evalLoss: (l: tf.Tensor2D, t: tf.Tensor1D) =>
      smoothCrossEntropy(l, t, { smoothing: 0, numClasses: 10 }),
  };
  const base = sgd({ momentum: 0.9, weightDecay: 5e-4 });
  let { params, modelState } = run;
  let state = base.init(params);
  for (const kind of ["sgd", "sam", "sgd"] as const) {
    const stash: { correct: tf.Scalar | null } = { correct: null };
    const spec = kind === "sgd" ? { kind } : { kind, rho: 0.05 };
    const step = optimizerStep({
      spec,
      lossAndGrad: batchLossAndGrad(deps, modelState, x, y, stash),
      params,
      state,
      base,
      lr: 0.05,
    });
    tf.dispose([step.loss, stash.correct as tf.Scalar]);
    treeDispose(params, modelState);
    disposeSgdState(state);
    ({ params, state } = step);
    modelState = step.modelState ?? {};
  }
  for (const [k, v] of Object.entries(treeToArrays({ ...params, ...modelState }))) {
    hash.update(k).update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
}
console.log(JSON.stringify({ threadCount: backendInfo().threadCount, sha256: hash.hex() }));
