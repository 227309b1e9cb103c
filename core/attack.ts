/**
 * Projected gradient descent (PGD) attacks on a pure model: the adversarial examples of the
 * authors' adversarial training (docs/paper.md#adversarial-training, their
 * `FastGradientSignUntargeted`).
 *
 * Given clean inputs x₀ in the box [lo, hi] (default [0, 1]: AT models see unnormalized
 * pixels) and labels y, {@link pgdAttack} runs k steps of
 *
 *     x ← clip(Π_ε(x + α·d(∇ₓ CE(f(x), y))), lo, hi)
 *
 * with the model in **eval mode** (BatchNorm running statistics, no dropout), where
 *
 * - L∞: d(g) = sign(g), Π_ε clips x − x₀ to [−ε, ε] coordinate-wise;
 * - L2: d(g) = g/‖g‖₂ per example, Π_ε rescales x − x₀ to norm ε when it is longer.
 *
 * The start is x₀ at evaluation and, in training, `clip(x₀ + δ, lo, hi)` with δ uniform in the
 * ε-ball drawn from a seeded stream (the caller passes the key; the training loop uses
 * `(seed, epoch/e/attack/<step>)`). Each step takes one gradient with respect to the input
 * only (`tf.grad` on x; the parameters are constants), never a gradient of a gradient.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import type { Model } from "./model.ts";
import { createRng, type RngKey } from "./random.ts";
import type { Adversary } from "./train.ts";
import type { Tree } from "./tree.ts";

/** The norms a PGD attack can bound. */
export const PGD_NORMS = ["linf", "l2"] as const;

/** Schema of a PGD attack's settings. */
export const pgdConfigSchema = z.strictObject({
  norm: z.enum(PGD_NORMS).describe("threat model: linf (authors' default) or l2"),
  epsilon: z.number().nonnegative().describe("radius ε of the perturbation ball"),
  stepSize: z.number().nonnegative().describe("step α of each PGD iteration"),
  steps: z.number().int().nonnegative().describe("PGD iterations k"),
});

/** A PGD attack's settings. */
export type PgdConfig = z.output<typeof pgdConfigSchema>;

/**
 * The authors' defaults (`ERM_to_Adv.py`, docs/paper.md#adversarial-training): L∞, ε = 4/255
 * (0.0157), α = 2/255
 * (0.00784), k = 10, for training and for the robust evaluation.
 */
export const AUTHORS_PGD: Readonly<PgdConfig> = Object.freeze({
  norm: "linf",
  epsilon: 4 / 255,
  stepSize: 2 / 255,
  steps: 10,
});

/** The common Madry et al. CIFAR setting: L∞, ε = 8/255, α = 2/255, k = 10. */
export const MADRY_PGD: Readonly<PgdConfig> = Object.freeze({
  norm: "linf",
  epsilon: 8 / 255,
  stepSize: 2 / 255,
  steps: 10,
});

/** An attack that cannot run as asked (bad settings or inputs). */
export class AttackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AttackError";
  }
}

/** Arguments of {@link pgdAttack}. */
export interface PgdArgs {
  model: Model;
  params: Tree;
  /** Non-trainable model state (BatchNorm running statistics), used in eval mode. */
  state: Tree;
  /** Clean inputs, NHWC, inside the box. */
  x: tf.Tensor4D;
  /** int32 labels. */
  y: tf.Tensor1D;
  config: PgdConfig;
  /** The attacked loss, mean over the batch (the authors: plain cross-entropy). */
  loss: (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar;
  /**
   * Stream of the random start (training). Omitted: start at x₀ (evaluation). The draws are
   * `size(x)` uniforms in documented order (see {@link randomStart}).
   */
  startKey?: RngKey;
  /** The valid input range [lo, hi]; default [0, 1]. */
  box?: readonly [number, number];
}

function checkConfig(config: PgdConfig, box: readonly [number, number]): void {
  const bad = (field: string, value: unknown, need: string) =>
    new AttackError(`pgdAttack: ${field} must be ${need}, got ${value}`);
  if (!(PGD_NORMS as readonly string[]).includes(config.norm)) {
    throw bad("config.norm", config.norm, PGD_NORMS.join(" or "));
  }
  if (!(Number.isFinite(config.epsilon) && config.epsilon >= 0)) {
    throw bad("config.epsilon", config.epsilon, "a finite number >= 0");
  }
  if (!(Number.isFinite(config.stepSize) && config.stepSize >= 0)) {
    throw bad("config.stepSize", config.stepSize, "a finite number >= 0");
  }
  if (!(Number.isSafeInteger(config.steps) && config.steps >= 0)) {
    throw bad("config.steps", config.steps, "an integer >= 0");
  }
  if (!(box[0] < box[1])) throw bad("box", `[${box}]`, "[lo, hi] with lo < hi");
}

/**
 * A random start δ uniform in the ε-ball, as a host array of `shape`'s size, drawn from the
 * stream of `key`:
 *
 * - L∞: δᵢ = ε·(2uᵢ − 1), one uniform uᵢ per coordinate in NHWC order (the authors'
 *   `uniform_(−ε, ε)`);
 * - L2: per example in batch order, a direction from `d` normals and a radius ε·u^{1/d} from
 *   one more uniform (d = values per example), i.e. uniform in the L2 ball.
 */
export function randomStart(
  key: RngKey,
  shape: readonly number[],
  norm: PgdConfig["norm"],
  epsilon: number,
): Float32Array {
  const rng = createRng(key);
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  if (norm === "linf") {
    for (let i = 0; i < size; i++) out[i] = epsilon * (2 * rng.uniform() - 1);
    return out;
  }
  const n = shape[0];
  const d = size / n;
  for (let b = 0; b < n; b++) {
    const z = rng.normals(d);
    const length = Math.sqrt(z.reduce((s, v) => s + v * v, 0));
    const radius = epsilon * rng.uniform() ** (1 / d);
    const scale = length > 0 ? radius / length : 0;
    for (let i = 0; i < d; i++) out[b * d + i] = z[i] * scale;
  }
  return out;
}

/** Per-example L2 norm of a 4-D tensor, shaped [n, 1, 1, 1] for broadcasting. */
function exampleNorms(t: tf.Tensor4D): tf.Tensor4D {
  return tf.sqrt(tf.sum(tf.square(t), [1, 2, 3], true)) as tf.Tensor4D;
}

/** Π_ε then the box: the projection after every step. */
function project(
  x: tf.Tensor4D,
  x0: tf.Tensor4D,
  config: PgdConfig,
  box: readonly [number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    let projected: tf.Tensor4D;
    if (config.norm === "linf") {
      projected = tf.minimum(
        tf.maximum(x, tf.sub(x0, config.epsilon)),
        tf.add(x0, config.epsilon),
      ) as tf.Tensor4D;
    } else {
      const delta = tf.sub(x, x0) as tf.Tensor4D;
      const norms = exampleNorms(delta);
      // Shrink only deltas longer than ε (factor min(1, ε/‖δ‖); ‖δ‖ = 0 keeps δ = 0).
      const factor = tf.minimum(1, tf.div(config.epsilon, tf.maximum(norms, 1e-12)));
      projected = tf.add(x0, tf.mul(delta, factor)) as tf.Tensor4D;
    }
    return tf.clipByValue(projected, box[0], box[1]) as tf.Tensor4D;
  });
}

/** The ascent direction d(g) of one step. */
function direction(g: tf.Tensor4D, norm: PgdConfig["norm"]): tf.Tensor4D {
  return tf.tidy(() =>
    norm === "linf"
      ? tf.sign(g) as tf.Tensor4D
      : tf.div(g, tf.maximum(exampleNorms(g), 1e-12)) as tf.Tensor4D
  );
}

/**
 * Adversarial examples for a batch by PGD (see the module documentation). The model runs in
 * eval mode throughout; its params and state are neither mutated nor disposed. Returns a
 * fresh tensor the caller owns; with `steps = 0` it is the (random or clean) start.
 *
 * @throws {AttackError} naming the setting when `config` or `box` is invalid.
 */
export function pgdAttack(args: PgdArgs): tf.Tensor4D {
  const { model, params, state, x: x0, y, config, loss, startKey, box = [0, 1] } = args;
  checkConfig(config, box);
  const inputLoss = (x: tf.Tensor) => {
    const { logits } = model.apply(params, state, x as tf.Tensor4D, "eval");
    return loss(logits, y);
  };
  const gradient = tf.grad(inputLoss);
  let x = tf.tidy(() => {
    if (!startKey) return tf.clone(x0);
    const delta = randomStart(startKey, x0.shape, config.norm, config.epsilon);
    return tf.clipByValue(tf.add(x0, tf.tensor(delta, x0.shape)), box[0], box[1]) as tf.Tensor4D;
  });
  for (let k = 0; k < config.steps; k++) {
    const next = tf.tidy(() => {
      const g = gradient(x) as tf.Tensor4D;
      const stepped = tf.add(x, tf.mul(direction(g, config.norm), config.stepSize));
      return project(stepped as tf.Tensor4D, x0, config, box);
    });
    x.dispose();
    x = next;
  }
  return x;
}

/** Options of {@link pgdAdversary}. */
export interface PgdAdversaryOptions {
  model: Model;
  config: PgdConfig;
  /** The attacked loss (the authors: plain cross-entropy, mean over the batch). */
  loss: (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Scalar;
  /** Which epochs are evaluated under attack, on which batches (see {@link Adversary}). */
  robustBatches: Adversary["robustBatches"];
  /** The valid input range; default [0, 1]. */
  box?: readonly [number, number];
}

/**
 * The training loop's {@link Adversary} for PGD: random start from the step's key in
 * training, none at evaluation, model in eval mode (docs/paper.md#adversarial-training).
 */
export function pgdAdversary(options: PgdAdversaryOptions): Adversary {
  const { model, config, loss, box } = options;
  checkConfig(config, box ?? [0, 1]);
  return {
    attack: ({ params, modelState, x, y, key }) =>
      pgdAttack({ model, params, state: modelState, x, y, config, loss, startKey: key, box }),
    robustBatches: options.robustBatches,
  };
}
