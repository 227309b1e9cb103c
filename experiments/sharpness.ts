/**
 * `deno task sharpness CHECKPOINT`: the top Hessian eigenvalues (λ_max first), optionally
 * power iteration's λ_max, and the Hessian trace of a trained model's mean loss over a fixed
 * subset, as the authors measure sharpness (docs/paper.md#measurements): the first 5,000 unaugmented training
 * images, chunks of 128, BatchNorm in train mode, plain cross-entropy.
 *
 *     deno task sharpness results/train/final.safetensors --train-size 10000 --out results/run1
 *
 * The checkpoint's metadata names the model; the dataset is a flag (default Fashion-MNIST).
 * Writes `<out>/sharpness/`: `data.csv` (every estimator's convergence: Lanczos' top-k Ritz
 * values and residuals, power iteration's estimates, the running trace), a convergence chart,
 * and `manifest.json` with the checkpoint's sha256 and the headline numbers. HVPs are central
 * differences of the gradient (`core/metrics/hvp.ts`), not double backprop.
 *
 * Streams: Lanczos start (seed, sharpness/lanczos), power start (seed, sharpness/power), trace
 * probe i (seed, sharpness/trace/i), dropout masks of chunk c (seed, sharpness/dropout/c).
 *
 * @module
 */
import { z } from "zod";
import { BackendEnum, backendInfo, DEFAULT_BACKEND, useBackend } from "../core/backend.ts";
import { CliError, runMain } from "../core/cli.ts";
import { toCsv } from "../core/csv.ts";
import { type FigureContext, type FigureDefinition, runFigure } from "../core/figure.ts";
import {
  DEFAULT_HVP_CHUNK,
  DEFAULT_HVP_EPSILON,
  measureSharpness,
  SHARPNESS_DEFAULTS,
  type SharpnessResult,
} from "../core/metrics/mod.ts";
import { createProgress, formatDuration } from "../core/progress.ts";
import { rngKey } from "../core/random.ts";
import type { ChartSpec } from "../core/render.ts";
import { disposeRun } from "../core/train.ts";
import { DATASET_NAMES, evalBatches, loadDataset } from "../data/mod.ts";
import { crossEntropy } from "../models/mod.ts";
import { loadCheckpointFor } from "./load_checkpoint.ts";

/** Config of a sharpness measurement (flat: every field is a flag). */
export const sharpnessTaskSchema = z.strictObject({
  checkpoint: z.string().describe("the checkpoint to measure (positional argument)"),
  dataset: z.enum(DATASET_NAMES).describe("dataset whose training images are measured"),
  backend: BackendEnum.describe("tfjs backend (auto: native, else wasm)"),
  trainSize: z.number().int().nonnegative().describe(
    "restrict the training split to the fixed stratified subset of this size first (0 = all; " +
      "pass the training run's --train-size so the images are ones it trained on)",
  ),
  examples: z.number().int().positive().describe(
    "measure on the first N unaugmented images of the (restricted) training split",
  ),
  chunk: z.number().int().positive().describe(
    "examples per chunk (train-mode BatchNorm normalizes each chunk by its own statistics)",
  ),
  epsilon: z.number().positive().describe("finite-difference step of the HVP (parameter space)"),
  bn: z.enum(["train", "eval"]).describe(
    "BatchNorm mode: train = per-chunk batch statistics (the authors), eval = running statistics",
  ),
  k: z.number().int().positive().describe("top eigenvalues wanted (largest magnitude)"),
  iterations: z.number().int().positive().describe("most Lanczos iterations (one HVP each)"),
  tolerance: z.number().positive().describe(
    "relative tolerance: Lanczos Ritz residual / power-iteration change",
  ),
  powerIterations: z.number().int().nonnegative().describe(
    "power-iteration HVPs for an independent λ_max (0 = skip)",
  ),
  probes: z.number().int().nonnegative().describe(
    "Hutchinson probes for the Hessian trace (0 = skip)",
  ),
  seed: z.number().int().nonnegative().describe("root seed of the start vectors and probes"),
}).superRefine((c, ctx) => {
  if (c.iterations < c.k) {
    ctx.addIssue({
      code: "custom",
      path: ["iterations"],
      message: `Lanczos needs at least k = ${c.k} iterations, got ${c.iterations}`,
    });
  }
});

/** A validated sharpness config. */
export type SharpnessTaskConfig = z.output<typeof sharpnessTaskSchema>;

const paper: SharpnessTaskConfig = {
  checkpoint: "",
  dataset: "fashion-mnist",
  backend: DEFAULT_BACKEND,
  trainSize: 0,
  examples: 5000,
  chunk: DEFAULT_HVP_CHUNK,
  epsilon: DEFAULT_HVP_EPSILON,
  bn: "train",
  k: SHARPNESS_DEFAULTS.k,
  iterations: SHARPNESS_DEFAULTS.lanczosIterations,
  tolerance: SHARPNESS_DEFAULTS.tolerance,
  powerIterations: 0,
  probes: 10,
  seed: 0,
};

/**
 * Named configs: `paper` (default: the authors' 5,000 images in chunks of 128, top 2, plus a
 * 10-probe trace), `small` (1,000 images) and `smoke` (256 images, a few HVPs: CI).
 */
export const SHARPNESS_SCALES: Record<string, SharpnessTaskConfig> = {
  smoke: { ...paper, examples: 256, iterations: 4, powerIterations: 2, probes: 2 },
  small: { ...paper, examples: 1000 },
  paper,
};

/** What a measurement produces. */
export interface SharpnessTaskResult {
  result: SharpnessResult;
  checkpoint: { model: string; epoch: string; optimizer: string; seed: string; configHash: string };
  datasets: Record<string, string>;
  backend: string;
}

function settingsLine(config: SharpnessTaskConfig, chunks: number, dim: number): string {
  const last = config.examples - (chunks - 1) * config.chunk;
  return [
    `examples ${config.examples} (first of the ${config.dataset} training split` +
    `${
      config.trainSize ? `, subset ${config.trainSize}` : ""
    }) in ${chunks} chunks of ${config.chunk}` +
    (last !== config.chunk ? ` (last ${last})` : ""),
    `${dim} parameters, ε ${config.epsilon}, BatchNorm ${config.bn}`,
    `Lanczos k ${config.k} ≤ ${config.iterations} iterations, tolerance ${config.tolerance}`,
    `power ${config.powerIterations}, trace probes ${config.probes}, seed ${config.seed}`,
  ].join("; ");
}

/** Runs the measurement. */
export async function computeSharpness(
  config: SharpnessTaskConfig,
  context: FigureContext<typeof SHARPNESS_FLAGS>,
): Promise<SharpnessTaskResult> {
  await useBackend(config.backend);
  const data = await loadDataset(config.dataset, {
    dataDir: context.flags.dataDir,
    trainSize: config.trainSize || undefined,
  });
  if (config.examples > data.train.count) {
    throw new CliError(
      `--examples ${config.examples} exceeds the ${data.train.count} training images available`,
    );
  }
  const { model, run, metadata } = await loadCheckpointFor(config.checkpoint, data);
  try {
    console.error(
      `sharpness: ${config.checkpoint} (model ${model.name}, epoch ${metadata.epoch}, ` +
        `optimizer ${metadata.optimizer || "none"})`,
    );
    const chunks = Math.ceil(config.examples / config.chunk);
    const dim = Object.values(run.params).reduce((a, t) => a + t.size, 0);
    console.error(`sharpness: ${settingsLine(config, chunks, dim)}`);
    const total = config.iterations + config.powerIterations + config.probes;
    const progress = createProgress("sharpness HVPs", total);
    const t0 = performance.now();
    const result = measureSharpness({
      model,
      params: run.params,
      state: run.modelState,
      data: evalBatches(data, "train", { batchSize: config.chunk, limit: config.examples }),
      loss: crossEntropy,
      key: rngKey(config.seed, "sharpness"),
      chunk: config.chunk,
      epsilon: config.epsilon,
      bnMode: config.bn,
      dropoutKey: rngKey(config.seed, "sharpness", "dropout"),
      k: config.k,
      lanczosIterations: config.iterations,
      tolerance: config.tolerance,
      powerIterations: config.powerIterations,
      traceProbes: config.probes,
      onStep: (s) => progress.tick(1, `${s.phase} ${s.estimate.toPrecision(5)}`),
    });
    progress.finish(
      `${result.hvps} HVPs in ${formatDuration((performance.now() - t0) / 1000)}`,
    );
    console.error(`sharpness: ${convergenceLine(result)}`);
    return {
      result,
      checkpoint: {
        model: model.name,
        epoch: metadata.epoch ?? "",
        optimizer: metadata.optimizer ?? "",
        seed: metadata.seed ?? "",
        configHash: metadata.config_hash ?? "",
      },
      datasets: data.files,
      backend: backendInfo().name,
    };
  } finally {
    disposeRun(run);
  }
}

/**
 * Columns of `data.csv`: one row per estimate of every step of every estimator. `residual` is
 * Lanczos' βⱼ|sⱼ|, power iteration's ‖Hv − λv‖ or the trace's standard error;
 * `relative_residual` (Lanczos: βⱼ|sⱼ|/|θ|, held to the tolerance) and `asymmetry` (Lanczos:
 * the in-space part of ‖Hy − θy‖, `core/metrics/lanczos.ts`) are empty for the others.
 */
export const SHARPNESS_COLUMNS = [
  "method",
  "step",
  "index",
  "value",
  "residual",
  "relative_residual",
  "asymmetry",
] as const;

/** The convergence rows: Lanczos (each top-k value), power iteration, the running trace. */
export function sharpnessRows(r: SharpnessResult) {
  const rows: {
    method: string;
    step: number;
    index: number;
    value: number;
    residual: number | null;
    relative_residual?: number;
    asymmetry?: number;
  }[] = [];
  for (const s of r.lanczos.history) {
    s.values.forEach((value, index) =>
      rows.push({
        method: "lanczos",
        step: s.iteration,
        index,
        value,
        residual: s.residuals[index],
        relative_residual: s.relativeResiduals[index],
        asymmetry: s.asymmetries[index],
      })
    );
  }
  for (const s of r.power?.history ?? []) {
    rows.push({
      method: "power",
      step: s.iteration,
      index: 0,
      value: s.eigenvalue,
      residual: s.residual,
    });
  }
  let sum = 0;
  let sumSq = 0;
  (r.trace?.samples ?? []).forEach((x, i) => {
    sum += x;
    sumSq += x * x;
    const n = i + 1;
    const mean = sum / n;
    const se = n > 1 ? Math.sqrt(Math.max(0, (sumSq - n * mean * mean) / (n - 1)) / n) : null;
    rows.push({ method: "trace", step: n, index: 0, value: mean, residual: se });
  });
  return rows;
}

/**
 * One line on λ_max's convergence: value, iterations, relative residual against the tolerance,
 * and "UNCONVERGED" when the iteration cap stopped Lanczos first.
 */
export function convergenceLine(r: SharpnessResult): string {
  const l = r.lanczos;
  const verdict = l.convergedValues[0]
    ? "converged"
    : `UNCONVERGED (cap ${l.iterations} reached; a lower bound)`;
  return `λ_max ${r.lambdaMax.toPrecision(5)} after ${l.iterations} Lanczos iterations, ` +
    `relative residual ${l.relativeResiduals[0].toExponential(2)} (tolerance ${l.tolerance}), ` +
    `asymmetry ${(l.asymmetries[0] / Math.abs(r.lambdaMax)).toExponential(2)}: ${verdict}`;
}

/** Convergence chart: eigenvalue estimates by HVP (left), running trace ± 1 SE (right). */
export function sharpnessChart(out: SharpnessTaskResult, config: SharpnessTaskConfig): ChartSpec {
  const rows = sharpnessRows(out.result);
  const eigen = rows.filter((r) => r.method !== "trace").map((r) => ({
    ...r,
    series: r.method === "lanczos" ? `Lanczos λ${r.index + 1}` : "power iteration",
  }));
  const trace = rows.filter((r) => r.method === "trace").map((r) => ({
    ...r,
    lo: r.residual === null ? r.value : r.value - r.residual,
    hi: r.residual === null ? r.value : r.value + r.residual,
  }));
  const eigenPanel = {
    width: 320,
    height: 220,
    data: { values: eigen },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "step", type: "quantitative", title: "iteration (HVPs of that estimator)" },
      y: {
        field: "value",
        type: "quantitative",
        title: "eigenvalue estimate",
        scale: { zero: false },
      },
      color: { field: "series", type: "nominal", title: null },
    },
  };
  const tracePanel = {
    width: 320,
    height: 220,
    data: { values: trace },
    layer: [
      {
        mark: { type: "errorbar", color: "#555555" },
        encoding: {
          x: { field: "step", type: "quantitative", title: "probes" },
          y: {
            field: "lo",
            type: "quantitative",
            title: "Hutchinson trace (± 1 SE)",
            scale: { zero: false },
          },
          y2: { field: "hi" },
        },
      },
      {
        mark: { type: "line", point: true, color: "#555555" },
        encoding: {
          x: { field: "step", type: "quantitative" },
          y: { field: "value", type: "quantitative" },
        },
      },
    ],
  };
  const r = out.result;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `Sharpness of ${out.checkpoint.model} (epoch ${out.checkpoint.epoch}, ${
        out.checkpoint.optimizer || "no optimizer"
      })`,
      subtitle:
        `λ_max ${r.lambdaMax.toPrecision(5)}${
          r.lanczos.convergedValues[0] ? "" : " (UNCONVERGED)"
        }, top-${config.k} ${r.eigenvalues.map((x) => x.toPrecision(4)).join(", ")}` +
        (r.trace
          ? `, trace ${r.trace.trace.toPrecision(4)} ± ${r.trace.standardError.toPrecision(2)}`
          : "") +
        ` — ${config.examples} ${config.dataset} images, ε ${config.epsilon}, BN ${config.bn}, ${out.backend}`,
      anchor: "start",
    },
    hconcat: trace.length > 0 ? [eigenPanel, tracePanel] : [eigenPanel],
  } as ChartSpec;
}

/** The run flags of the task. */
const SHARPNESS_FLAGS = {
  "data-dir": {
    description: "folder holding the dataset files (else $LATE_SAM_DATA, Debian's, the cache)",
  },
} as const;

/** The task definition. */
export const sharpnessTask: FigureDefinition<
  typeof sharpnessTaskSchema,
  SharpnessTaskResult,
  typeof SHARPNESS_FLAGS
> = {
  name: "sharpness",
  description:
    "Measures the sharpness of a checkpoint: the top-k Hessian eigenvalues of the mean " +
    "cross-entropy over the first N unaugmented training images (Lanczos with full " +
    "reorthogonalization on finite-difference HVPs), optionally power iteration's λ_max, and " +
    "Hutchinson's trace. The checkpoint's metadata names the model. Writes <out>/sharpness/.",
  schema: sharpnessTaskSchema,
  scales: SHARPNESS_SCALES,
  defaultScale: "paper",
  positionals: ["checkpoint"],
  backend: DEFAULT_BACKEND,
  backendOf: (config) => config.backend,
  runFlags: SHARPNESS_FLAGS,
  inputFiles: (config) => ({ checkpoint: config.checkpoint }),
  seeds: (config) => ({
    root: config.seed,
    streams: {
      lanczos: `${config.seed}:sharpness/lanczos`,
      power: `${config.seed}:sharpness/power`,
      trace: `${config.seed}:sharpness/trace/<probe>`,
      dropout: `${config.seed}:sharpness/dropout/<chunk>`,
    },
  }),
  compute: computeSharpness,
  table: (out) => toCsv(SHARPNESS_COLUMNS, sharpnessRows(out.result)),
  chart: sharpnessChart,
  summary: (out) => {
    const r = out.result;
    return {
      lambdaMax: r.lambdaMax,
      eigenvalues: r.eigenvalues,
      residuals: r.lanczos.residuals,
      relativeResiduals: r.lanczos.relativeResiduals,
      asymmetries: r.lanczos.asymmetries,
      lanczosIterations: r.lanczos.iterations,
      lanczosConverged: r.lanczos.converged,
      lambdaMaxConverged: r.lanczos.convergedValues[0],
      tolerance: r.lanczos.tolerance,
      power: r.power
        ? {
          eigenvalue: r.power.eigenvalue,
          residual: r.power.residual,
          iterations: r.power.iterations,
          converged: r.power.converged,
        }
        : null,
      trace: r.trace ? r.trace.trace : null,
      traceStandardError: r.trace && r.trace.probes > 1 ? r.trace.standardError : null,
      hvps: r.hvps,
      gradientEvaluations: r.gradients,
      measureSeconds: Math.round(r.seconds * 10) / 10,
      parameters: r.operator.dim,
      examples: r.operator.examples,
      chunks: r.operator.chunks,
      checkpoint: out.checkpoint,
    };
  },
  datasets: (out) => out.datasets,
};

if (import.meta.main) await runMain(() => runFigure(sharpnessTask, Deno.args).then(() => {}));
