/**
 * Network runs: the settings every training run shares (model, data, optimizer), how a run is
 * wired to the training loop, and how a sweep's train job trains a segment of a run (in this
 * process or in a worker process, with identical results). Measurement jobs are `jobs.ts`'s.
 *
 * A sweep run's base config is `SeededSettings` (`run_settings.ts`): the settings plus
 * `seed` and `epochs`. Its state after epoch e is stored under `stateId(base, phases, e)` in
 * the sweep store.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { useBackend } from "../core/backend.ts";
import { CheckpointError, encodeCheckpoint } from "../core/checkpoint.ts";
import { reportCorrupt } from "../core/integrity.ts";
import { isFile } from "../core/atomic.ts";
import { pgdAdversary, type PgdConfig } from "../core/attack.ts";
import { type Json, parseConfig } from "../core/config.ts";
import type { Model } from "../core/model.ts";
import type { RngKey } from "../core/random.ts";
import { optimizerAt, type Phase } from "../core/schedule.ts";
import type { TrainJob } from "../core/sweep/plan.ts";
import type { SweepStore } from "../core/sweep/store.ts";
import {
  disposeRun,
  type EpochRecord,
  loadRun,
  runToCheckpoint,
  saveRun,
  train,
  type TrainConfig,
  trainConfigSchema,
  type TrainDeps,
  type TrainState,
} from "../core/train.ts";
import {
  datasetInfo,
  type DatasetName,
  evalBatches,
  loadDataset,
  trainBatches,
} from "../data/mod.ts";
import type { Dataset } from "../data/mod.ts";
// Model modules by file, not through models/mod.ts: the sweep code hash covers exactly the
// modules a worker imports, and the theory problems re-exported there train nothing.
import { createModel } from "../models/registry.ts";
import { crossEntropy, smoothCrossEntropy } from "../models/loss.ts";
import { measureCost } from "./measure_specs.ts";
import {
  AUGMENTS,
  lrScheduleOf,
  type RunSettings,
  type SeededSettings,
  seededSettingsSchema,
  stepsPerEpoch,
} from "./run_settings.ts";

/** The training-loop config of a run (phases may cover only a prefix of [0, T)). */
export function trainConfigFor(base: SeededSettings, phases: Phase[]): TrainConfig {
  return parseConfig(trainConfigSchema, {
    seed: base.seed,
    epochs: base.epochs,
    batchSize: base.batchSize,
    lr: lrScheduleOf(base),
    momentum: base.momentum,
    weightDecay: base.weightDecay,
    rho: base.rho,
    labelSmoothing: base.labelSmoothing,
    phases,
    keepMomentum: base.keepMomentum,
  });
}

/** A run's model, data and training-loop dependencies. */
export interface PreparedRun {
  data: Dataset;
  model: Model;
  deps: TrainDeps;
}

const datasets = new Map<string, Promise<Dataset>>();

/** Loads (once per process) the data subset a run uses. */
export function runData(settings: RunSettings, dataDir?: string): Promise<Dataset> {
  const key = JSON.stringify([settings.dataset, settings.trainSize, settings.testSize, dataDir]);
  let data = datasets.get(key);
  if (!data) {
    data = loadDataset(settings.dataset, {
      dataDir,
      trainSize: settings.trainSize || undefined,
      testSize: settings.testSize || undefined,
    });
    data.catch(() => datasets.delete(key));
    datasets.set(key, data);
  }
  return data;
}

/** Selects the backend and builds a run's model, data and loss functions. */
export async function prepareRun(settings: RunSettings, dataDir?: string): Promise<PreparedRun> {
  await useBackend(settings.backend);
  const data = await runData(settings, dataDir);
  const model = createModel(settings.model, {
    numClasses: data.numClasses,
    inputShape: data.imageShape,
  });
  const normalize = settings.normalize ?? true;
  const deps: TrainDeps = {
    model,
    trainBatches: (key: RngKey) =>
      trainBatches(data, {
        key,
        batchSize: settings.batchSize,
        augment: AUGMENTS[settings.augment],
        normalize,
      }),
    testBatches: () => evalBatches(data, "test", { batchSize: 500, normalize }),
    trainLoss: (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
      smoothCrossEntropy(logits, labels, {
        smoothing: settings.labelSmoothing,
        numClasses: data.numClasses,
      }),
    evalLoss: crossEntropy,
  };
  if (settings.pgd) {
    const robust = settings.robustEval;
    deps.adversary = pgdAdversary({
      model,
      config: settings.pgd,
      loss: crossEntropy,
      robustBatches: (epoch, epochs) =>
        robust && (robust.epochs === "all" || epoch === epochs - 1)
          ? evalBatches(data, "test", {
            batchSize: ROBUST_BATCH,
            normalize,
            limit: robustCount(robust.examples, data.test.count),
          })
          : null,
    });
  }
  return { data, model, deps };
}

/** Batch size of the robust evaluation (the attack's backward passes bound its memory). */
const ROBUST_BATCH = 250;

function robustCount(examples: number, available: number): number {
  return examples === 0 ? available : Math.min(examples, available);
}

/** Batch-gradient evaluations of one optimizer step of `optimizer` in a run (`at`: 1 + k). */
export function stepPasses(settings: RunSettings, optimizer: string): number {
  if (optimizer === "sgd") return 1;
  if (optimizer === "at") return 1 + attackOf(settings, "phase at").steps;
  return 2;
}

/** Batch-gradient evaluations of the robust evaluation after `epoch` (0 when there is none). */
export function robustEvalCost(settings: RunSettings, epoch: number, epochs: number): number {
  const robust = settings.robustEval;
  if (!robust || !settings.pgd || (robust.epochs === "last" && epoch !== epochs - 1)) return 0;
  const testCount = settings.testSize ||
    datasetInfo(settings.dataset as DatasetName).testCount;
  const batches = Math.ceil(robustCount(robust.examples, testCount) / ROBUST_BATCH);
  // A PGD step (forward and input gradient) ≈ one batch gradient, scaled to the batch size.
  return Math.ceil(batches * (settings.pgd.steps + 1 / 3) * ROBUST_BATCH / settings.batchSize);
}

function attackOf(settings: RunSettings, what: string): PgdConfig {
  if (!settings.pgd) {
    throw new Error(`${what} needs a pgd attack in the run settings (settings.pgd)`);
  }
  return settings.pgd;
}

/** Where a job runs: the sweep store, the data folder, and a progress callback. */
export interface JobEnv {
  store: SweepStore;
  dataDir?: string;
  /** Reports batch-gradient evaluations done. */
  tick?: (units: number) => void;
}

/** Per-epoch records as stored (plain JSON). */
export function recordsJson(records: EpochRecord[]): Json[] {
  return records.map((r) => ({ ...r }));
}

/**
 * A segment's resume checkpoint, or null when there is none or it is damaged (then reported in
 * one line and moved aside, so the segment restarts from its parent; `--strict` refuses).
 */
async function loadPartial(path: string, id: string, model: Model) {
  if (!(await isFile(path))) return null;
  try {
    return await loadRun(path, model);
  } catch (err) {
    if (!(err instanceof CheckpointError)) throw err;
    await reportCorrupt(`segment ${id.slice(0, 12)}: resume checkpoint`, err.message, [path]);
    return null;
  }
}

/**
 * Trains one segment of a sweep: loads the parent state (or initializes), trains epochs
 * [from, to), checkpoints after every epoch (`<id>.partial.safetensors`, resumed from when
 * present), and stores the final state with its per-epoch records.
 */
export async function executeTrainJob(job: TrainJob, env: JobEnv): Promise<void> {
  const t0 = performance.now();
  const base = parseConfig(seededSettingsSchema, job.base);
  const { model, deps } = await prepareRun(base, env.dataDir);
  const info = { model: model.name, seed: base.seed, configHash: job.id };
  const passes = (optimizer: string) => stepPasses(base, optimizer);
  let start: TrainState | undefined;
  let records: EpochRecord[] = [];
  const partial = await loadPartial(env.store.partialPath(job.id), job.id, model);
  if (
    partial && partial.metadata.code_hash === env.store.codeHash &&
    partial.run.epoch > job.from && partial.run.epoch <= job.to
  ) {
    start = partial.run;
    records = JSON.parse(partial.metadata.records ?? "[]");
    const steps = stepsPerEpoch(base);
    for (const r of records) {
      env.tick?.(steps * passes(r.optimizer) + robustEvalCost(base, r.epoch, base.epochs));
    }
  } else {
    if (partial) disposeRun(partial.run);
    if (job.parent !== null) {
      const loaded = await loadRun(env.store.checkpointPath(job.parent), model);
      start = loaded.run;
    }
  }
  const config = trainConfigFor(base, job.phases);
  await env.store.ensure();
  // The epoch being trained, so each step's progress counts its passes (SAM: 2).
  let epoch = start?.epoch ?? job.from;
  const { run } = await train(config, deps, {
    start,
    until: job.to,
    onBatch: () => env.tick?.(passes(optimizerAt(config.phases, epoch))),
    onEpoch: async (record, state) => {
      records.push(record);
      env.tick?.(robustEvalCost(base, record.epoch, base.epochs));
      epoch = state.epoch;
      if (state.epoch < job.to) {
        await saveRun(env.store.partialPath(job.id), state, info, {
          code_hash: env.store.codeHash,
          records: JSON.stringify(records),
        });
      }
    },
  });
  const checkpoint = encodeCheckpoint(runToCheckpoint(run, info));
  disposeRun(run);
  await env.store.writeState(job, checkpoint, {
    records: recordsJson(records),
    seconds: (performance.now() - t0) / 1000,
  });
}

/** The cost model of network sweeps, for {@link planSweep}. */
export const RUN_COSTS = {
  stepsPerEpoch: (base: Json) => stepsPerEpoch(parseConfig(seededSettingsSchema, base)),
  passes: (optimizer: string, base: Json) =>
    stepPasses(parseConfig(seededSettingsSchema, base), optimizer),
  epochCost: (base: Json, epoch: number, epochs: number) =>
    robustEvalCost(parseConfig(seededSettingsSchema, base), epoch, epochs),
  measureCost,
};
