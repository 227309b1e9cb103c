/**
 * A network run's settings: model, data, augmentation, optimizer hyper-parameters, and for
 * adversarial runs the attack (docs/paper.md#settings). {@link RunSettings} are what a
 * figure's runs share; {@link SeededSettings} add the root seed and T, and are the `base` of
 * a sweep's run request (hashed into its state ids).
 *
 * Adversarial runs add three optional settings, absent from every other run (so the bases,
 * and the ids, of SGD/SAM runs are unchanged): `normalize: false` (inputs x/255 in [0, 1]),
 * `pgd` (the attack of `at` phases and of the robust evaluation) and `robustEval` (which
 * epochs are evaluated under attack, on how many test examples).
 *
 * @module
 */
import { z } from "zod";
import { BackendEnum, resolveConfigBackend } from "../core/backend.ts";
import { pgdConfigSchema } from "../core/attack.ts";
import { parseConfig } from "../core/config.ts";
import type { LrSchedule } from "../core/schedule.ts";
import {
  CIFAR_AUGMENT,
  DATASET_NAMES,
  datasetInfo,
  type DatasetName,
  NO_AUGMENT,
  WRN_AUGMENT,
} from "../data/mod.ts";
import { MODEL_NAMES } from "../models/registry.ts";

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
  backend: BackendEnum.describe(
    "tfjs backend; auto: native where its library loads, else wasm (results are bitwise " +
      "reproducible per backend)",
  ),
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
  // A run's identity names the backend that trains it: `auto` is resolved here.
  return resolveConfigBackend(parseConfig(seededSettingsSchema, { ...settings, seed, epochs }));
}

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

/** Training examples of a run (its subset, or the whole split). */
export function trainCount(settings: RunSettings): number {
  return settings.trainSize || datasetInfo(settings.dataset as DatasetName).trainCount;
}

/** Optimizer steps per epoch (the last partial batch counts). */
export function stepsPerEpoch(settings: RunSettings): number {
  return Math.ceil(trainCount(settings) / settings.batchSize);
}
