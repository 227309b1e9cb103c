/**
 * The run settings of each scale, shared by every network figure so that figures reuse each
 * other's runs from the sweep store (Fig. 1's SGD, SAM and late-switch runs are Fig. 3's runs
 * when the settings and T agree).
 *
 * - `smoke`: seconds per run, for CI (tiny Fashion-MNIST subsets).
 * - `small`: the reference CNN on Fashion-MNIST subsets, sized so the paper's trends show and
 *   a figure finishes in minutes on two cores.
 * - `medium`: the reference CNN with BatchNorm on 10,000 augmented Fashion-MNIST images with a
 *   decayed learning rate and 5 seeds, the paper's recipe in miniature: Figure 3 in about 40
 *   minutes on two cores (docs/results.md#medium-scale).
 * - `paper`: the authors' settings as far as the paper and their code state them (meant for a
 *   GPU backend; docs/paper.md#settings). Values neither states are listed in
 *   {@link PAPER_INFERRED}, from `reports/deviations.ts` (docs/deviations.md).
 *
 * Why the smoke and small scales differ from the paper (data, model, learning rate) is written
 * once, in `reports/deviations.ts`.
 *
 * The ST→AT sweeps of Figure 6 and the AT table have their own scales, {@link AT_SCALES}, with
 * the authors' AT semantics (one optimizer, plain cross-entropy, inputs in [0, 1]).
 *
 * @module
 */
import { DEFAULT_BACKEND } from "../core/backend.ts";
import { AUTHORS_PGD, type PgdConfig } from "../core/attack.ts";
import { inferredSettings } from "../reports/deviations.ts";
import type { RunSettings } from "./run_settings.ts";

/**
 * Smoke settings: the reference CNN on 256 Fashion-MNIST images, batches of 32, a constant
 * learning rate. ρ = 0.15 makes SAM's effect visible within the few SAM steps a smoke run
 * has (at ρ = 0.2 full SAM from initialization no longer trains on this subset).
 */
export const SMOKE_SETTINGS: RunSettings = {
  model: "cnn",
  dataset: "fashion-mnist",
  backend: DEFAULT_BACKEND,
  trainSize: 256,
  testSize: 512,
  augment: "none",
  batchSize: 32,
  lr: 0.05,
  lrSchedule: "constant",
  milestones: [],
  gamma: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  rho: 0.15,
  labelSmoothing: 0.1,
  keepMomentum: false,
};

/** Total epochs of the smoke scale (8 steps each). */
export const SMOKE_EPOCHS = 16;

/**
 * Small settings: the reference CNN on 1,000 Fashion-MNIST training images (2,000 test),
 * batches of 32 (32 steps per epoch), constant learning rate 0.05, ρ = 0.1 (why constant:
 * deviation `small-constant-lr` in `reports/deviations.ts`).
 */
export const SMALL_SETTINGS: RunSettings = {
  ...SMOKE_SETTINGS,
  trainSize: 1000,
  testSize: 2000,
  rho: 0.1,
};

/** Total epochs of the small scale (SGD reaches a training loss of about 0.02). */
export const SMALL_EPOCHS = 30;

/**
 * Medium settings (docs/results.md#medium-scale): `cnn-bn` on 10,000 Fashion-MNIST training
 * images (the full 10,000-image test set), random crops with 4-pixel padding and horizontal
 * flips (a mirrored garment, shoe or bag keeps its class), batches of 128 (79 steps per epoch),
 * learning rate 0.01 divided by 10 at epoch 30 of {@link MEDIUM_EPOCHS}, so the last quarter
 * runs at 0.001 as the paper's late phase runs at a decayed rate; ρ = 0.05, the CIFAR-10
 * radius (ρ = 0.1 made SAM underfit in the pilots). At rate 0.05 the BatchNorm model blew up
 * in its first epoch (one seed of five never recovered; PyTorch does the same).
 */
export const MEDIUM_SETTINGS: RunSettings = {
  ...SMALL_SETTINGS,
  model: "cnn-bn",
  trainSize: 10_000,
  testSize: 0,
  augment: "crop-flip",
  batchSize: 128,
  lr: 0.01,
  lrSchedule: "multistep",
  milestones: [30],
  rho: 0.05,
};

/** Total epochs of the medium scale: a 10 % late window is 4 epochs, 316 SAM steps. */
export const MEDIUM_EPOCHS = 40;

/**
 * WideResNet-16-8 on CIFAR-10 (docs/paper.md#settings). The learning rate 0.1 and weight decay
 * 5e-4 are the public SAM implementation's defaults, not the released switching script's (0.01
 * and 1e-4): inferred, listed by `--dry-run` (reports/deviations.ts, `paper-wrn-recipe`).
 */
export const PAPER_WRN_C10: RunSettings = {
  model: "wrn16-8",
  dataset: "cifar10",
  backend: "tensorflow",
  trainSize: 0,
  testSize: 0,
  augment: "crop-flip-cutout",
  batchSize: 128,
  lr: 0.1,
  lrSchedule: "wrn",
  milestones: [],
  gamma: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  rho: 0.05,
  labelSmoothing: 0.1,
  keepMomentum: false,
};

/** WRN-16-8 on CIFAR-100: as on CIFAR-10 with Foret et al.'s CIFAR-100 radius. */
export const PAPER_WRN_C100: RunSettings = { ...PAPER_WRN_C10, dataset: "cifar100", rho: 0.1 };

/** ResNet-20 on CIFAR-10 with the usual He et al. recipe (docs/paper.md#settings; inferred). */
export const PAPER_RESNET20_C10: RunSettings = {
  ...PAPER_WRN_C10,
  model: "resnet20",
  augment: "crop-flip",
  lrSchedule: "multistep",
  milestones: [80, 120],
  weightDecay: 1e-4,
};

/** VGG-16-BN on CIFAR-10 (docs/paper.md#settings: the script default model). */
export const PAPER_VGG16_C10: RunSettings = {
  ...PAPER_RESNET20_C10,
  model: "vgg16-bn",
  lr: 0.05,
  weightDecay: 5e-4,
};

/**
 * Total epochs: 200 for WRN (docs/paper.md#switching, verified for CIFAR-10), 160 otherwise
 * (inferred).
 */
export const PAPER_EPOCHS = { wrn: 200, other: 160 };

/**
 * The paper-scale values that neither the paper nor the authors' code states, with the
 * reasoning behind each choice (entries of `reports/deviations.ts`). `--dry-run` prints these
 * beside the plan.
 */
export const PAPER_INFERRED: Readonly<Record<string, string>> = inferredSettings("switch");

/** The switch epochs of the paper-scale grid for T epochs (docs/paper.md#switching, inferred). */
export function paperSwitchGrid(epochs: number): number[] {
  const grid200 = [0, 40, 80, 120, 160, 180, 190, 195, 199, 200];
  return [...new Set(grid200.map((t) => Math.round((t * epochs) / 200)))];
}

/**
 * The authors' adversarial-training semantics as run settings (`ERM_to_Adv.py`,
 * docs/paper.md#adversarial-training):
 * one optimizer whose momentum carries across the ST→AT switch, plain cross-entropy, inputs
 * in [0, 1] without normalization, PGD examples generated in eval mode.
 */
const AT_SEMANTICS = { keepMomentum: true, labelSmoothing: 0, normalize: false } as const;

/**
 * PGD of the small scale: L∞ ε = 0.1, α = ε/4, k = 10 as the authors (why not their 4/255:
 * deviation `at-epsilon-fashion-mnist` in `reports/deviations.ts`).
 */
export const FMNIST_PGD: PgdConfig = { norm: "linf", epsilon: 0.1, stepSize: 0.025, steps: 10 };

/** PGD of the smoke scale: ε = 0.1 with 3 steps of α = 0.04 (an AT step costs 4 passes). */
export const SMOKE_PGD: PgdConfig = { norm: "linf", epsilon: 0.1, stepSize: 0.04, steps: 3 };

/** One scale of the ST→AT sweep: run settings, T, seeds, and the switch epochs per task. */
export interface AtScale {
  settings: RunSettings;
  epochs: number;
  seeds: number[];
  /** Figure 6's switch epochs t (full AT and ST are always added). */
  fig6Switches: number[];
  /** The AT table's late switch epochs (a subset of Figure 6's, so it reuses its runs). */
  tableSwitches: number[];
}

/** WRN-16-8 ST→AT on CIFAR-10 with `ERM_to_Adv.py`'s defaults (see {@link PAPER_AT_INFERRED}). */
export const PAPER_AT_WRN_C10: RunSettings = {
  ...PAPER_WRN_C10,
  ...AT_SEMANTICS,
  augment: "crop-flip",
  lr: 0.01,
  lrSchedule: "wrn",
  weightDecay: 1e-4,
  pgd: { ...AUTHORS_PGD },
  robustEval: { examples: 0, epochs: "all" },
};

/** The ST→AT scales shared by `fig6` and `table-at`. */
export const AT_SCALES: Readonly<Record<"smoke" | "small" | "paper", AtScale>> = {
  smoke: {
    settings: {
      ...SMOKE_SETTINGS,
      ...AT_SEMANTICS,
      // The subset and batch the AT trends were validated with (not the SAM smoke's).
      trainSize: 512,
      batchSize: 64,
      pgd: SMOKE_PGD,
      robustEval: { examples: 500, epochs: "last" },
    },
    epochs: 5,
    seeds: [0, 1],
    fig6Switches: [4],
    tableSwitches: [4],
  },
  small: {
    settings: {
      ...SMALL_SETTINGS,
      ...AT_SEMANTICS,
      trainSize: 2000,
      testSize: 1000,
      batchSize: 128,
      lrSchedule: "constant",
      pgd: FMNIST_PGD,
      robustEval: { examples: 1000, epochs: "last" },
    },
    epochs: 6,
    seeds: [0, 1, 2],
    fig6Switches: [5, 4, 3],
    tableSwitches: [5, 4],
  },
  paper: {
    settings: PAPER_AT_WRN_C10,
    epochs: 160,
    seeds: [0, 1, 2],
    fig6Switches: [32, 64, 96, 120, 140, 150, 155, 159],
    tableSwitches: [140, 150, 155],
  },
};

/** The paper-scale AT values neither source states (`reports/deviations.ts`); `--dry-run` prints them. */
export const PAPER_AT_INFERRED: Readonly<Record<string, string>> = inferredSettings("at");
