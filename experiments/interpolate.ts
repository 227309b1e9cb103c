/**
 * `deno task interpolate CHECKPOINT_A CHECKPOINT_B`: the loss landscape along the line
 * θ_λ = (1 − λ)·A + λ·B through two solutions (Fig. 4(c), docs/paper.md#measurements): train and test loss
 * and accuracy in eval mode on fixed subsets at every λ of a grid, and the paper's
 * L″(λ) = (L(λ + h) + L(λ − h) − 2L(λ))/(2h)² with h = 0.1. The whole state is interpolated
 * (parameters and BatchNorm running statistics). The paper's convention is A = SGD→SAM and
 * B = SGD, so λ = 1 is the SGD end.
 *
 *     deno task interpolate results/sam/train/final.safetensors results/sgd/train/final.safetensors
 *
 * Subsets: the fixed class-stratified subsets of `--train-size` and `--test-size` images
 * (default 1,000 each; the authors sample 1,000 at random). The stratified subsets are nested
 * (the subset of N is the first N/K per class of any larger one), so with the default the
 * train images lie inside any stratified training subset of ≥ 1,000 images a model was trained
 * on. Writes `<out>/interpolate/` (data.csv, chart, manifest with both checkpoints' sha256).
 *
 * @module
 */
import { z } from "zod";
import { BackendEnum, backendInfo, DEFAULT_BACKEND, useBackend } from "../core/backend.ts";
import { CheckpointError } from "../core/checkpoint.ts";
import { runMain } from "../core/cli.ts";
import { toCsv } from "../core/csv.ts";
import { type FigureContext, type FigureDefinition, runFigure } from "../core/figure.ts";
import { lambdaGrid, LINE_H, lineProfile, type LineRow } from "../core/metrics/mod.ts";
import { createProgress } from "../core/progress.ts";
import type { ChartSpec } from "../core/render.ts";
import { disposeRun } from "../core/train.ts";
import { DATASET_NAMES, evalBatches, loadDataset } from "../data/mod.ts";
import { crossEntropy } from "../models/mod.ts";
import { loadCheckpointFor, type LoadedCheckpoint } from "./load_checkpoint.ts";

/** Config of a line profile (flat: every field is a flag). */
export const interpolateTaskSchema = z.strictObject({
  checkpointA: z.string().describe("the end point at λ = 0 (the paper: SGD→SAM; positional)"),
  checkpointB: z.string().describe("the end point at λ = 1 (the paper: SGD; positional)"),
  dataset: z.enum(DATASET_NAMES).describe("dataset of the train and test subsets"),
  backend: BackendEnum.describe("tfjs backend (auto: native, else wasm)"),
  trainSize: z.number().int().positive().describe("training images (fixed stratified subset)"),
  testSize: z.number().int().positive().describe("test images (fixed stratified subset)"),
  from: z.number().describe("first λ of the grid"),
  to: z.number().describe("last λ of the grid"),
  step: z.number().positive().describe("grid step (must divide to − from; h/step whole for L″)"),
  h: z.number().positive().describe("step of the paper's L″ = (L(λ+h) + L(λ−h) − 2L(λ))/(2h)²"),
  batchSize: z.number().int().positive().describe("examples per forward pass (speed only)"),
}).superRefine((c, ctx) => {
  try {
    lambdaGrid(c.from, c.to, c.step);
  } catch (err) {
    ctx.addIssue({ code: "custom", path: ["step"], message: (err as Error).message });
  }
  const ratio = c.h / c.step;
  if (Math.abs(ratio - Math.round(ratio)) > 1e-9) {
    ctx.addIssue({
      code: "custom",
      path: ["h"],
      message:
        `h (${c.h}) must be a whole multiple of step (${c.step}) for λ ± h to lie on the grid`,
    });
  }
});

/** A validated interpolation config. */
export type InterpolateTaskConfig = z.output<typeof interpolateTaskSchema>;

const small: InterpolateTaskConfig = {
  checkpointA: "",
  checkpointB: "",
  dataset: "fashion-mnist",
  backend: DEFAULT_BACKEND,
  trainSize: 1000,
  testSize: 1000,
  from: -0.2,
  to: 1.2,
  step: 0.05,
  h: LINE_H,
  batchSize: 500,
};

/** Named configs: `small` (default: 1,000 + 1,000 images, step 0.05) and `smoke` (CI). */
export const INTERPOLATE_SCALES: Record<string, InterpolateTaskConfig> = {
  smoke: { ...small, trainSize: 200, testSize: 200, from: -0.1, to: 1.1, step: 0.1 },
  small,
};

/** What a line profile produces. */
export interface InterpolateResult {
  rows: LineRow[];
  ends: Record<"a" | "b", { model: string; epoch: string; optimizer: string }>;
  datasets: Record<string, string>;
  backend: string;
}

/** Evaluates the line between the two checkpoints. */
export async function computeInterpolate(
  config: InterpolateTaskConfig,
  context: FigureContext<typeof INTERPOLATE_FLAGS>,
): Promise<InterpolateResult> {
  await useBackend(config.backend);
  const data = await loadDataset(config.dataset, {
    dataDir: context.flags.dataDir,
    trainSize: config.trainSize,
    testSize: config.testSize,
  });
  const loaded: LoadedCheckpoint[] = [];
  try {
    loaded.push(await loadCheckpointFor(config.checkpointA, data));
    loaded.push(await loadCheckpointFor(config.checkpointB, data));
    const [a, b] = loaded;
    if (a.model.name !== b.model.name) {
      throw new CheckpointError(
        `the checkpoints hold different models (${a.model.name} and ${b.model.name}): ` +
          "a line between them is undefined",
      );
    }
    const lambdas = lambdaGrid(config.from, config.to, config.step);
    const progress = createProgress("interpolate λ", lambdas.length);
    const rows = lineProfile({
      model: a.model,
      a: { params: a.run.params, state: a.run.modelState },
      b: { params: b.run.params, state: b.run.modelState },
      lambdas,
      splits: {
        train: evalBatches(data, "train", { batchSize: config.batchSize }),
        test: evalBatches(data, "test", { batchSize: config.batchSize }),
      },
      loss: crossEntropy,
      h: config.h,
      chunk: config.batchSize,
      onPoint: (done) => progress.tick(1, `λ = ${lambdas[done - 1]}`),
    });
    progress.finish();
    const end = (c: LoadedCheckpoint) => ({
      model: c.model.name,
      epoch: c.metadata.epoch ?? "",
      optimizer: c.metadata.optimizer ?? "",
    });
    return {
      rows,
      ends: { a: end(a), b: end(b) },
      datasets: data.files,
      backend: backendInfo().name,
    };
  } finally {
    for (const c of loaded) disposeRun(c.run);
  }
}

/** Columns of `data.csv`. */
export const INTERPOLATE_COLUMNS = ["lambda", "split", "loss", "acc", "curvature"] as const;

/** Loss along the line (top) and the paper's L″ (bottom), train and test. */
export function interpolateChart(out: InterpolateResult, config: InterpolateTaskConfig): ChartSpec {
  const values = out.rows.map((r) => ({ ...r, error: 100 * (1 - r.acc) }));
  const ends = [{ lambda: 0, label: "A" }, { lambda: 1, label: "B" }];
  const panel = (field: "loss" | "curvature", title: string) => ({
    width: 420,
    height: 200,
    layer: [
      {
        data: { values: ends },
        mark: { type: "rule", strokeDash: [3, 3], color: "#999999" },
        encoding: {
          x: { field: "lambda", type: "quantitative", scale: { domain: [config.from, config.to] } },
        },
      },
      {
        data: { values: values.filter((v) => v[field] !== null) },
        mark: { type: "line", point: true },
        encoding: {
          x: {
            field: "lambda",
            type: "quantitative",
            title: "λ",
            scale: { domain: [config.from, config.to] },
          },
          y: { field, type: "quantitative", title, scale: { zero: false } },
          color: { field: "split", type: "nominal", title: "split" },
        },
      },
    ],
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "Loss along θ_λ = (1 − λ)·A + λ·B",
      subtitle: `A: ${out.ends.a.model} epoch ${out.ends.a.epoch} (${out.ends.a.optimizer}), ` +
        `B: epoch ${out.ends.b.epoch} (${out.ends.b.optimizer}); ${config.trainSize} train / ` +
        `${config.testSize} test ${config.dataset} images, eval mode; L″ with h = ${config.h}`,
      anchor: "start",
    },
    vconcat: [
      panel("loss", "cross-entropy loss"),
      panel("curvature", `L″(λ) = (L(λ+h) + L(λ−h) − 2L(λ)) / (2h)²`),
    ],
  } as ChartSpec;
}

function summarize(rows: LineRow[]) {
  const splits = [...new Set(rows.map((r) => r.split))];
  return Object.fromEntries(splits.map((split) => {
    const s = rows.filter((r) => r.split === split);
    const at = (l: number) => s.find((r) => Math.abs(r.lambda - l) < 1e-9);
    const inside = s.filter((r) => r.lambda >= -1e-9 && r.lambda <= 1 + 1e-9);
    const peak = Math.max(...inside.map((r) => r.loss));
    const endLoss = Math.max(at(0)?.loss ?? -Infinity, at(1)?.loss ?? -Infinity);
    return [split, {
      lossA: at(0)?.loss ?? null,
      lossB: at(1)?.loss ?? null,
      accA: at(0)?.acc ?? null,
      accB: at(1)?.acc ?? null,
      barrier: Number.isFinite(endLoss) ? peak - endLoss : null,
      curvatureA: at(0)?.curvature ?? null,
      curvatureB: at(1)?.curvature ?? null,
    }];
  }));
}

/** The run flags of the task. */
const INTERPOLATE_FLAGS = {
  "data-dir": {
    description: "folder holding the dataset files (else $LATE_SAM_DATA, Debian's, the cache)",
  },
} as const;

/** The task definition. */
export const interpolateTask: FigureDefinition<
  typeof interpolateTaskSchema,
  InterpolateResult,
  typeof INTERPOLATE_FLAGS
> = {
  name: "interpolate",
  description:
    "Evaluates the line θ_λ = (1 − λ)·A + λ·B between two checkpoints of the same model " +
    "(parameters and BatchNorm statistics): train/test loss and accuracy in eval mode at every " +
    "λ of a grid, and the paper's L″ with h = 0.1 (Fig. 4(c)). Writes <out>/interpolate/.",
  schema: interpolateTaskSchema,
  scales: INTERPOLATE_SCALES,
  defaultScale: "small",
  positionals: ["checkpointA", "checkpointB"],
  backend: DEFAULT_BACKEND,
  backendOf: (config) => config.backend,
  runFlags: INTERPOLATE_FLAGS,
  inputFiles: (config) => ({ checkpointA: config.checkpointA, checkpointB: config.checkpointB }),
  seeds: () => ({ root: null, streams: { subsets: "0:data/<dataset>/subset/<split> (fixed)" } }),
  compute: computeInterpolate,
  table: (out) =>
    toCsv(
      INTERPOLATE_COLUMNS,
      out.rows.map((r) => ({
        lambda: r.lambda,
        split: r.split,
        loss: r.loss,
        acc: r.acc,
        curvature: r.curvature,
      })),
    ),
  chart: interpolateChart,
  summary: (out) => ({ ...summarize(out.rows), ends: out.ends }),
  datasets: (out) => out.datasets,
};

if (import.meta.main) await runMain(() => runFigure(interpolateTask, Deno.args).then(() => {}));
