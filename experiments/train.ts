/**
 * `deno task train`: trains any model on any dataset under any phase schedule, with a progress
 * bar, per-epoch evaluation, a checkpoint after every epoch (an interrupted run resumes from
 * it), and the results layout of every figure plus the final checkpoint.
 *
 *     deno task train --model cnn --dataset fashion-mnist --phases sgd:4,sam:1
 *
 * Streams: parameters from (seed, init); epoch e's shuffle and augmentation from
 * (seed, epoch/e/shuffle) and (seed, epoch/e/augment); dropout masks (VGG) from
 * (seed, epoch/e/dropout/<step>/<pass>). Runs that share a seed therefore share
 * their data order, as the authors' per-epoch reseeding does.
 *
 * Adversarial training: an `at` phase (e.g. `--phases sgd:3,at:1`) needs `--pgd.*` settings;
 * its random starts come from (seed, epoch/e/attack/<step>). `--robust-examples N` adds the
 * robust test metrics (PGD, no random start) after every epoch. `--scale at` is a ready-made
 * ST→AT run with the authors' AT semantics (one optimizer, plain CE, inputs in [0, 1]).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { backendInfo, BACKENDS, useBackend } from "../core/backend.ts";
import { CheckpointError } from "../core/checkpoint.ts";
import { CliError, runMain } from "../core/cli.ts";
import { parseConfig } from "../core/config.ts";
import { toCsv } from "../core/csv.ts";
import { type FigureContext, type FigureDefinition, runFigure, RunPaused } from "../core/figure.ts";
import { createProgress } from "../core/progress.ts";
import type { ChartSpec } from "../core/render.ts";
import { formatPhaseSpec, parsePhaseSpec } from "../core/schedule.ts";
import {
  disposeRun,
  type EpochRecord,
  loadRun,
  runToCheckpoint,
  saveRun,
  train,
  type TrainConfig,
  trainConfigSchema,
} from "../core/train.ts";
import { encodeCheckpoint } from "../core/checkpoint.ts";
import { join } from "node:path";
import {
  CIFAR_AUGMENT,
  DATASET_NAMES,
  evalBatches,
  loadDataset,
  NO_AUGMENT,
  trainBatches,
  WRN_AUGMENT,
} from "../data/mod.ts";
import { createModel, crossEntropy, MODEL_NAMES, smoothCrossEntropy } from "../models/mod.ts";
import { pgdAdversary, pgdConfigSchema } from "../core/attack.ts";
import type { TrainDeps } from "../core/train.ts";
import { FMNIST_PGD } from "./settings.ts";

const AUGMENTS = {
  "none": NO_AUGMENT,
  "crop-flip": CIFAR_AUGMENT,
  "crop-flip-cutout": WRN_AUGMENT,
};

/** Config of a training run (flat, so every field is a flag). */
export const trainTaskSchema = z.strictObject({
  model: z.enum(MODEL_NAMES).describe("architecture"),
  dataset: z.enum(DATASET_NAMES).describe("dataset"),
  backend: z.enum(BACKENDS).describe("tfjs backend (results are bitwise reproducible per backend)"),
  trainSize: z.number().int().nonnegative().describe(
    "training examples (0 = all; a fixed stratified subset)",
  ),
  testSize: z.number().int().nonnegative().describe("test examples (0 = all)"),
  augment: z.enum(["none", "crop-flip", "crop-flip-cutout"]).describe(
    "training augmentation (SPEC §4.7)",
  ),
  seed: z.number().int().nonnegative().describe("root seed"),
  phases: z.string().superRefine((spec, ctx) => {
    try {
      parsePhaseSpec(spec);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  }).describe('optimizer phases in order, e.g. "sgd:4,sam:1" (epochs each)'),
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
    "normalize inputs by the dataset mean/std (absent: true; adversarial training: false)",
  ),
  pgd: pgdConfigSchema.optional().describe("PGD attack of `at` phases and robust evaluation"),
  robustExamples: z.number().int().nonnegative().optional().describe(
    "robust (PGD) evaluation after every epoch on the first N test examples (0 = all); needs pgd",
  ),
}).superRefine((c, ctx) => {
  const at = (() => {
    try {
      return parsePhaseSpec(c.phases).some((p) => p.optimizer === "at");
    } catch {
      return false; // the phases field reports its own error
    }
  })();
  if (at && !c.pgd) {
    ctx.addIssue({
      code: "custom",
      path: ["pgd"],
      message: "an `at` phase needs --pgd.* settings",
    });
  }
  if (c.robustExamples !== undefined && !c.pgd) {
    ctx.addIssue({ code: "custom", path: ["robustExamples"], message: "needs --pgd.* settings" });
  }
});

/** A validated training-task config. */
export type TrainTaskConfig = z.output<typeof trainTaskSchema>;

const small: TrainTaskConfig = {
  model: "cnn",
  dataset: "fashion-mnist",
  backend: "wasm",
  trainSize: 0,
  testSize: 0,
  augment: "none",
  seed: 0,
  phases: "sgd:4",
  batchSize: 128,
  lr: 0.05,
  lrSchedule: "constant",
  milestones: [],
  gamma: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  rho: 0.05,
  labelSmoothing: 0.1,
  keepMomentum: false,
};

/**
 * Named configs: `smoke` (seconds, CI), `small` (default: the reference CNN on Fashion-MNIST),
 * `at` (ST→AT on a 2,000-image subset with the authors' AT semantics and ε = 0.1 PGD-10).
 */
export const TRAIN_SCALES: Record<string, TrainTaskConfig> = {
  smoke: { ...small, trainSize: 1024, testSize: 512, phases: "sgd:1,sam:1" },
  small,
  at: {
    ...small,
    trainSize: 2000,
    testSize: 1000,
    phases: "sgd:4,at:2",
    labelSmoothing: 0,
    keepMomentum: true,
    normalize: false,
    pgd: { ...FMNIST_PGD },
    robustExamples: 1000,
  },
};

/** The optimization config implied by a task config. */
export function trainConfigOf(config: TrainTaskConfig): TrainConfig {
  const phases = parsePhaseSpec(config.phases);
  const epochs = phases[phases.length - 1].to;
  const lr = config.lrSchedule === "multistep"
    ? {
      kind: "multistep" as const,
      base: config.lr,
      milestones: config.milestones,
      gamma: config.gamma,
    }
    : { kind: config.lrSchedule, base: config.lr };
  return parseConfig(trainConfigSchema, {
    seed: config.seed,
    epochs,
    batchSize: config.batchSize,
    lr,
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    rho: config.rho,
    labelSmoothing: config.labelSmoothing,
    phases,
    keepMomentum: config.keepMomentum,
  });
}

/** What a training run produces. */
export interface TrainResult {
  records: EpochRecord[];
  checkpoint: Uint8Array;
  datasets: Record<string, string>;
  backend: string;
  resumedFrom: number;
}

const LAST = "last.safetensors";

/** Trains (resuming from `last.safetensors` in the result folder when it matches). */
export async function computeTrain(
  config: TrainTaskConfig,
  context: FigureContext,
): Promise<TrainResult> {
  const trainConfig = trainConfigOf(config);
  await useBackend(config.backend);
  const data = await loadDataset(config.dataset, {
    dataDir: context.run["data-dir"],
    trainSize: config.trainSize || undefined,
    testSize: config.testSize || undefined,
  });
  const model = createModel(config.model, {
    numClasses: data.numClasses,
    inputShape: data.imageShape,
  });
  const info = { model: model.name, seed: config.seed, configHash: context.configHash };
  const normalize = config.normalize ?? true;
  const deps: TrainDeps = {
    model,
    trainBatches: (key: Parameters<typeof trainBatches>[1]["key"]) =>
      trainBatches(data, {
        key,
        batchSize: config.batchSize,
        augment: AUGMENTS[config.augment],
        normalize,
      }),
    testBatches: () => evalBatches(data, "test", { batchSize: 500, normalize }),
    trainLoss: (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
      smoothCrossEntropy(logits, labels, {
        smoothing: config.labelSmoothing,
        numClasses: data.numClasses,
      }),
    evalLoss: crossEntropy,
  };
  if (config.pgd) {
    const examples = config.robustExamples;
    deps.adversary = pgdAdversary({
      model,
      config: config.pgd,
      loss: crossEntropy,
      robustBatches: () =>
        examples === undefined ? null : evalBatches(data, "test", {
          batchSize: 250,
          normalize,
          limit: examples === 0 ? data.test.count : Math.min(examples, data.test.count),
        }),
    });
  }

  // Resume from the last finished epoch when its checkpoint belongs to this config and code.
  const lastPath = join(context.dir, LAST);
  let start = undefined;
  let records: EpochRecord[] = [];
  try {
    const { run, metadata } = await loadRun(lastPath, model);
    if (metadata.config_hash === context.configHash && metadata.code_hash === context.codeHash) {
      start = run;
      records = JSON.parse(metadata.records ?? "[]");
      console.error(`train: resuming after epoch ${run.epoch - 1} from ${lastPath}`);
    } else {
      disposeRun(run);
    }
  } catch (err) {
    if (!(err instanceof CheckpointError)) throw err;
  }
  const resumedFrom = start?.epoch ?? 0;

  const stopAfter = context.run["stop-after"] === undefined
    ? undefined
    : Number(context.run["stop-after"]);
  if (stopAfter !== undefined && !(Number.isInteger(stopAfter) && stopAfter > 0)) {
    throw new CliError(
      `--stop-after must be a positive number of epochs, got "${context.run["stop-after"]}"`,
    );
  }
  const until = stopAfter === undefined
    ? trainConfig.epochs
    : Math.min(trainConfig.epochs, resumedFrom + stopAfter);
  const perEpoch = Math.ceil(data.train.count / config.batchSize);
  const progress = createProgress("train", (until - resumedFrom) * perEpoch);
  const { run } = await train(trainConfig, deps, {
    start,
    until,
    onBatch: () => progress.tick(),
    onEpoch: async (r, state) => {
      records.push(r);
      console.error(
        `epoch ${r.epoch + 1}/${trainConfig.epochs} ${r.optimizer} lr ${r.lr}: train loss ${
          r.trainLoss.toFixed(4)
        } ` +
          `acc ${(100 * r.trainAcc).toFixed(2)}%, test loss ${r.testLoss.toFixed(4)} acc ${
            (100 * r.testAcc).toFixed(2)
          }%${
            r.robustAcc === undefined ? "" : `, robust acc ${(100 * r.robustAcc).toFixed(2)}%`
          } (${r.seconds.toFixed(1)} s)`,
      );
      await saveRun(lastPath, state, info, {
        code_hash: context.codeHash,
        records: JSON.stringify(records),
      });
    },
  });
  progress.finish();
  if (until < trainConfig.epochs) {
    disposeRun(run);
    throw new RunPaused(
      `train: paused after epoch ${until} of ${trainConfig.epochs}; ${lastPath} holds the state. ` +
        `Run the same command again to continue.`,
    );
  }
  const checkpoint = encodeCheckpoint(runToCheckpoint(run, info));
  disposeRun(run);
  await Deno.remove(lastPath).catch(() => {});
  return { records, checkpoint, datasets: data.files, backend: backendInfo().name, resumedFrom };
}

/** Per-epoch rows of `data.csv`. */
export const TRAIN_COLUMNS = [
  "epoch",
  "optimizer",
  "lr",
  "train_loss",
  "train_acc",
  "test_loss",
  "test_acc",
] as const;

/** Columns added when the run has robust metrics (an adversary with robust evaluation). */
export const ROBUST_COLUMNS = ["robust_loss", "robust_acc"] as const;

function rows(result: TrainResult) {
  return result.records.map((r) => ({
    epoch: r.epoch,
    optimizer: r.optimizer,
    lr: r.lr,
    train_loss: r.trainLoss,
    train_acc: r.trainAcc,
    test_loss: r.testLoss,
    test_acc: r.testAcc,
    robust_loss: r.robustLoss,
    robust_acc: r.robustAcc,
  }));
}

function trainTable(result: TrainResult): string {
  const robust = result.records.some((r) => r.robustAcc !== undefined);
  return toCsv(robust ? [...TRAIN_COLUMNS, ...ROBUST_COLUMNS] : TRAIN_COLUMNS, rows(result));
}

/** Loss and error curves by epoch, optimizer phases marked. */
export function trainChart(result: TrainResult, config: TrainTaskConfig): ChartSpec {
  const long = result.records.flatMap((r) => [
    {
      epoch: r.epoch + 1,
      split: "train",
      loss: r.trainLoss,
      error: 100 * (1 - r.trainAcc),
      optimizer: r.optimizer,
    },
    {
      epoch: r.epoch + 1,
      split: "test",
      loss: r.testLoss,
      error: 100 * (1 - r.testAcc),
      optimizer: r.optimizer,
    },
    ...(r.robustAcc === undefined ? [] : [{
      epoch: r.epoch + 1,
      split: "test (PGD)",
      loss: r.robustLoss!,
      error: 100 * (1 - r.robustAcc),
      optimizer: r.optimizer,
    }]),
  ]);
  const phases = parsePhaseSpec(config.phases).map((p) => ({
    ...p,
    from: p.from + 0.5,
    to: p.to + 0.5,
  }));
  const panel = (field: "loss" | "error", title: string) => ({
    width: 320,
    height: 220,
    layer: [
      {
        data: { values: phases },
        mark: { type: "rect", opacity: 0.12 },
        encoding: {
          x: { field: "from", type: "quantitative", title: "epoch" },
          x2: { field: "to" },
          color: { field: "optimizer", type: "nominal", title: "phase", scale: { scheme: "set2" } },
        },
      },
      {
        data: { values: long },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "epoch", type: "quantitative" },
          y: { field, type: "quantitative", title, scale: { zero: false } },
          strokeDash: { field: "split", type: "nominal", title: "split" },
          detail: { field: "split" },
          color: { value: "#333333" },
        },
      },
    ],
  });
  const last = result.records[result.records.length - 1];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `${config.model} on ${config.dataset}: ${
        formatPhaseSpec(parsePhaseSpec(config.phases))
      }`,
      subtitle: last
        ? `final test error ${
          (100 * (1 - last.testAcc)).toFixed(2)
        } %, seed ${config.seed}, backend ${result.backend}`
        : "",
      anchor: "start",
    },
    hconcat: [panel("loss", "loss (train: smoothed, test: plain CE)"), panel("error", "error (%)")],
  } as ChartSpec;
}

/** The task definition. */
export const trainTask: FigureDefinition<typeof trainTaskSchema, TrainResult> = {
  name: "train",
  description:
    "Trains a model on a dataset under a phase schedule of optimizers (SGD, SAM, USAM, ASAM, " +
    "AT = SGD on PGD examples), " +
    "evaluating after every epoch. Writes results/train/ (per-epoch data.csv, a loss/error chart, " +
    "manifest.json) and final.safetensors; a checkpoint after every epoch lets an interrupted run resume.",
  schema: trainTaskSchema,
  scales: TRAIN_SCALES,
  defaultScale: "small",
  backend: "wasm",
  backendOf: (config) => config.backend,
  runFlags: {
    "data-dir": {
      description: "folder holding the dataset files (else $LATE_SAM_DATA, Debian's, the cache)",
    },
    "stop-after": {
      description: "train at most this many epochs now; the same command resumes later",
    },
  },
  seeds: (config) => ({
    root: config.seed,
    streams: {
      init: `${config.seed}:init`,
      data: `${config.seed}:epoch/<e>/shuffle and ${config.seed}:epoch/<e>/augment`,
      dropout: `${config.seed}:epoch/<e>/dropout/<step>/<pass>`,
      ...(config.pgd ? { attack: `${config.seed}:epoch/<e>/attack/<step>` } : {}),
    },
  }),
  compute: computeTrain,
  table: trainTable,
  chart: trainChart,
  summary: (result) => {
    const last = result.records[result.records.length - 1];
    return {
      epochs: result.records.length,
      resumedFromEpoch: result.resumedFrom,
      finalTestAcc: last?.testAcc ?? null,
      finalTrainLoss: last?.trainLoss ?? null,
      // Wall times stay out of data.csv, which is bitwise reproducible.
      epochSeconds: result.records.map((r) => Math.round(r.seconds * 100) / 100),
    };
  },
  files: (result) => ({ "final.safetensors": result.checkpoint }),
  datasets: (result) => result.datasets,
};

if (import.meta.main) await runMain(() => runFigure(trainTask, Deno.args).then(() => {}));
