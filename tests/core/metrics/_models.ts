/** Small models with known Hessians for the metrics tests. */
import * as tf from "@tensorflow/tfjs";
import type { Batch } from "../../../core/batch.ts";
import type { Model } from "../../../core/model.ts";
import { createRng, deriveKey, type RngKey, rngKey } from "../../../core/random.ts";

/**
 * Linear least squares: logits = x·w ([B, 1]) on inputs [B, 1, 1, d]; with
 * {@link squaredLoss} the mean loss ½·mean((x·w − y)²) has the Hessian XᵀX/n exactly.
 */
export function leastSquaresModel(d: number): Model {
  return {
    name: "lsq",
    numClasses: 1,
    inputShape: [1, 1, d],
    init(key: RngKey) {
      const w = createRng(deriveKey(key, "w")).normals(d);
      return { params: { w: tf.tensor1d(Float32Array.from(w)) }, state: {} };
    },
    apply(params, _state, x, mode) {
      const logits = tf.tidy(() =>
        tf.matMul(tf.reshape(x, [x.shape[0], d]), tf.reshape(params.w, [d, 1])) as tf.Tensor2D
      );
      return { logits, state: mode === "train" ? {} : null };
    },
  };
}

/** ½·mean((logits[:, 0] − labels)²). */
export function squaredLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() =>
    tf.mul(0.5, tf.mean(tf.square(tf.sub(tf.reshape(logits, [-1]), tf.cast(labels, "float32")))))
  );
}

/** `n` examples of `d` Gaussian features (scaled per feature, so the spectrum is spread). */
export function regressionData(n: number, d: number, seed: number): Batch {
  const rng = createRng(rngKey(seed, "test", "regression"));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = rng.normal() * (1 + j / 2);
  }
  const y = Int32Array.from({ length: n }, () => rng.int(7) - 3);
  return { x, y, size: n };
}

/** XᵀX/n in float64 from the float32 inputs (the exact Hessian of the least-squares loss). */
export function gramMatrix(batch: Batch, d: number): Float64Array {
  const h = new Float64Array(d * d);
  for (let i = 0; i < batch.size; i++) {
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) h[a * d + b] += batch.x[i * d + a] * batch.x[i * d + b];
    }
  }
  return h.map((v) => v / batch.size);
}

/** Splits one batch into batches of `size` (the last may be smaller). */
export function splitBatch(batch: Batch, size: number): Batch[] {
  const per = batch.x.length / batch.size;
  const out: Batch[] = [];
  for (let s = 0; s < batch.size; s += size) {
    const e = Math.min(batch.size, s + size);
    out.push({ x: batch.x.slice(s * per, e * per), y: batch.y.slice(s, e), size: e - s });
  }
  return out;
}
