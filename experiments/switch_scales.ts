/**
 * The scales shared by the optimizer-switching figures (Figures 3 and 5, `deno task switch`):
 * per scale the run settings, T, seeds and sharpness settings; each figure adds its switch
 * epochs.
 *
 * @module
 */
import type { SwitchFigureConfig } from "./optimizer_switch.ts";
import { PAPER_SHARPNESS, SWEEP_SHARPNESS } from "./optimizer_switch.ts";
import {
  MEDIUM_EPOCHS,
  MEDIUM_SETTINGS,
  PAPER_EPOCHS,
  PAPER_RESNET20_C10,
  PAPER_VGG16_C10,
  PAPER_WRN_C10,
  PAPER_WRN_C100,
  paperSwitchGrid,
  SMALL_EPOCHS,
  SMALL_SETTINGS,
  SMOKE_EPOCHS,
  SMOKE_SETTINGS,
} from "./settings.ts";

/** A scale's config without its switch epochs. */
export type SwitchScale = Omit<SwitchFigureConfig, "switches">;

const paper = (settings: typeof PAPER_WRN_C10, epochs: number): SwitchScale => ({
  ...settings,
  epochs,
  seeds: [0, 1, 2],
  authorsWindow: false,
  sharpness: PAPER_SHARPNESS,
});

/** Every scale of the optimizer-switching figures, without switch epochs. */
export const SWITCH_SCALES: Readonly<Record<string, SwitchScale>> = {
  smoke: {
    ...SMOKE_SETTINGS,
    epochs: SMOKE_EPOCHS,
    seeds: [0, 1],
    authorsWindow: false,
    // Lanczos cap: 15 iterations reached tolerance on a smoke SGD model (docs/sharpness.md).
    sharpness: { ...SWEEP_SHARPNESS, examples: 128, iterations: 20 },
  },
  small: {
    ...SMALL_SETTINGS,
    epochs: SMALL_EPOCHS,
    seeds: [0, 1, 2],
    authorsWindow: false,
    // Lanczos cap: the small models needed 12–24 iterations for both values to reach the
    // tolerance (docs/sharpness.md), so 40 converges with room.
    sharpness: { ...SWEEP_SHARPNESS, iterations: 40 },
  },
  medium: {
    ...MEDIUM_SETTINGS,
    epochs: MEDIUM_EPOCHS,
    seeds: [0, 1, 2, 3, 4],
    authorsWindow: false,
    // 2,000 images as the floor for λ_max; ε = 0.1 as on the BatchNorm paper models
    // (docs/sharpness.md: smaller steps drown in train-mode BatchNorm's float32 noise).
    sharpness: { ...SWEEP_SHARPNESS, examples: 2000, iterations: 40, epsilon: 0.1 },
  },
  paper: paper(PAPER_WRN_C10, PAPER_EPOCHS.wrn),
  "paper-c100": paper(PAPER_WRN_C100, PAPER_EPOCHS.wrn),
  "paper-resnet20": paper(PAPER_RESNET20_C10, PAPER_EPOCHS.other),
  "paper-vgg16": paper(PAPER_VGG16_C10, PAPER_EPOCHS.other),
};

/**
 * The late SGD→SAM switch epochs of each scale (Figure 3 and `deno task switch`): SAM
 * proportions 0.1–0.2 at smoke, 0.1/0.2/0.4 at small and medium, the paper's grid otherwise.
 */
export function lateSwitches(scale: string, epochs: number): number[] {
  if (scale === "smoke") return [13, 12];
  if (scale === "small" || scale === "medium") {
    return [0.1, 0.2, 0.4].map((share) => Math.round(epochs * (1 - share)));
  }
  return paperSwitchGrid(epochs);
}

/** Every scale with the switch epochs `switches(scale name, T)`. */
export function withSwitches(
  switches: (scale: string, epochs: number) => number[],
): Record<string, SwitchFigureConfig> {
  return Object.fromEntries(
    Object.entries(SWITCH_SCALES).map(([name, s]) => [
      name,
      { ...s, switches: switches(name, s.epochs) },
    ]),
  );
}
