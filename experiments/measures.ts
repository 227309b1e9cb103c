/**
 * The measurements sweeps take on stored run states, as one explicit registry,
 * {@link MEASURES}: a measurement job's `spec.kind` names its entry. Specs and costs are in
 * `measure_specs.ts`.
 *
 * - `sharpness` (Figs. 3, 5): the top Hessian eigenvalues (Lanczos on a finite-difference HVP)
 *   of the plain cross-entropy over the first N unaugmented training examples, train-mode
 *   BatchNorm by default (docs/paper.md#measurements);
 * - `line` (Fig. 4(c)): loss, accuracy and L″ along θ_λ = (1 − λ)·A + λ·B on fixed train and
 *   test subsets (docs/paper.md#measurements);
 * - `escape` (Fig. 4(b)): SAM steps (or the authors' released ascent-only loop, or SGD as the
 *   control) from a converged state, recording the training loss on a fixed subset before
 *   every step and the norm of every step's mini-batch gradient.
 *
 * Each is a pure function of its spec and input states; randomness comes from documented
 * streams of the spec's own seed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Json, parseConfig } from "../core/config.ts";
import { applyUpdates, optimizerStep, samPerturbation, sgd } from "../core/optim/mod.ts";
import { disposeSgdState } from "../core/optim/mod.ts";
import { createRng, rngKey } from "../core/random.ts";
import { batchLossAndGrad, type TrainState } from "../core/train.ts";
import { type Tree, treeDispose, treeGlobalNorm } from "../core/tree.ts";
import type { Batch } from "../core/batch.ts";
import { evalBatches, pixelTable } from "../data/mod.ts";
import { lambdaGrid, lineProfile } from "../core/metrics/line.ts";
import { measureSharpness } from "../core/metrics/sharpness.ts";
import { crossEntropy } from "../models/loss.ts";
import type { Dataset } from "../data/mod.ts";
import type { JobEnv, PreparedRun } from "./runs.ts";
import type { SeededSettings } from "./run_settings.ts";
import {
  type EscapeSpec,
  escapeSpecSchema,
  lineSpecSchema,
  sharpnessSpecSchema,
} from "./measure_specs.ts";

export {
  type EscapeSpec,
  escapeSpecSchema,
  type LineSpec,
  lineSpecSchema,
  type SharpnessSpec,
  sharpnessSpecSchema,
} from "./measure_specs.ts";

/** A stored state loaded for a measurement. */
export interface MeasureInput {
  run: TrainState;
  base: SeededSettings;
  prepared: PreparedRun;
}

/** A measurement: its result from the loaded input states (disposed by the caller). */
export type Measure = (spec: Json, inputs: MeasureInput[], env: JobEnv) => Promise<Json>;

/** Measurements by kind. */
export type MeasureRegistry = Readonly<Record<string, Measure>>;

/** `sharpness`: the top eigenvalues of the plain-CE Hessian at the state. */
export const measureSharpnessOf: Measure = (raw, [input], env) => {
  const spec = parseConfig(sharpnessSpecSchema, raw);
  const { data, model } = input.prepared;
  const chunks = Math.ceil(spec.examples / spec.chunk);
  const result = measureSharpness({
    model,
    params: input.run.params,
    state: input.run.modelState,
    data: evalBatches(data, "train", { batchSize: spec.chunk, limit: spec.examples }),
    loss: crossEntropy,
    key: rngKey(spec.seed, "sharpness"),
    chunk: spec.chunk,
    epsilon: spec.epsilon,
    bnMode: spec.bnMode,
    k: spec.k,
    lanczosIterations: spec.iterations,
    tolerance: spec.tolerance,
    onStep: () => env.tick?.(2 * chunks),
  });
  return Promise.resolve({
    eigenvalues: result.eigenvalues,
    lambdaMax: result.lambdaMax,
    // Lanczos residuals βⱼ|sⱼ| of each eigenvalue, relative to |θ| (held to the tolerance),
    // the asymmetry part of ‖Hy − θy‖, per-value and overall convergence (false: the cap
    // stopped it; the value is a lower bound), and the iterations used.
    residuals: result.lanczos.residuals,
    relativeResiduals: result.lanczos.relativeResiduals,
    asymmetries: result.lanczos.asymmetries,
    convergedValues: result.lanczos.convergedValues,
    converged: result.lanczos.converged,
    iterations: result.lanczos.iterations,
    tolerance: result.lanczos.tolerance,
    hvps: result.hvps,
    seconds: result.seconds,
  } as unknown as Json);
};

/** `line`: the profile along the segment from the first input state to the second. */
export const measureLine: Measure = (raw, [a, b], env) => {
  const spec = parseConfig(lineSpecSchema, raw);
  const { data, model } = a.prepared;
  const lambdas = lambdaGrid(spec.from, spec.to, spec.step);
  const perPoint = Math.ceil((spec.trainExamples + spec.testExamples) / 128) / 3;
  const rows = lineProfile({
    model,
    a: { params: a.run.params, state: a.run.modelState },
    b: { params: b.run.params, state: b.run.modelState },
    lambdas,
    splits: {
      train: evalBatches(data, "train", { batchSize: 500, limit: spec.trainExamples }),
      test: evalBatches(data, "test", { batchSize: 500, limit: spec.testExamples }),
    },
    loss: crossEntropy,
    h: spec.h,
    onPoint: () => env.tick?.(perPoint),
  });
  return Promise.resolve({ rows } as unknown as Json);
};

/** An escape trial's result: the loss before step 0, 1, …, and after the last step. */
export interface EscapeResult {
  trial: number;
  variant: EscapeSpec["variant"];
  losses: number[];
  /** ‖g_B(θ_t)‖ of step t's mini-batch loss gradient at θ_t (no weight decay), t = 0…steps − 1. */
  gradNorms: number[];
  [key: string]: Json;
}

function trainLossOn(prepared: PreparedRun, params: Tree, state: Tree, batches: Batch[]): number {
  const [h, w, c] = prepared.model.inputShape;
  let sum = 0;
  let count = 0;
  for (const b of batches) {
    const value = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.size, h, w, c]);
      const y = tf.tensor1d(b.y, "int32");
      // Train-mode BatchNorm, as the authors measure it; the updated statistics are dropped.
      const { logits } = prepared.model.apply(params, state, x, "train");
      return tf.mul(prepared.deps.trainLoss(logits, y), b.size);
    });
    sum += value.dataSync()[0];
    value.dispose();
    count += b.size;
  }
  return sum / count;
}

function* sampledBatches(
  data: Dataset,
  order: ArrayLike<number>,
  batchSize: number,
): Generator<Batch> {
  const [h, w, c] = data.imageShape;
  const size = h * w * c;
  // Normalized as evalBatches does, but only the sampled images (not a copy of the split).
  const table = pixelTable(data);
  const { images, labels } = data.train;
  for (let start = 0;; start = (start + batchSize) % order.length) {
    const n = Math.min(batchSize, order.length - start);
    const x = new Float32Array(n * size);
    const y = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = order[start + k];
      for (let j = 0; j < size; j++) x[k * size + j] = table[(j % c) * 256 + images[i * size + j]];
      y[k] = labels[i];
    }
    yield { x, y, size: n };
  }
}

/** Runs one escape trial from a state (inputs are not consumed). */
export function escapeTrial(spec: EscapeSpec, input: { run: TrainState; prepared: PreparedRun }) {
  const { prepared } = input;
  const { data, model } = prepared;
  const evalSet = [...evalBatches(data, "train", { batchSize: 500, limit: spec.evalSize })];
  const order = createRng(rngKey(spec.trial, "escape", "batches")).permutation(data.train.count);
  const batches = sampledBatches(data, order, spec.batchSize);
  const base = sgd({ momentum: spec.momentum, weightDecay: spec.weightDecay });
  let params = input.run.params;
  let modelState = input.run.modelState;
  let optState = base.init(params);
  const owned = () => params !== input.run.params;
  const losses = [trainLossOn(prepared, params, modelState, evalSet)];
  const gradNorms: number[] = [];
  const [h, w, c] = model.inputShape;
  for (let t = 0; t < spec.steps; t++) {
    const batch = batches.next().value as Batch;
    const x = tf.tensor4d(batch.x, [batch.size, h, w, c]);
    const y = tf.tensor1d(batch.y, "int32");
    const stash: { correct: tf.Scalar | null } = { correct: null };
    const batchGrad = batchLossAndGrad(prepared.deps, modelState, x, y, stash);
    // The first pass of every step is at θ_t: its gradient norm sets SAM's effective radius.
    const lossAndGrad: typeof batchGrad = (at) => {
      const pass = batchGrad(at);
      if (gradNorms.length === t) gradNorms.push(scalarOf(treeGlobalNorm(pass.grads)));
      return pass;
    };
    let nextParams: Tree;
    let nextState: Tree;
    if (spec.variant !== "ascent") {
      const step = optimizerStep({
        spec: spec.variant === "sam" ? { kind: "sam", rho: spec.rho } : { kind: "sgd" },
        lossAndGrad,
        params,
        state: optState,
        base,
        lr: spec.lr,
      });
      step.loss.dispose();
      disposeSgdState(optState);
      optState = step.state;
      nextParams = step.params;
      nextState = step.modelState ?? {};
    } else {
      const pass = lossAndGrad(params);
      const e = samPerturbation({ grads: pass.grads, params, rho: spec.rho, variant: "sam" });
      nextParams = applyUpdates(params, e);
      nextState = pass.state ?? {};
      treeDispose(e, pass.grads);
      pass.loss.dispose();
    }
    tf.dispose([x, y, stash.correct as tf.Scalar]);
    if (owned()) treeDispose(params, modelState);
    params = nextParams;
    modelState = nextState;
    losses.push(trainLossOn(prepared, params, modelState, evalSet));
  }
  if (owned()) treeDispose(params, modelState);
  disposeSgdState(optState);
  return { trial: spec.trial, variant: spec.variant, losses, gradNorms };
}

/** A scalar tensor's value; the tensor is disposed. */
function scalarOf(value: tf.Scalar): number {
  const x = value.dataSync()[0];
  value.dispose();
  return x;
}

/** `escape`: one escape trial from the input state. */
export const measureEscape: Measure = (raw, inputs) => {
  const spec = parseConfig(escapeSpecSchema, raw);
  return Promise.resolve(escapeTrial(spec, inputs[0]) as unknown as Json);
};

/** Every measurement a sweep can run, by the `kind` of its spec. */
export const MEASURES: MeasureRegistry = {
  sharpness: measureSharpnessOf,
  line: measureLine,
  escape: measureEscape,
};
