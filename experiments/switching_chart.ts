/**
 * The charts of the switching figures: three rows against the focus phase's proportion.
 * Optimizer switches (Figures 3, 5, `deno task switch`): the gap to the full focus run's test
 * error (seed-paired, 95 % t-interval), λ_max (mean ± std, every seed in gray) and the share
 * of the full run's flatness recovered (Fieller's 95 % interval). ST→AT (Figure 6): the
 * robust-error gap to full AT, clean accuracy and the share of full AT's robustness gain.
 *
 * @module
 */
import type { ChartSpec } from "../core/render.ts";
import type { PhaseOptimizer } from "../core/schedule.ts";
import { hasBatchNorm } from "../models/registry.ts";
import { chartTitle, proportionPanel } from "./charts.ts";
import type { MeasuredRun, SwitchFigureConfig, SwitchResult } from "./optimizer_switch.ts";
import { errorGaps, switchPaired, switchSummary } from "./optimizer_switch.ts";
import type { Switching } from "./switching.ts";
import {
  atPaired,
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

/** The y range of a share panel: 0 is the p = 0 run, 1 the full focus run. */
const SHARE_DOMAIN = [-0.5, 1.5] as const;

/**
 * A paired statistic (mean with its 95 % interval) as a chart point of one panel. Without an
 * interval (one seed) the bar is empty; an unbounded bound is drawn to `edges` (the panel's
 * clipped range).
 */
export function interval(
  panel: string,
  proportion: number,
  s: { mean: number; lo: number; hi: number },
  edges: readonly [number, number] = [-Infinity, Infinity],
) {
  const clamp = (
    v: number,
  ) => (Number.isNaN(v) ? s.mean : Math.min(edges[1], Math.max(edges[0], v)));
  return { panel, proportion, mean: s.mean, lo: clamp(s.lo), hi: clamp(s.hi) };
}

/** One panel of a switching chart. */
export interface SwitchPanel {
  panel: string;
  yTitle: string;
  /** Dashed rules at these y values. */
  rules?: readonly number[];
  /** Fixed y range (marks outside are clipped). */
  yDomain?: readonly [number, number];
  /** No per-seed points in this panel. */
  noSeeds?: boolean;
}

/** Proportion panels stacked, under a title and subtitle. */
export function stackedChart(options: {
  title: string;
  subtitle: string[];
  x: Record<string, unknown>;
  color: string;
  seeds: Record<string, unknown>[];
  points: ReturnType<typeof band>[];
  rows: SwitchPanel[];
}): ChartSpec {
  const panel = (row: SwitchPanel) =>
    proportionPanel({
      x: options.x,
      yTitle: row.yTitle,
      seeds: row.noSeeds ? [] : options.seeds,
      seedField: row.panel,
      points: options.points.filter((p) => p.panel === row.panel),
      color: options.color,
      rules: row.rules,
      yDomain: row.yDomain,
    });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: chartTitle(options.title, options.subtitle, 520),
    vconcat: options.rows.map(panel),
    config: { view: { stroke: "#cccccc" }, title: { subtitleFontSize: 11 } },
  } as ChartSpec;
}

/** The subtitle line that says what the bars of a switching chart are. */
function barsLine(color: string, seeds: number, middle: string, share: string): string {
  const df = seeds > 1 ? `${seeds - 1} df` : "no interval with 1 seed";
  return `${color} bars: top, 95 % t-interval of the seed-paired gap (n = ${seeds}, ${df}); ` +
    `middle, ${middle} ± std; bottom, ${share} with Fieller's 95 % interval (bars at the ` +
    "panel's edge are unbounded: the two full runs are not separated); gray: each seed";
}

/**
 * The subtitle line that says whether every λ_max converged: Lanczos stops at the relative
 * residual `tolerance` or at the cap, and a value the cap stopped is a lower bound.
 */
export function sweepConvergenceLine(
  runs: readonly MeasuredRun[],
  sharpness: { tolerance?: number; iterations: number },
): string {
  const open = runs.filter((r) => r.lambdaConvergence && !r.lambdaConvergence.converged);
  const rule = `relative residual ≤ ${sharpness.tolerance ?? "?"} within ${sharpness.iterations} ` +
    "Lanczos iterations";
  if (open.length === 0) return `every λ_max converged (${rule})`;
  const which = open.map((r) => `seed ${r.seed} at ${r.proportion.toFixed(3)}`).join(", ");
  return `UNCONVERGED λ_max (cap reached, a lower bound) in ${open.length} of ${runs.length} ` +
    `runs: ${which} (${rule})`;
}

/**
 * Gap to the full focus run (top, seed-paired 95 % t-interval), λ_max (middle, mean ± std)
 * and the share of flatness recovered (bottom, Fieller's 95 % interval) against the focus
 * proportion.
 */
export function optimizerSwitchChart(
  result: SwitchResult,
  config: SwitchFigureConfig,
  title: string,
): ChartSpec {
  const gaps = errorGaps(result, config.epochs);
  const paired = switchPaired(result);
  const stat = (p: number, quantity: string) =>
    paired.find((s) => s.proportion === p)?.stats.find((s) => s.quantity === quantity);
  const points = switchSummary(result, config.epochs).flatMap((s) => {
    const gap = stat(s.proportion, "test_error_gap");
    const share = stat(s.proportion, "lambda_max_recovered");
    return [
      gap ? interval("gap", s.proportion, gap) : band("gap", s.proportion, s.gap),
      band("lambda", s.proportion, s.lambdaMax),
      ...(share ? [interval("share", s.proportion, share, SHARE_DOMAIN)] : []),
    ];
  });
  const seeds = result.runs.map((r: MeasuredRun) => ({
    proportion: r.proportion,
    lambda: r.eigenvalues[0],
    gap: gaps.get(r),
  }));
  const name = focusName(result.switching);
  const other =
    OPTIMIZER_NAMES[result.switching[result.switching.focus === "then" ? "first" : "then"]];
  return stackedChart({
    title,
    subtitle: [
      `${config.model} on ${config.dataset} (${
        config.trainSize || "all"
      } training images), T = ${config.epochs}, ρ = ${config.rho}, lr ${config.lr} (${config.lrSchedule})`,
      barsLine("red", config.seeds.length, "λ_max", `(λ_${other} − λ)/(λ_${other} − λ_${name})`),
      `λ_max: Lanczos on the plain-CE Hessian of ${config.sharpness.examples} training images` +
      (hasBatchNorm(config.model) ? ` (${config.sharpness.bnMode}-mode BatchNorm)` : "") +
      `; branching saved ${(100 * result.cost.savedFraction).toFixed(0)}% of gradient evaluations`,
      sweepConvergenceLine(result.runs, config.sharpness),
    ],
    x: proportionAxis(result.switching),
    color: "#d62728",
    seeds,
    points,
    rows: [
      { panel: "gap", yTitle: `test error − full ${name}'s (%)`, rules: [0] },
      { panel: "lambda", yTitle: "λ_max of the final model" },
      {
        panel: "share",
        yTitle: `share of full ${name}'s flatness recovered`,
        rules: [0, 0.5, 1],
        yDomain: SHARE_DOMAIN,
        noSeeds: true,
      },
    ],
  });
}

/**
 * Robust-error gap to full AT (top, seed-paired 95 % t-interval), clean accuracy (middle,
 * mean ± std) and the share of full AT's robustness gain over ST (bottom, Fieller's 95 %
 * interval) against AT's proportion.
 */
export function atSwitchChart(result: AtResult, config: AtSweepConfig): ChartSpec {
  const gaps = robustGaps(result, config.epochs);
  const paired = atPaired(result, config.epochs);
  const stat = (t: number, quantity: string) =>
    paired.find((s) => s.switchEpoch === t)?.stats.find((s) => s.quantity === quantity);
  const points = atSummary(result, config.epochs).flatMap((s) => {
    const gap = stat(s.switchEpoch, "robust_gap");
    const share = stat(s.switchEpoch, "robust_recovered");
    return [
      gap ? interval("gap", s.proportion, gap) : band("gap", s.proportion, s.robustGap),
      band("clean", s.proportion, s.cleanAcc),
      ...(share ? [interval("share", s.proportion, share, SHARE_DOMAIN)] : []),
    ];
  });
  const seeds = result.runs.map((r) => ({
    proportion: r.proportion,
    gap: gaps.get(r),
    clean: 100 * r.cleanAcc,
  }));
  return stackedChart({
    title:
      "Figure 6 (ST→AT): robust-accuracy gap to full AT and clean accuracy against the AT proportion",
    subtitle: [
      atSetupText(config),
      barsLine("purple", config.seeds.length, "clean accuracy", "(r − r_ST)/(r_AT − r_ST)"),
      `branching from the ST runs saved ${(100 * result.cost.savedFraction).toFixed(0)}% of ` +
      "gradient evaluations",
    ],
    x: proportionAxis(result.switching),
    color: "#9467bd",
    seeds,
    points,
    rows: [
      { panel: "gap", yTitle: "robust error − full AT's (pp)", rules: [0] },
      { panel: "clean", yTitle: "clean test accuracy (%)" },
      {
        panel: "share",
        yTitle: "share of full AT's robust gain over ST",
        rules: [0, 0.5, 1],
        yDomain: SHARE_DOMAIN,
        noSeeds: true,
      },
    ],
  });
}
