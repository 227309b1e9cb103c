/**
 * Figure 6: ST→AT. For each AT proportion (T − t)/T, the robust-error gap of the switched
 * model to full AT (top, with its seed-paired 95 % t-interval), its clean test accuracy (middle,
 * mean ± std over seeds) and the share of full AT's robustness gain over ST it recovers (bottom,
 * Fieller's 95 % interval; docs/statistics.md). The
 * paper's message (docs/paper.md#adversarial-training): switching from standard to
 * adversarial training late gives robustness close to full AT.
 *
 *     deno task fig6 [--scale smoke|small|paper] [--workers N] [--shard i/n] [--dry-run]
 *                    [--FIELD VALUE ...]
 *
 * The recipe: the configs (every AT scale with Figure 6's switch epochs); the runs (each
 * seed's ST run is the trunk, AT tails branch from it, `ST_TO_AT`); the measurements (clean
 * and robust accuracy of each final model); the aggregation (mean ± std over seeds; gaps
 * and shares paired by seed, `adversarial_switch.ts`); the chart (`switching_chart.ts`). The AT table reuses
 * the runs from the shared sweep store (`<out>/sweep/`).
 *
 * @module
 */
import { runMain } from "../core/cli.ts";
import { runFigure } from "../core/figure.ts";
import { atScales, type AtSweepConfig, atTask } from "./adversarial_switch.ts";
import { atSwitchChart } from "./switching_chart.ts";

/** Named configs of Figure 6: every scale's AT settings with its proportion grid. */
export const FIG6_SCALES: Record<string, AtSweepConfig> = atScales((s) => s.fig6Switches);

/** The Figure 6 task. */
export const fig6Task = atTask({
  name: "fig6",
  description: "Figure 6 (ST→AT): robust-error gap to full adversarial training and clean " +
    "accuracy against the AT proportion (T − t)/T: mean ± std over seeds, seed-paired gaps and " +
    "shares with 95 % intervals. ST→AT runs branch " +
    "from each seed's standard-training run; runs live in the shared sweep store " +
    "(<out>/sweep/), where `deno task table-at` reuses them.",
  scales: FIG6_SCALES,
  chart: atSwitchChart,
});

if (import.meta.main) await runMain(() => runFigure(fig6Task, Deno.args).then(() => {}));
