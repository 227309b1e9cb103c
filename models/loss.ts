/**
 * Classification losses and accuracy on logits.
 *
 * {@link smoothCrossEntropy} is the authors' `smooth_crossentropy` (docs/paper.md#measurements):
 * the target
 * puts 1 − s on the true class and s/(K − 1) on each other class (not the s/K of PyTorch and
 * TF), and the value is the KL divergence KL(q ‖ softmax(z)) = Σ q log q − Σ q log p, which is
 * what the authors log. It differs from the label-smoothed cross-entropy −Σ q log p by the
 * constant entropy H(q) ({@link smoothingEntropy}: 0.5448 for K = 10, s = 0.1), so both have
 * the same gradient, (softmax(z) − q)/B per logit.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Options of {@link smoothCrossEntropy}. */
export interface SmoothingOptions {
  /** Total probability moved off the true class, in [0, 1). */
  smoothing: number;
  /** Number of classes K (must equal the logits' second dimension). */
  numClasses: number;
}

function checkShapes(name: string, logits: tf.Tensor, labels: tf.Tensor): void {
  if (logits.rank !== 2) {
    throw new Error(`${name}: logits must be [batch, classes], got rank ${logits.rank}`);
  }
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(
      `${name}: labels must be [${logits.shape[0]}], got [${labels.shape.join(", ")}]`,
    );
  }
  if (labels.dtype !== "int32") {
    throw new Error(`${name}: labels must be int32, got ${labels.dtype}`);
  }
}

/**
 * H(q) = −Σ q log q of the smoothed target (0·log 0 = 0): the constant by which the smoothed
 * cross-entropy exceeds {@link smoothCrossEntropy}.
 */
export function smoothingEntropy(smoothing: number, numClasses: number): number {
  const xlogx = (v: number) => (v > 0 ? v * Math.log(v) : 0);
  return -(xlogx(1 - smoothing) + (numClasses - 1) * xlogx(smoothing / (numClasses - 1)));
}

/**
 * Mean over the batch of KL(q ‖ softmax(logits)), q = 1 − s on the label and s/(K − 1)
 * elsewhere (docs/paper.md#measurements). With s = 0 it equals {@link crossEntropy}.
 * Differentiable.
 *
 * @throws {Error} on mismatched shapes, non-int32 labels, K ≠ logits' classes, K < 2 or
 *   s outside [0, 1).
 */
export function smoothCrossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: SmoothingOptions,
): tf.Scalar {
  const { smoothing: s, numClasses: k } = options;
  checkShapes("smoothCrossEntropy", logits, labels);
  if (!Number.isInteger(k) || k < 2 || logits.shape[1] !== k) {
    throw new Error(
      `smoothCrossEntropy: numClasses ${k} does not match logits [${logits.shape.join(", ")}]`,
    );
  }
  if (!(s >= 0 && s < 1)) {
    throw new RangeError(`smoothCrossEntropy: smoothing must be in [0, 1), got ${s}`);
  }
  const off = s / (k - 1);
  const negEntropy = -smoothingEntropy(s, k); // Σ q log q
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const q = tf.add(tf.mul(tf.oneHot(labels, k), 1 - s - off), off);
    const ce = tf.neg(tf.sum(tf.mul(q, logp), 1));
    return tf.add(tf.mean(ce), negEntropy) as tf.Scalar;
  });
}

/** Mean cross-entropy −log softmax(logits)[label] over the batch. Differentiable. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  checkShapes("crossEntropy", logits, labels);
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(tf.oneHot(labels, logits.shape[1]), logp), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/**
 * Number of rows whose arg-max (first on ties) is the label, as an int32 scalar tensor, so a
 * training loop can accumulate it without reading back every step.
 */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  checkShapes("correctCount", logits, labels);
  return tf.tidy(() =>
    tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "int32")) as tf.Scalar
  );
}
