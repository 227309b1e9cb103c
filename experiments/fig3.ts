/**
 * Figure 3: SGD→SAM. For each SAM proportion (T − t)/T, the test-error gap of the switched
 * model to full SAM (top) and its sharpness λ_max (bottom), mean ± std over seeds. The paper's
 * message: a few SAM epochs at the end give nearly full SAM's error and sharpness.
 *
 *     deno task fig3 [--scale smoke|small|paper|paper-c100|paper-resnet20|paper-vgg16]
 *                    [--workers N] [--shard i/n] [--dry-run] [--FIELD VALUE ...]
 *
 * Each seed's SGD run is the trunk every switched run branches from (SPEC §3.3).
 *
 * @module
 */
import { runMain } from "../core/cli.ts";
import { runFigure } from "../core/figure.ts";
import {
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
import {
  PAPER_SHARPNESS,
  SWEEP_SHARPNESS,
  type SwitchFigureConfig,
  switchTask,
} from "./switch_sweep.ts";

const paper = (settings: typeof PAPER_WRN_C10, epochs: number): SwitchFigureConfig => ({
  ...settings,
  epochs,
  seeds: [0, 1, 2],
  switches: paperSwitchGrid(epochs),
  authorsWindow: false,
  sharpness: PAPER_SHARPNESS,
});

/** Named configs of Figure 3. */
export const FIG3_SCALES: Record<string, SwitchFigureConfig> = {
  smoke: {
    ...SMOKE_SETTINGS,
    epochs: SMOKE_EPOCHS,
    seeds: [0, 1],
    switches: [13, 12],
    authorsWindow: false,
    sharpness: { ...SWEEP_SHARPNESS, examples: 128, iterations: 8 },
  },
  small: {
    ...SMALL_SETTINGS,
    epochs: SMALL_EPOCHS,
    seeds: [0, 1, 2],
    switches: [27, 24, 18],
    authorsWindow: false,
    sharpness: SWEEP_SHARPNESS,
  },
  paper: paper(PAPER_WRN_C10, PAPER_EPOCHS.wrn),
  "paper-c100": paper(PAPER_WRN_C100, PAPER_EPOCHS.wrn),
  "paper-resnet20": paper(PAPER_RESNET20_C10, PAPER_EPOCHS.other),
  "paper-vgg16": paper(PAPER_VGG16_C10, PAPER_EPOCHS.other),
};

/** The Figure 3 task. */
export const fig3Task = switchTask({
  name: "fig3",
  direction: "sgd-to-sam",
  description: "Figure 3 (SGD→SAM): test-error gap to full SAM and λ_max of the final model " +
    "against the SAM proportion (T − t)/T, mean ± std over seeds. Switched runs branch from " +
    "each seed's SGD run; runs and measurements live in the shared sweep store (<out>/sweep/).",
  title: "Figure 3 (SGD→SAM): test-error gap to full SAM and sharpness against the SAM proportion",
  scales: FIG3_SCALES,
});

if (import.meta.main) await runMain(() => runFigure(fig3Task, Deno.args).then(() => {}));
