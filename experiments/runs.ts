/**
 * Network runs: the settings every training run shares (model, data, optimizer), how a run is
 * wired to the training loop, and how a sweep's train job trains a segment of a run (in this
 * process or in a worker process, with identical results). Measurement jobs are `jobs.ts`'s.
 *
 * A sweep run's base config is {@link SeededSettings}: the settings plus `seed` and `epochs`. Its
 * state after epoch e is stored under `stateId(base, phases, e)` in the sweep store.
 *
 * Adversarial runs add three optional settings, absent from every other run (so the bases,
 * and the ids, of SGD/SAM runs are unchanged): `normalize: false` (inputs x/255 in [0, 1]),
 * `pgd` (the attack of `at` phases and of the robust evaluation) and `robustEval` (which
 * epochs are evaluated under attack, on how many test examples).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { BACKENDS, useBackend } from "../core/backend.ts";
import { encodeCheckpoint } from "../core/checkpoint.ts";
import { pgdAdversary, type PgdConfig, pgdConfigSchema } from "../core/attack.ts";
import { type Json, parseConfig } from "../core/config.ts";
import type { Model } from "../core/model.ts";
import type { RngKey } from "../core/random.ts";
import { type LrSchedule, optimizerAt, type Phase } from "../core/schedule.ts";
import type { TrainJob } from "../core/sweep/plan.ts";
import type { SweepStore } from "../core/sweep/store.ts";
import {
  disposeRun,
  type EpochRecord,
  loadRun,
  type RunState,
  runToCheckpoint,
  saveRun,
  train,
  type TrainConfig,
  trainConfigSchema,
  type TrainDeps,
} from "../core/train.ts";
import {
  CIFAR_AUGMENT,
  DATASET_NAMES,
  datasetInfo,
  type DatasetName,
  evalBatches,
  loadDataset,
  NO_AUGMENT,
  trainBatches,
  WRN_AUGMENT,
} from "../data/mod.ts";
import type { Dataset } from "../data/mod.ts";
// Model modules by file, not through models/mod.ts: the sweep code hash covers exactly the
// modules a worker imports, and the theory problems re-exported there train nothing.
import { createModel, MODEL_NAMES } from "../models/registry.ts";
import { crossEntropy, smoothCrossEntropy } from "../models/loss.ts";
import { measureCost } from "./measure_specs.ts";

/** Training augmentations by name (docs/paper.md#settings). */
export const AUGMENTS = {
  "none": NO_AUGMENT,
  "crop-flip": CIFAR_AUGMENT,
  "crop-flip-cutout": WRN_AUGMENT,
};

/** The fields of {@link runSettingsSchema}, for schemas that extend it. */
export const runSettingsShape = {
  model: z.enum(MODEL_NAMES).describe("architecture"),
  dataset: z.enum(DATASET_NAMES).describe("dataset"),
  backend: z.enum(BACKENDS).describe("tfjs backend (results are bitwise reproducible per backend)"),
  trainSize: z.number().int().nonnegative().describe(
    "training examples (0 = all; a fixed stratified subset)",
  ),
  testSize: z.number().int().nonnegative().describe("test examples (0 = all)"),
  augment: z.enum(["none", "crop-flip", "crop-flip-cutout"]).describe(
    "training augmentation (docs/paper.md#settings)",
  ),
  batchSize: z.number().int().positive().describe("mini-batch size"),
  lr: z.number().positive().describe("base learning rate"),
  lrSchedule: z.enum(["constant", "multistep", "wrn"]).describe(
    "constant; multistep (×gamma at each milestone epoch); wrn (×0.2 at 30%, ×0.04 at 60% of T)",
  ),
  milestones: z.array(z.number().int().positive()).describe("multistep milestone epochs"),
  gamma: z.number().positive().describe("multistep decay factor"),
  momentum: z.number().min(0).lt(1).describe("SGD momentum"),
  weightDecay: z.number().nonnegative().describe("coupled L2 weight decay"),
  rho: z.number().positive().describe("SAM radius ρ"),
  labelSmoothing: z.number().min(0).lt(1).describe(
    "label smoothing of the training loss (s/(K−1) rule)",
  ),
  keepMomentum: z.boolean().describe(
    "keep momentum across optimizer switches (default: reset, as the authors)",
  ),
  normalize: z.boolean().optional().describe(
    "normalize inputs by the dataset mean/std (absent: true; adversarial runs: false, x in [0, 1])",
  ),
  pgd: pgdConfigSchema.optional().describe(
    "PGD attack of `at` phases (random start) and of the robust evaluation (none)",
  ),
  robustEval: z.strictObject({
    examples: z.number().int().nonnegative().describe(
      "robust evaluation on the first N test examples (0 = the whole test set)",
    ),
    epochs: z.enum(["all", "last"]).describe(
      "evaluate under attack after every epoch (authors) or after the last epoch T − 1 only",
    ),
  }).optional().describe("robust (PGD) test metrics; needs `pgd`"),
};

/**
 * The run settings among a figure config's fields (the keys of {@link runSettingsShape}),
 * leaving out the figure's own (epochs, seeds, switches, …).
 */
export function runSettingsOf(config: Record<string, unknown>): RunSettings {
  const keys = Object.keys(runSettingsShape).filter((k) => k in config);
  return Object.fromEntries(keys.map((k) => [k, config[k]])) as RunSettings;
}

const needsPgd = (s: { pgd?: unknown; robustEval?: unknown }) =>
  s.robustEval === undefined || s.pgd !== undefined;
const NEEDS_PGD = { message: "robustEval needs a pgd attack", path: ["robustEval"] };

/** Everything about a network run except its seed, length and phases. */
export const runSettingsSchema = z.strictObject(runSettingsShape).refine(needsPgd, NEEDS_PGD);

/** Validated run settings. */
export type RunSettings = z.output<typeof runSettingsSchema>;

/**
 * A run's settings with its root seed and total epochs T: everything that determines its
 * training except the phases (a sweep's `RunRequest.base`, hashed into its state ids).
 */
export const seededSettingsSchema = z.strictObject({
  ...runSettingsShape,
  seed: z.number().int().nonnegative().describe("root seed"),
  epochs: z.number().int().positive().describe("total epochs T"),
}).refine(needsPgd, NEEDS_PGD);

/** Validated seeded settings. */
export type SeededSettings = z.output<typeof seededSettingsSchema>;

/** The seeded settings of one run of a figure (the `base` of its `RunRequest`). */
export function seededSettings(
  settings: RunSettings,
  seed: number,
  epochs: number,
): SeededSettings {
  return parseConfig(seededSettingsSchema, { ...settings, seed, epochs });
}

/** @deprecated the old name of {@link seededSettings} (kept for Figs. 4(b), 4(c)). */
export const runBase = seededSettings;

/** The learning-rate schedule the settings name. */
export function lrScheduleOf(settings: RunSettings): LrSchedule {
  return settings.lrSchedule === "multistep"
    ? {
      kind: "multistep",
      base: settings.lr,
      milestones: settings.milestones,
      gamma: settings.gamma,
    }
    : { kind: settings.lrSchedule, base: settings.lr };
}

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

/** Training examples of a run (its subset, or the whole split). */
export function trainCount(settings: RunSettings): number {
  return settings.trainSize || datasetInfo(settings.dataset as DatasetName).trainCount;
}

/** Optimizer steps per epoch (the last partial batch counts). */
export function stepsPerEpoch(settings: RunSettings): number {
  return Math.ceil(trainCount(settings) / settings.batchSize);
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
  let start: RunState | undefined;
  let records: EpochRecord[] = [];
  const partial = await loadRun(env.store.partialPath(job.id), model).catch(() => null);
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
