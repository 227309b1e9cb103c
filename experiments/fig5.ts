/**
 * Figure 5: SAM→SGD. For each SAM proportion t/T, the test-error gap to full SAM (top, with its
 * seed-paired 95 % t-interval), λ_max of the final model (middle, mean ± std over seeds) and the
 * share of full SAM's flatness recovered (bottom, Fieller's 95 % interval; docs/statistics.md). The paper's message: early SAM
 * barely matters; the result stays close to SGD's unless SAM lasts almost to the end.
 *
 *     deno task fig5 [--scale smoke|small|medium|paper|paper-c100|paper-resnet20|paper-vgg16]
 *                    [--authors-window] [--workers N] [--shard i/n] [--dry-run] [--FIELD VALUE ...]
 *
 * Same recipe as Figure 3 with the phases swapped: each seed's full-SAM run is the trunk
 * every switched run branches from. `--authors-window` reproduces the authors' inclusive
 * window (SAM on epochs 0…t: t + 1 SAM epochs, docs/paper.md#switching).
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
import { withSwitches } from "./switch_scales.ts";
import { optimizerSwitchChart } from "./switching_chart.ts";
import type { Switching } from "./switching.ts";

/** 1. The configs: Figure 3's settings with SAM-first switch points. */
export const FIG5_SCALES: Record<string, SwitchFigureConfig> = withSwitches((scale, T) =>
  scale === "smoke" ? [3, 4] : scale === "small" ? [3, 6, 12, 24] : scale === "medium"
    ? [4, 8, 20] // SAM shares 10 %, 20 %, 50 %: the ≤ 50 % early phases of claim (d)
    : [0, 0.2, 0.4, 0.6, 0.8].map((f) => Math.round(f * T)) // docs/paper.md#switching (inferred)
);

/**
 * 2. The runs: per seed, SAM on [0, t) (the trunk: the full-SAM run, t = T), SGD after; the x
 * axis is SAM's share t/T and every gap is to full SAM.
 */
export function fig5Switching(config: SwitchFigureConfig): Switching {
  return { first: "sam", then: "sgd", focus: "first", inclusive: config.authorsWindow };
}

/** The chart's title. */
export const FIG5_TITLE =
  "Figure 5 (SAM→SGD): test-error gap to full SAM and sharpness against the SAM proportion";

/** The Figure 5 task: 3. test error and λ_max, 4. over seeds, 5. the chart (as Figure 3). */
export const fig5Task = optimizerSwitchTask({
  name: "fig5",
  description: "Figure 5 (SAM→SGD): test-error gap to full SAM and λ_max of the final model " +
    "against the SAM proportion t/T: mean ± std over seeds, seed-paired gaps and shares with 95 " +
    "% intervals. Switched runs branch from each " +
    "seed's full-SAM run; runs shared with Figure 3 come from the sweep store.",
  schema: switchFigureSchema,
  scales: FIG5_SCALES,
  switching: fig5Switching,
  chart: (result, config) => optimizerSwitchChart(result, config, FIG5_TITLE),
});

if (import.meta.main) await runMain(() => runFigure(fig5Task, Deno.args).then(() => {}));
