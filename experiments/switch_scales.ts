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
  PAPER_EPOCHS,
  PAPER_RESNET20_C10,
  PAPER_VGG16_C10,
  PAPER_WRN_C10,
  PAPER_WRN_C100,
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
  paper: paper(PAPER_WRN_C10, PAPER_EPOCHS.wrn),
  "paper-c100": paper(PAPER_WRN_C100, PAPER_EPOCHS.wrn),
  "paper-resnet20": paper(PAPER_RESNET20_C10, PAPER_EPOCHS.other),
  "paper-vgg16": paper(PAPER_VGG16_C10, PAPER_EPOCHS.other),
};

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
