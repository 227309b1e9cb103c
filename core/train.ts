/**
 * The training loop: epochs of optimizer steps under a phase schedule, with per-epoch
 * evaluation, explicit state, and resumption at epoch boundaries.
 *
 * Everything random comes from the run's root seed: parameters from the stream (seed, init),
 * and epoch e's data order and augmentation from streams below (seed, epoch/e), which the data
 * pipeline derives. So a run resumed at epoch e, or branched from another run's checkpoint at
 * epoch e, sees exactly the batches the uninterrupted run would have seen.
 *
 * Model, data and losses come in as functions (see {@link TrainDeps}); this module knows none
 * of them. Adversarial training is a phase like any other: in an `at` epoch each batch's
 * inputs are replaced by the {@link Adversary}'s examples (generated from the current
 * parameters, random start from `(seed, epoch/e/attack/<step>)`) and an SGD step is taken on
 * them; with an adversary, epochs may also be evaluated under attack (robust metrics).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import type { Batch } from "./batch.ts";
import {
  assertMatchingTree,
  type Checkpoint,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
} from "./checkpoint.ts";
import { writeFileAtomic } from "./atomic.ts";
import type { Model } from "./model.ts";
import {
  disposeSgdState,
  type LossAndGrad,
  type OptimizerSpec,
  optimizerStep,
  sgd,
  type SgdState,
  switchOptimizerState,
} from "./optim/mod.ts";
import { deriveKey, type RngKey, rngKey } from "./random.ts";
import {
  checkPhases,
  learningRate,
  lrScheduleSchema,
  optimizerAt,
  type PhaseOptimizer,
  phasesSchema,
} from "./schedule.ts";
import { type Tree, treeDispose, treeKeys } from "./tree.ts";

/** The optimization part of a run's config. */
export const trainConfigSchema = z.strictObject({
  seed: z.number().int().nonnegative().describe("root seed: init and every epoch's data streams"),
  epochs: z.number().int().positive().describe("total epochs T"),
  batchSize: z.number().int().positive().describe("mini-batch size"),
  lr: lrScheduleSchema,
  momentum: z.number().min(0).lt(1).describe("SGD momentum (also SAM's base optimizer)"),
  weightDecay: z.number().nonnegative().describe("coupled L2 weight decay"),
  rho: z.number().positive().describe("SAM radius ρ"),
  labelSmoothing: z.number().min(0).lt(1).describe("label smoothing s of the training loss"),
  phases: phasesSchema,
  keepMomentum: z.boolean().describe("keep the momentum buffer across an optimizer switch"),
});

/** A validated training config. */
export type TrainConfig = z.output<typeof trainConfigSchema>;

/** What the loop needs from the outside world, as functions. */
export interface TrainDeps {
  model: Model;
  /** The shuffled, augmented training batches of the epoch whose key is given. */
  trainBatches(epochKey: RngKey): Iterable<Batch>;
  /** The test batches (fixed order, no augmentation). */
  testBatches(): Iterable<Batch>;
  /** Training loss (e.g. label-smoothed), mean over the batch. */
  trainLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar;
  /** Evaluation loss (plain cross-entropy), mean over the batch. */
  evalLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar;
  /** Adversarial examples for `at` phases and robust evaluation; required by `at` phases. */
  adversary?: Adversary;
}

/** What an adversary attacks: the current model and one batch. */
export interface AttackInput {
  params: Tree;
  /** Non-trainable model state (the attack runs the model in eval mode). */
  modelState: Tree;
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  /** Stream of the random start (training); absent at evaluation (no random start). */
  key?: RngKey;
}

/**
 * The adversary of adversarial training (e.g. PGD, `core/attack.ts`). `attack` must not
 * mutate or dispose its inputs and returns a fresh tensor of `x`'s shape.
 */
export interface Adversary {
  /** Adversarial inputs for a batch (random start from `key` when given). */
  attack(input: AttackInput): tf.Tensor4D;
  /**
   * The batches on which epoch `epoch` (of `epochs`) is evaluated under attack, or null to
   * skip the robust evaluation that epoch.
   */
  robustBatches(epoch: number, epochs: number): Iterable<Batch> | null;
}

/** The complete state of a run between epochs. */
export interface TrainState {
  /** The next epoch to run. */
  epoch: number;
  params: Tree;
  /** Non-trainable model state (BatchNorm running statistics). */
  modelState: Tree;
  /** The base optimizer's state (momentum buffer, step count). */
  optState: SgdState;
  /** The optimizer that owns `optState`, or null before the first step. */
  optimizer: PhaseOptimizer | null;
}

/** One row of a run's per-epoch log. */
export interface EpochRecord {
  epoch: number;
  optimizer: PhaseOptimizer;
  lr: number;
  /** Mean loss and accuracy of the unperturbed pass over the epoch (as the authors log). */
  trainLoss: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
  /** Loss and accuracy on adversarial test inputs (epochs the adversary evaluates only). */
  robustLoss?: number;
  robustAcc?: number;
  seconds: number;
}

/** A run that produced a non-finite loss. */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}

/** The stream of epoch e's data (the pipeline derives `shuffle` and `augment` below it). */
export function epochKey(seed: number, epoch: number): RngKey {
  return rngKey(seed, "epoch", epoch);
}

/** Initial state of a run: parameters from the stream (seed, init), no optimizer yet. */
export function initRun(model: Model, seed: number): TrainState {
  const { params, state } = model.init(rngKey(seed, "init"));
  return {
    epoch: 0,
    params,
    modelState: state,
    optState: { step: 0, momentum: null },
    optimizer: null,
  };
}

/** Frees every tensor of a run state. */
export function disposeRun(run: TrainState): void {
  treeDispose(run.params, run.modelState);
  disposeSgdState(run.optState);
}

function toTensors(batch: Batch, model: Model) {
  const [h, w, c] = model.inputShape;
  return {
    x: tf.tensor4d(batch.x, [batch.size, h, w, c]),
    y: tf.tensor1d(batch.y, "int32"),
  };
}

function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32"));
}

/**
 * The loss-and-gradient function of one training batch (train-mode BatchNorm). The first call
 * (SAM's unperturbed pass, or SGD's only pass) also leaves its correct-prediction count in
 * `stash`; the caller disposes it.
 */
export function batchLossAndGrad(
  deps: TrainDeps,
  modelState: Tree,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  stash: { correct: tf.Scalar | null },
  dropoutKey?: RngKey,
): LossAndGrad {
  let pass = 0;
  return (params) =>
    tf.tidy(() => {
      // Each pass draws its own dropout masks, as PyTorch does for SAM's two passes.
      const options = dropoutKey ? { dropoutKey: deriveKey(dropoutKey, pass++) } : undefined;
      const names = treeKeys(params);
      let newState: Tree = {};
      const f = (...values: tf.Tensor[]) => {
        const p: Tree = {};
        names.forEach((n, i) => (p[n] = values[i]));
        const out = deps.model.apply(p, modelState, x, "train", options);
        // tfjs runs the forward pass inside its own tidy: keep what must outlive it.
        newState = out.state ?? {};
        for (const t of Object.values(newState)) tf.keep(t);
        if (stash.correct === null) stash.correct = tf.keep(correctCount(out.logits, y));
        return deps.trainLoss(out.logits, y);
      };
      const { value, grads } = tf.valueAndGrads(f)(names.map((n) => params[n]));
      const gradTree: Tree = {};
      names.forEach((n, i) => (gradTree[n] = grads[i]));
      return { loss: value as tf.Scalar, grads: gradTree, state: newState };
    });
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Evaluate on the adversary's examples of each batch (no random start) instead. */
  adversarial?: boolean;
}

/**
 * Mean loss and accuracy over a set of batches, BatchNorm in eval mode; with
 * `adversarial`, on `deps.adversary`'s examples of each batch (robust loss and accuracy).
 *
 * @throws {Error} when `adversarial` is asked for without `deps.adversary`.
 */
export function evaluate(
  deps: TrainDeps,
  run: Pick<TrainState, "params" | "modelState">,
  batches: Iterable<Batch>,
  options: EvaluateOptions = {},
): { loss: number; acc: number; count: number } {
  const adversary = options.adversarial ? requireAdversary(deps, "robust evaluation") : null;
  let lossSum = tf.scalar(0);
  let correct = tf.scalar(0);
  let count = 0;
  for (const batch of batches) {
    const [nextLoss, nextCorrect] = tf.tidy(() => {
      const clean = toTensors(batch, deps.model);
      const y = clean.y;
      const x = adversary
        ? adversary.attack({ params: run.params, modelState: run.modelState, x: clean.x, y })
        : clean.x;
      const { logits } = deps.model.apply(run.params, run.modelState, x, "eval");
      return [
        tf.add(lossSum, tf.mul(deps.evalLoss(logits, y), batch.size)),
        tf.add(correct, correctCount(logits, y)),
      ];
    });
    lossSum.dispose();
    correct.dispose();
    lossSum = nextLoss as tf.Scalar;
    correct = nextCorrect as tf.Scalar;
    count += batch.size;
  }
  const result = { loss: lossSum.dataSync()[0] / count, acc: correct.dataSync()[0] / count, count };
  tf.dispose([lossSum, correct]);
  return result;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Start from this state (resume or branch) instead of a fresh initialization. */
  start?: TrainState;
  /** Stop after this epoch (exclusive), e.g. to checkpoint a trunk at a switch point. */
  until?: number;
  /** Called after every finished epoch with its record and the state after it. */
  onEpoch?: (record: EpochRecord, run: TrainState) => void | Promise<void>;
  /** Called after every training batch (progress bars). */
  onBatch?: () => void;
}

function optimizerSpec(optimizer: PhaseOptimizer, rho: number): OptimizerSpec {
  // Adversarial training takes plain SGD steps (on the adversary's inputs).
  return optimizer === "sgd" || optimizer === "at" ? { kind: "sgd" } : { kind: optimizer, rho };
}

function requireAdversary(deps: TrainDeps, what: string): Adversary {
  if (!deps.adversary) {
    throw new Error(
      `${what} needs an adversary: pass TrainDeps.adversary (e.g. PGD from core/attack.ts; ` +
        `experiment runs get one from their \`pgd\` setting)`,
    );
  }
  return deps.adversary;
}

/**
 * Trains from `options.start` (default: a fresh run) through epoch `until` (default T).
 *
 * `config.phases` must tile [0, until) at least (a sweep segment passes only its prefix of the
 * schedule); the learning rate still follows T = `config.epochs`.
 * At every phase boundary the optimizer state is reset (the authors' separate optimizers,
 * docs/paper.md#update-rules) unless `config.keepMomentum`. SAM's second pass never updates
 * BatchNorm running
 * statistics. An `at` epoch trains with SGD on `deps.adversary`'s examples of each batch
 * (train-mode forward for the update). After each epoch the test batches are evaluated, and,
 * where `deps.adversary.robustBatches` says so, the robust metrics too. The returned state is
 * owned by the caller; a `start` state is consumed.
 *
 * @throws {TrainingError} when an epoch's training loss is not finite; the state after the
 *   last good epoch has already been passed to `onEpoch`, so its checkpoint survives.
 */
export async function train(
  config: TrainConfig,
  deps: TrainDeps,
  options: TrainOptions = {},
): Promise<{ run: TrainState; records: EpochRecord[] }> {
  // The phases may stop short of T (a sweep segment knows only its own prefix of the schedule).
  const scheduled = config.phases[config.phases.length - 1].to;
  if (scheduled > config.epochs) {
    throw new RangeError(`phases run to epoch ${scheduled}, past the ${config.epochs} epochs`);
  }
  checkPhases(config.phases, scheduled);
  const until = options.until ?? config.epochs;
  if (until > scheduled) {
    throw new RangeError(`training to epoch ${until}, but the phases stop at epoch ${scheduled}`);
  }
  // Fail before training anything, not at the switch into AT.
  if (config.phases.some((p) => p.optimizer === "at")) requireAdversary(deps, "phase `at`");
  const base = sgd({ momentum: config.momentum, weightDecay: config.weightDecay });
  const run = options.start ?? initRun(deps.model, config.seed);
  const records: EpochRecord[] = [];
  for (; run.epoch < until; run.epoch++) {
    const epoch = run.epoch;
    const t0 = performance.now();
    const optimizer = optimizerAt(config.phases, epoch);
    if (run.optimizer !== null && run.optimizer !== optimizer) {
      const next = switchOptimizerState({
        state: run.optState,
        base,
        params: run.params,
        keepMomentum: config.keepMomentum,
      });
      disposeSgdState(run.optState);
      run.optState = next;
    }
    run.optimizer = optimizer;
    const adversary = optimizer === "at" ? requireAdversary(deps, "phase `at`") : null;
    const spec = optimizerSpec(optimizer, config.rho);
    const lr = learningRate(config.lr, epoch, config.epochs);
    let lossSum = tf.scalar(0);
    let correctSum = tf.scalar(0);
    let count = 0;
    let stepIndex = 0;
    for (const batch of deps.trainBatches(epochKey(config.seed, epoch))) {
      let { x, y } = toTensors(batch, deps.model);
      if (adversary) {
        const key = deriveKey(epochKey(config.seed, epoch), "attack", stepIndex);
        const adv = adversary.attack({ params: run.params, modelState: run.modelState, x, y, key });
        x.dispose();
        x = adv;
      }
      const stash: { correct: tf.Scalar | null } = { correct: null };
      const step = optimizerStep({
        spec,
        lossAndGrad: batchLossAndGrad(
          deps,
          run.modelState,
          x,
          y,
          stash,
          deriveKey(epochKey(config.seed, epoch), "dropout", stepIndex++),
        ),
        params: run.params,
        state: run.optState,
        base,
        lr,
      });
      tf.dispose([x, y]);
      treeDispose(run.params, run.modelState);
      disposeSgdState(run.optState);
      run.params = step.params;
      run.modelState = step.modelState ?? {};
      run.optState = step.state;
      const nextLoss = tf.tidy(() => tf.add(lossSum, tf.mul(step.loss, batch.size)));
      const nextCorrect = tf.add(correctSum, stash.correct as tf.Scalar);
      tf.dispose([lossSum, correctSum, step.loss, stash.correct as tf.Scalar]);
      lossSum = nextLoss as tf.Scalar;
      correctSum = nextCorrect as tf.Scalar;
      count += batch.size;
      options.onBatch?.();
    }
    const trainLoss = lossSum.dataSync()[0] / count;
    const trainAcc = correctSum.dataSync()[0] / count;
    tf.dispose([lossSum, correctSum]);
    if (!Number.isFinite(trainLoss)) {
      throw new TrainingError(
        `epoch ${epoch + 1} (${optimizer}, lr ${lr}): the training loss became ${trainLoss}; ` +
          (epoch === 0
            ? "no epoch finished before it, so there is no good state to keep"
            : `the state after epoch ${epoch} is the last good one`) +
          " (lower the learning rate or ρ)",
      );
    }
    const test = evaluate(deps, run, deps.testBatches());
    const robustBatches = deps.adversary?.robustBatches(epoch, config.epochs) ?? null;
    const robust = robustBatches && evaluate(deps, run, robustBatches, { adversarial: true });
    const record: EpochRecord = {
      epoch,
      optimizer,
      lr,
      trainLoss,
      trainAcc,
      testLoss: test.loss,
      testAcc: test.acc,
      ...(robust ? { robustLoss: robust.loss, robustAcc: robust.acc } : {}),
      seconds: (performance.now() - t0) / 1000,
    };
    records.push(record);
    await options.onEpoch?.(record, { ...run, epoch: epoch + 1 });
  }
  return { run, records };
}

/** Identifies what a checkpoint belongs to. */
export interface CheckpointInfo {
  model: string;
  seed: number;
  configHash: string;
}

/**
 * The checkpoint of a run state (the run is not consumed). `extra` adds metadata strings, e.g.
 * the code hash and the epoch log of a resumable run.
 */
export function runToCheckpoint(
  run: TrainState,
  info: CheckpointInfo,
  extra: Record<string, string> = {},
): Checkpoint {
  return {
    params: run.params,
    state: run.modelState,
    momentum: run.optState.momentum,
    metadata: {
      ...extra,
      model: info.model,
      seed: String(info.seed),
      config_hash: info.configHash,
      epoch: String(run.epoch),
      optimizer: run.optimizer ?? "",
      optimizer_step: String(run.optState.step),
    },
  };
}

/**
 * Turns a decoded checkpoint back into a run state for `model`, checking that it belongs to
 * that model (names and shapes of params and state, and of the momentum buffer).
 *
 * @throws {CheckpointError} for a checkpoint of another model or a damaged one; the
 *   checkpoint's tensors are freed in that case.
 */
export function runFromCheckpoint(checkpoint: Checkpoint, model: Model): TrainState {
  try {
    const m = checkpoint.metadata;
    if (m.model !== model.name) {
      throw new CheckpointError(
        `checkpoint of model "${m.model}" cannot be loaded into "${model.name}"`,
      );
    }
    const reference = tf.tidy(() => model.init(rngKey(0, "shape-check")));
    try {
      assertMatchingTree(checkpoint.params, reference.params, "checkpoint params");
      assertMatchingTree(checkpoint.state, reference.state, "checkpoint model state");
      if (checkpoint.momentum) {
        assertMatchingTree(checkpoint.momentum, reference.params, "checkpoint momentum");
      }
    } finally {
      treeDispose(reference.params, reference.state);
    }
    const epoch = Number(m.epoch);
    const step = Number(m.optimizer_step);
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(step) || step < 0) {
      throw new CheckpointError(
        `checkpoint metadata has a bad epoch "${m.epoch}" or step "${m.optimizer_step}"`,
      );
    }
    const optimizer = m.optimizer === "" ? null : m.optimizer as PhaseOptimizer;
    return {
      epoch,
      params: checkpoint.params,
      modelState: checkpoint.state,
      optState: { step, momentum: checkpoint.momentum },
      optimizer,
    };
  } catch (err) {
    treeDispose(checkpoint.params, checkpoint.state, checkpoint.momentum ?? undefined);
    throw err;
  }
}

/** Writes a run's checkpoint atomically. */
export async function saveRun(
  path: string,
  run: TrainState,
  info: CheckpointInfo,
  extra: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(runToCheckpoint(run, info, extra)));
}

/**
 * Reads a run's checkpoint for `model`.
 *
 * @throws {CheckpointError} when the file is missing, damaged or belongs to another model.
 */
export async function loadRun(
  path: string,
  model: Model,
): Promise<{ run: TrainState; metadata: Record<string, string> }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(err as Error).message}`);
  }
  const checkpoint = decodeCheckpoint(bytes, path);
  return { run: runFromCheckpoint(checkpoint, model), metadata: checkpoint.metadata };
}
