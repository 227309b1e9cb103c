/**
 * Figure 6: ST→AT. For each AT proportion (T − t)/T, the robust-error gap of the switched
 * model to full AT (top) and its clean test accuracy (bottom), mean ± std over seeds. The
 * paper's message (SPEC §8): switching from standard to adversarial training late gives
 * robustness close to full AT.
 *
 *     deno task fig6 [--scale smoke|small|paper] [--workers N] [--shard i/n] [--dry-run]
 *                    [--FIELD VALUE ...]
 *
 * Each seed's ST run is the trunk every ST→AT run branches from; runs live in the shared
 * sweep store (`<out>/sweep/`), where the AT table reuses them.
 *
 * @module
 */
import { proportionPanel } from "./charts.ts";
import { runMain } from "../core/cli.ts";
import { runFigure } from "../core/figure.ts";
import type { ChartSpec } from "../core/render.ts";
import {
  type AtResult,
  atScales,
  atSetupText,
  atSummary,
  type AtSweepConfig,
  atTask,
  robustGaps,
} from "./at_sweep.ts";

/** Named configs of Figure 6: every scale's AT settings with its proportion grid. */
export const FIG6_SCALES: Record<string, AtSweepConfig> = atScales((s) => s.fig6Switches);

/** The two-row chart: robust-error gap to full AT (top), clean accuracy (bottom). */
export function fig6Chart(result: AtResult, config: AtSweepConfig): ChartSpec {
  const summary = atSummary(result, config.epochs);
  const gaps = robustGaps(result);
  const points = summary.flatMap((s) => [
    { panel: "gap", proportion: s.proportion, ...band(s.robustGap.mean, s.robustGap.std) },
    { panel: "clean", proportion: s.proportion, ...band(s.cleanAcc.mean, s.cleanAcc.std) },
  ]);
  const seeds = result.runs.map((r) => ({
    proportion: r.proportion,
    gap: gaps.get(r),
    clean: 100 * r.cleanAcc,
  }));
  const x = {
    field: "proportion",
    type: "quantitative",
    title: "AT training proportion (T − t)/T",
    scale: { domain: [0, 1] },
  };
  const panel = (name: "gap" | "clean", yTitle: string) =>
    proportionPanel({
      x,
      yTitle,
      seeds,
      seedField: name,
      points: points.filter((p) => p.panel === name),
      color: "#9467bd",
      zeroRule: name === "gap",
    });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text:
        "Figure 6 (ST→AT): robust-accuracy gap to full AT and clean accuracy against the AT proportion",
      subtitle: [
        atSetupText(config),
        `purple: mean ± std over ${config.seeds.length} seeds, gray: each seed; branching ` +
        `from the ST runs saved ${(100 * result.cost.savedFraction).toFixed(0)}% of gradient ` +
        `evaluations`,
      ],
      anchor: "start",
    },
    vconcat: [
      panel("gap", "robust error − full AT's (pp)"),
      panel("clean", "clean test accuracy (%)"),
    ],
    config: { view: { stroke: "#cccccc" }, title: { subtitleFontSize: 11 } },
  } as ChartSpec;
}

function band(mean: number, std: number) {
  return { mean, lo: mean - std, hi: mean + std };
}

/** The Figure 6 task. */
export const fig6Task = atTask({
  name: "fig6",
  description: "Figure 6 (ST→AT): robust-error gap to full adversarial training and clean " +
    "accuracy against the AT proportion (T − t)/T, mean ± std over seeds. ST→AT runs branch " +
    "from each seed's standard-training run; runs live in the shared sweep store " +
    "(<out>/sweep/), where `deno task table-at` reuses them.",
  scales: FIG6_SCALES,
  chart: fig6Chart,
});

if (import.meta.main) await runMain(() => runFigure(fig6Task, Deno.args).then(() => {}));
