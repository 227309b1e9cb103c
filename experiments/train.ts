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
 * its random starts come from (seed, epoch/e/attack/<step>). `--robust-eval.examples N
 * --robust-eval.epochs all` adds the robust test metrics (PGD, no random start) after every
 * epoch. `--scale at` is a ready-made
 * ST→AT run with the authors' AT semantics (one optimizer, plain CE, inputs in [0, 1]).
 *
 * @module
 */
import { z } from "zod";
import { backendInfo, DEFAULT_BACKEND } from "../core/backend.ts";
import { CheckpointError, encodeCheckpoint } from "../core/checkpoint.ts";
import { isFile } from "../core/atomic.ts";
import { IntegrityError, moveAside, strictIntegrity } from "../core/integrity.ts";
import type { Model } from "../core/model.ts";
import { CliError, runMain } from "../core/cli.ts";
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
  type TrainState,
} from "../core/train.ts";
import { join } from "node:path";
import { prepareRun, trainConfigFor } from "./runs.ts";
import { runSettingsShape, seededSettings } from "./run_settings.ts";
import { FMNIST_PGD } from "./settings.ts";

/** Config of a training run: the shared run settings, a seed and a phase list (flat flags). */
export const trainTaskSchema = z.strictObject({
  ...runSettingsShape,
  seed: z.number().int().nonnegative().describe("root seed"),
  phases: z.string().superRefine((spec, ctx) => {
    try {
      parsePhaseSpec(spec);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  }).describe('optimizer phases in order, e.g. "sgd:4,sam:1" (epochs each)'),
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
  if (c.robustEval !== undefined && !c.pgd) {
    ctx.addIssue({ code: "custom", path: ["robustEval"], message: "needs --pgd.* settings" });
  }
});

/** A validated training-task config. */
export type TrainTaskConfig = z.output<typeof trainTaskSchema>;

const small: TrainTaskConfig = {
  model: "cnn",
  dataset: "fashion-mnist",
  backend: DEFAULT_BACKEND,
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
    robustEval: { examples: 1000, epochs: "all" },
  },
};

/** What a training run produces. */
export interface TrainResult {
  records: EpochRecord[];
  checkpoint: Uint8Array;
  datasets: Record<string, string>;
  backend: string;
  resumedFrom: number;
}

const LAST = "last.safetensors";
const PREVIOUS = "previous.safetensors";

/**
 * The newest good checkpoint of `paths` (newest first) written for this config and code, with
 * its per-epoch records; undefined when none is. A damaged one is said in one line (naming the
 * epoch training restarts from) and moved aside; under `--strict` it is an error.
 *
 * @throws {IntegrityError} under `--strict`, when a checkpoint is damaged.
 */
export async function resumePoint(
  paths: readonly string[],
  model: Model,
  context: Pick<FigureContext, "configHash" | "codeHash">,
): Promise<{ run: TrainState; records: EpochRecord[]; path: string } | undefined> {
  const damaged: { path: string; reason: string }[] = [];
  let found: { run: TrainState; records: EpochRecord[]; path: string } | undefined;
  for (const path of paths) {
    if (!(await isFile(path))) continue;
    try {
      const { run, metadata } = await loadRun(path, model);
      if (metadata.config_hash === context.configHash && metadata.code_hash === context.codeHash) {
        found = { run, records: JSON.parse(metadata.records ?? "[]"), path };
        break;
      }
      disposeRun(run); // another config's or code's checkpoint: not ours to resume
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      const reason = err.message.startsWith(`${path}: `)
        ? err.message.slice(path.length + 2)
        : err.message;
      if (strictIntegrity()) {
        throw new IntegrityError(`checkpoint ${path} is corrupt (${reason}) (--strict)`);
      }
      damaged.push({ path, reason });
    }
  }
  const from = found
    ? `starting from epoch ${found.run.epoch} of the last good one (${found.path})`
    : "no good checkpoint is left; starting from epoch 0";
  for (const { path, reason } of damaged) {
    console.error(`train: checkpoint ${path} is corrupt (${reason}); ${from}`);
    await moveAside(path);
  }
  if (found && damaged.length === 0) {
    console.error(`train: resuming after epoch ${found.run.epoch} from ${found.path}`);
  }
  return found;
}

/** Trains (resuming from `last.safetensors` in the result folder when it matches). */
export async function computeTrain(
  config: TrainTaskConfig,
  context: FigureContext<typeof TRAIN_FLAGS>,
): Promise<TrainResult> {
  const { seed, phases: spec, ...settings } = config;
  const phases = parsePhaseSpec(spec);
  const trainConfig = trainConfigFor(
    seededSettings(settings, seed, phases[phases.length - 1].to),
    phases,
  );
  const { data, model, deps } = await prepareRun(
    settings,
    context.flags.dataDir,
  );
  const info = { model: model.name, seed, configHash: context.configHash };

  // Resume from the last finished epoch when its checkpoint belongs to this config and code.
  const lastPath = join(context.dir, LAST);
  const previousPath = join(context.dir, PREVIOUS);
  const resume = await resumePoint([lastPath, previousPath], model, context);
  const start = resume?.run;
  const records: EpochRecord[] = resume?.records ?? [];
  const resumedFrom = start?.epoch ?? 0;

  const stopAfter = context.flags.stopAfter === undefined
    ? undefined
    : Number(context.flags.stopAfter);
  if (stopAfter !== undefined && !(Number.isInteger(stopAfter) && stopAfter > 0)) {
    throw new CliError(
      `--stop-after must be a positive number of epochs, got "${context.flags.stopAfter}"`,
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
      // Keep one previous checkpoint: if the newest is damaged, resuming falls back to it.
      await Deno.rename(lastPath, previousPath).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
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
  for (const path of [lastPath, previousPath]) await Deno.remove(path).catch(() => {});
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

/** The run flags of the task. */
const TRAIN_FLAGS = {
  "data-dir": {
    description: "folder holding the dataset files (else $LATE_SAM_DATA, Debian's, the cache)",
  },
  "stop-after": {
    description: "train at most this many epochs now; the same command resumes later",
  },
} as const;

/** The task definition. */
export const trainTask: FigureDefinition<typeof trainTaskSchema, TrainResult, typeof TRAIN_FLAGS> =
  {
    name: "train",
    description:
      "Trains a model on a dataset under a phase schedule of optimizers (SGD, SAM, USAM, ASAM, " +
      "AT = SGD on PGD examples), " +
      "evaluating after every epoch. Writes results/train/ (per-epoch data.csv, a loss/error chart, " +
      "manifest.json) and final.safetensors; a checkpoint after every epoch lets an interrupted run resume.",
    schema: trainTaskSchema,
    scales: TRAIN_SCALES,
    defaultScale: "small",
    backend: DEFAULT_BACKEND,
    backendOf: (config) => config.backend,
    runFlags: TRAIN_FLAGS,
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
