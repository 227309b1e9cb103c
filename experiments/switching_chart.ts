/**
 * The charts of the switching figures: two rows against the focus phase's proportion, each
 * with every seed (gray) and the mean ± std over seeds (colored). Optimizer switches
 * (Figures 3, 5, `deno task switch`): gap to the full run's test error and λ_max. ST→AT
 * (Figure 6): robust-error gap to full AT and clean accuracy.
 *
 * @module
 */
import type { ChartSpec } from "../core/render.ts";
import type { PhaseOptimizer } from "../core/schedule.ts";
import { hasBatchNorm } from "../models/registry.ts";
import { proportionPanel } from "./charts.ts";
import type { MeasuredRun, SwitchFigureConfig, SwitchResult } from "./optimizer_switch.ts";
import { errorGaps, switchSummary } from "./optimizer_switch.ts";
import type { Switching } from "./switching.ts";
import {
  type AtResult,
  atSetupText,
  atSummary,
  type AtSweepConfig,
  robustGaps,
} from "./adversarial_switch.ts";

/** Optimizer names as the paper writes them. */
export const OPTIMIZER_NAMES: Record<PhaseOptimizer, string> = {
  sgd: "SGD",
  sam: "SAM",
  usam: "USAM",
  asam: "ASAM",
  at: "AT",
};

/** The focus optimizer's name, e.g. `SAM`. */
export function focusName(switching: Switching): string {
  return OPTIMIZER_NAMES[switching[switching.focus]];
}

/** The x axis: the focus phase's training proportion. */
export function proportionAxis(switching: Switching) {
  const share = switching.focus === "then" ? "(T − t)/T" : "t/T";
  return {
    field: "proportion",
    type: "quantitative",
    title: `${focusName(switching)} training proportion ${share}`,
    scale: { domain: [0, 1] },
  };
}

/** A mean ± std as a chart point of one panel. */
export function band(panel: string, proportion: number, s: { mean: number; std: number }) {
  return { panel, proportion, mean: s.mean, lo: s.mean - s.std, hi: s.mean + s.std };
}

/** Two proportion panels stacked, under a title and subtitle. */
export function twoRowChart(options: {
  title: string;
  subtitle: string[];
  x: Record<string, unknown>;
  color: string;
  seeds: Record<string, unknown>[];
  points: ReturnType<typeof band>[];
  rows: [{ panel: string; yTitle: string; zeroRule?: boolean }, {
    panel: string;
    yTitle: string;
    zeroRule?: boolean;
  }];
}): ChartSpec {
  const panel = (row: { panel: string; yTitle: string; zeroRule?: boolean }) =>
    proportionPanel({
      x: options.x,
      yTitle: row.yTitle,
      seeds: options.seeds,
      seedField: row.panel,
      points: options.points.filter((p) => p.panel === row.panel),
      color: options.color,
      zeroRule: row.zeroRule,
    });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: options.title, subtitle: options.subtitle, anchor: "start" },
    vconcat: options.rows.map(panel),
    config: { view: { stroke: "#cccccc" }, title: { subtitleFontSize: 11 } },
  } as ChartSpec;
}

/** Gap to the full focus run (top) and λ_max (bottom) against the focus proportion. */
export function optimizerSwitchChart(
  result: SwitchResult,
  config: SwitchFigureConfig,
  title: string,
): ChartSpec {
  const gaps = errorGaps(result, config.epochs);
  const points = switchSummary(result, config.epochs).flatMap((s) => [
    band("gap", s.proportion, s.gap),
    band("lambda", s.proportion, s.lambdaMax),
  ]);
  const seeds = result.runs.map((r: MeasuredRun) => ({
    proportion: r.proportion,
    lambda: r.eigenvalues[0],
    gap: gaps.get(r),
  }));
  const name = focusName(result.switching);
  return twoRowChart({
    title,
    subtitle: [
      `${config.model} on ${config.dataset} (${
        config.trainSize || "all"
      } training images), T = ${config.epochs}, ρ = ${config.rho}, lr ${config.lr} (${config.lrSchedule}); ` +
      `red: mean ± std over ${config.seeds.length} seeds, gray: each seed`,
      `λ_max: Lanczos on the plain-CE Hessian of ${config.sharpness.examples} training images` +
      (hasBatchNorm(config.model) ? ` (${config.sharpness.bnMode}-mode BatchNorm)` : "") +
      `; branching saved ${(100 * result.cost.savedFraction).toFixed(0)}% of gradient evaluations`,
    ],
    x: proportionAxis(result.switching),
    color: "#d62728",
    seeds,
    points,
    rows: [
      { panel: "gap", yTitle: `test error − full ${name}'s (%)`, zeroRule: true },
      { panel: "lambda", yTitle: "λ_max of the final model" },
    ],
  });
}

/** Robust-error gap to full AT (top) and clean accuracy (bottom) against AT's proportion. */
export function atSwitchChart(result: AtResult, config: AtSweepConfig): ChartSpec {
  const gaps = robustGaps(result, config.epochs);
  const points = atSummary(result, config.epochs).flatMap((s) => [
    band("gap", s.proportion, s.robustGap),
    band("clean", s.proportion, s.cleanAcc),
  ]);
  const seeds = result.runs.map((r) => ({
    proportion: r.proportion,
    gap: gaps.get(r),
    clean: 100 * r.cleanAcc,
  }));
  return twoRowChart({
    title:
      "Figure 6 (ST→AT): robust-accuracy gap to full AT and clean accuracy against the AT proportion",
    subtitle: [
      atSetupText(config),
      `purple: mean ± std over ${config.seeds.length} seeds, gray: each seed; branching ` +
      `from the ST runs saved ${(100 * result.cost.savedFraction).toFixed(0)}% of gradient ` +
      `evaluations`,
    ],
    x: proportionAxis(result.switching),
    color: "#9467bd",
    seeds,
    points,
    rows: [
      { panel: "gap", yTitle: "robust error − full AT's (pp)", zeroRule: true },
      { panel: "clean", yTitle: "clean test accuracy (%)" },
    ],
  });
}
