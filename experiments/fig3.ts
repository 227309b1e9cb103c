/**
 * Figure 3: SGD→SAM. For each SAM proportion (T − t)/T, the test-error gap of the switched
 * model to full SAM of the same seed (top, with its 95 % t-interval over seeds), its sharpness
 * λ_max (middle, mean ± std over seeds) and the share of full SAM's flatness it recovers
 * (bottom, Fieller's 95 % interval; docs/statistics.md). The paper's message: a few SAM epochs
 * at the end give nearly full SAM's error and sharpness.
 *
 *     deno task fig3 [--scale smoke|small|medium|paper|paper-c100|paper-resnet20|paper-vgg16]
 *                    [--workers N] [--shard i/n] [--dry-run] [--FIELD VALUE ...]
 *
 * The recipe, top to bottom: the configs of each scale; the runs (each seed's SGD run is the
 * trunk, and a SAM tail branches from it at every switch epoch t, docs/paper.md#switching);
 * the measurements of every final model (test error, λ_max); the aggregation (mean ± std over
 * seeds per proportion, and the seed-paired gaps and shares with their intervals); the chart (`switching_chart.ts`). The sweep store,
 * workers, shards and resuming are `sweep.ts`'s; the switch itself is `switching.ts`'s
 * `switchPhases`; SAM's step is `core/optim/step.ts`.
 *
 * @module
 */
import { runMain } from "../core/cli.ts";
import { runFigure } from "../core/figure.ts";
import {
  optimizerSwitchTask,
  type SwitchFigureConfig,
  switchFigureSchema,
} from "./optimizer_switch.ts";
import { lateSwitches, withSwitches } from "./switch_scales.ts";
import { optimizerSwitchChart } from "./switching_chart.ts";
import type { Switching } from "./switching.ts";

/** 1. The configs of each scale: the shared settings (`switch_scales.ts`) and late switches. */
export const FIG3_SCALES: Record<string, SwitchFigureConfig> = withSwitches(lateSwitches);

/**
 * 2. The runs: per seed, SGD on [0, t) (the trunk: the full-SGD run, t = T) and SAM on
 * [t, T) (the tails); the x axis is SAM's share (T − t)/T and every gap is to full SAM (t = 0).
 */
export const FIG3_SWITCHING: Switching = { first: "sgd", then: "sam", focus: "then" };

/** The chart's title. */
export const FIG3_TITLE =
  "Figure 3 (SGD→SAM): test-error gap to full SAM and sharpness against the SAM proportion";

/**
 * The Figure 3 task. 3. The measurements: each final model's test error (last epoch) and
 * λ_max (`measure_specs.ts`'s `sharpness`). 4. The aggregation: mean ± std over seeds per
 * proportion and the seed-paired comparisons (`optimizer_switch.ts`). 5. The chart: gap on top,
 * λ_max, then the share of flatness recovered.
 */
export const fig3Task = optimizerSwitchTask({
  name: "fig3",
  description: "Figure 3 (SGD→SAM): test-error gap to full SAM and λ_max of the final model " +
    "against the SAM proportion (T − t)/T: mean ± std over seeds, seed-paired gaps and shares " +
    "with 95 % intervals. Switched runs branch from " +
    "each seed's SGD run; runs and measurements live in the shared sweep store (<out>/sweep/).",
  schema: switchFigureSchema,
  scales: FIG3_SCALES,
  switching: () => FIG3_SWITCHING,
  chart: (result, config) => optimizerSwitchChart(result, config, FIG3_TITLE),
});

if (import.meta.main) await runMain(() => runFigure(fig3Task, Deno.args).then(() => {}));
