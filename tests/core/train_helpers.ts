/**
 * A tiny model and dataset for training-loop tests: softmax regression on 2×2×1 "images"
 * with a BatchNorm-like running mean as non-trainable state.
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch } from "../../core/batch.ts";
import type { Model } from "../../core/model.ts";
import { createRng, deriveKey, type RngKey, rngKey } from "../../core/random.ts";
import type { TrainConfig, TrainDeps } from "../../core/train.ts";

/** Softmax regression with input centring by a running mean (updated in train mode). */
export function tinyModel(numClasses = 3): Model {
  return {
    name: "tiny",
    numClasses,
    inputShape: [2, 2, 1],
    init(key: RngKey) {
      const w = createRng(deriveKey(key, "w")).normals(4 * numClasses, 0, 0.1);
      return {
        params: {
          "dense/kernel": tf.tensor2d(Float32Array.from(w), [4, numClasses]),
          "dense/bias": tf.zeros([numClasses]),
        },
        state: { "center/mean": tf.zeros([4]) },
      };
    },
    apply(params, state, x, mode) {
      const [logits, mean] = tf.tidy(() => {
        const flat = tf.reshape(x, [x.shape[0], 4]);
        const mean = mode === "train" ? tf.mean(flat, 0) : state["center/mean"];
        const z = tf.add(
          tf.matMul(tf.sub(flat, mean), params["dense/kernel"]),
          params["dense/bias"],
        );
        const next = tf.add(tf.mul(0.9, state["center/mean"]), tf.mul(0.1, mean));
        return [z as tf.Tensor2D, next];
      });
      if (mode === "eval") {
        mean.dispose();
        return { logits, state: null };
      }
      return { logits, state: { "center/mean": mean } };
    },
  };
}

/** Three Gaussian blobs in 4-D, fixed by a seed; `n` examples. */
export function blobs(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = createRng(rngKey(seed, "blobs"));
  const x = new Float32Array(n * 4);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let j = 0; j < 4; j++) x[4 * i + j] = (j === y[i] ? 2 : 0) + 0.5 + 0.7 * rng.normal();
  }
  return { x, y };
}

function* batchesOf(
  data: { x: Float32Array; y: Int32Array },
  order: ArrayLike<number>,
  size: number,
): Generator<Batch> {
  for (let start = 0; start < order.length; start += size) {
    const idx = Array.from(
      { length: Math.min(size, order.length - start) },
      (_, i) => order[start + i],
    );
    const x = new Float32Array(idx.length * 4);
    idx.forEach((k, i) => x.set(data.x.subarray(4 * k, 4 * k + 4), 4 * i));
    yield { x, y: Int32Array.from(idx.map((k) => data.y[k])), size: idx.length };
  }
}

/** Training dependencies over the blobs: shuffled per epoch key, batch size 16. */
export function tinyDeps(model: Model = tinyModel()): TrainDeps {
  const trainData = blobs(96, 1);
  const testData = blobs(60, 2);
  const ce = (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
    tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), logits) as tf.Scalar);
  return {
    model,
    trainBatches: (key) =>
      batchesOf(trainData, createRng(deriveKey(key, "shuffle")).permutation(96), 16),
    testBatches: () => batchesOf(testData, Array.from({ length: 60 }, (_, i) => i), 25),
    trainLoss: ce,
    evalLoss: ce,
  };
}

/** A small config: 6 epochs of SGD then SAM from epoch 3. */
export function tinyConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    seed: 0,
    epochs: 6,
    batchSize: 16,
    lr: { kind: "constant", base: 0.2 },
    momentum: 0.9,
    weightDecay: 5e-4,
    rho: 0.05,
    labelSmoothing: 0,
    phases: [{ optimizer: "sgd", from: 0, to: 3 }, { optimizer: "sam", from: 3, to: 6 }],
    keepMomentum: false,
    ...overrides,
  };
}
