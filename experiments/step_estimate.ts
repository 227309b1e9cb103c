/**
 * A quick timing of one training step, for sweep plan estimates (`--dry-run`). Kept out of
 * `runs.ts`, whose module graph keys the sweep store: changing how a plan is estimated must
 * not retrain anything.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../core/backend.ts";
import { disposeSgdState, optimizerStep, sgd } from "../core/optim/mod.ts";
import { createRng, rngKey } from "../core/random.ts";
import { batchLossAndGrad, disposeRun, initRun, type TrainDeps } from "../core/train.ts";
import { treeDispose } from "../core/tree.ts";
import { datasetInfo, type DatasetName } from "../data/mod.ts";
import { crossEntropy, smoothCrossEntropy } from "../models/loss.ts";
import { createModel } from "../models/registry.ts";
import type { RunSettings } from "./run_settings.ts";

/**
 * Measures the seconds of one SGD step of a run's model on its backend, for plan estimates:
 * one warm-up and two timed steps on random inputs of at most 8 examples, scaled linearly
 * to the batch size (an overestimate for small batches, whose fixed costs are shared).
 */
export async function measureStepSeconds(settings: RunSettings): Promise<number> {
  await useBackend(settings.backend);
  const info = datasetInfo(settings.dataset as DatasetName);
  const model = createModel(settings.model, {
    numClasses: info.numClasses,
    inputShape: info.imageShape,
  });
  const n = Math.min(settings.batchSize, 8);
  const rng = createRng(rngKey(0, "estimate", settings.model));
  const [h, w, c] = info.imageShape;
  const x = tf.tensor4d(Float32Array.from(rng.normals(n * h * w * c)), [n, h, w, c]);
  const y = tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(info.numClasses)), "int32");
  const deps: TrainDeps = {
    model,
    trainBatches: () => [],
    testBatches: () => [],
    trainLoss: (logits, labels) =>
      smoothCrossEntropy(logits, labels, { smoothing: 0.1, numClasses: info.numClasses }),
    evalLoss: crossEntropy,
  };
  const base = sgd({ momentum: settings.momentum, weightDecay: settings.weightDecay });
  let run = initRun(model, 0);
  let seconds = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const stash: { correct: tf.Scalar | null } = { correct: null };
    const step = optimizerStep({
      spec: { kind: "sgd" },
      lossAndGrad: batchLossAndGrad(deps, run.modelState, x, y, stash),
      params: run.params,
      state: run.optState,
      base,
      lr: settings.lr,
    });
    step.loss.dataSync();
    if (i > 0) seconds += (performance.now() - t0) / 1000 / 2;
    tf.dispose([step.loss, stash.correct as tf.Scalar]);
    treeDispose(run.params, run.modelState);
    disposeSgdState(run.optState);
    run = { ...run, params: step.params, modelState: step.modelState ?? {}, optState: step.state };
  }
  disposeRun(run);
  tf.dispose([x, y]);
  return seconds * settings.batchSize / n;
}
