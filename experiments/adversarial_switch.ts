/**
 * Switching from standard to adversarial training (Figure 6 and the AT table,
 * docs/paper.md#adversarial-training): standard training (ST, plain SGD on clean inputs) on
 * [0, t), adversarial training (AT, SGD on PGD examples) on [t, T). What is measured on each
 * final model is its clean and robust (PGD, no random start, eval mode) test accuracy, read
 * from its last epoch; the aggregation is mean ± std over seeds per switch epoch, with the
 * robust-error gap to full AT, and the seed-paired comparisons with ST and full AT with their
 * 95 % intervals (`paired.ts`, docs/statistics.md).
 *
 * The authors' AT semantics (`ERM_to_Adv.py`) are run settings: one optimizer whose momentum
 * carries across the switch (`keepMomentum: true`), plain cross-entropy (`labelSmoothing:
 * 0`), inputs in [0, 1] (`normalize: false`), and `pgd` / `robustEval` for the attack.
 *
 * @module
 */
import { z } from "zod";
import { toCsv } from "../core/csv.ts";
import type { FigureContext, FigureDefinition } from "../core/figure.ts";
import type { ChartSpec } from "../core/render.ts";
import { AT_SCALES, type AtScale, PAPER_AT_INFERRED } from "./settings.ts";
import { type MeanStd, meanStd } from "../core/stats.ts";
import {
  bySeed,
  PAIRED_COLUMNS,
  pairedDiff,
  pairedRow,
  pairedShare,
  type PairedStat,
} from "./paired.ts";
import { SWEEP_TASK_DEFAULTS, type SweepRunFlags } from "./sweep.ts";
import {
  gapsToFull,
  overSeeds,
  runSwitching,
  switchesWithinT,
  type Switching,
  type SwitchingResult,
  type SwitchingRun,
  switchingShape,
} from "./switching.ts";

/** ST→AT: each seed's ST run is the trunk; AT's share (T − t)/T is the x axis. */
export const ST_TO_AT: Switching = { first: "sgd", then: "at", focus: "then" };

/** Config of an ST→AT figure or table. */
export const atSweepSchema = switchesWithinT(z.strictObject(switchingShape)).refine(
  (c) => c.pgd !== undefined,
  { message: "an adversarial sweep needs a pgd attack", path: ["pgd"] },
).refine((c) => c.robustEval !== undefined, {
  message: "an adversarial sweep needs robustEval (the robust test metrics)",
  path: ["robustEval"],
});

/** A validated ST→AT config. */
export type AtSweepConfig = z.output<typeof atSweepSchema>;

/** A run's label in tables: `ST`, `full AT`, or `ST→AT at t`. */
export function atRunLabel(t: number, epochs: number): string {
  return t === epochs ? "ST" : t === 0 ? "full AT" : `ST→AT at ${t}`;
}

/** A final model's clean and robust test metrics (accuracies as fractions in [0, 1]). */
export interface AtRun extends SwitchingRun {
  cleanAcc: number;
  cleanLoss: number;
  robustAcc: number;
  robustLoss: number;
  trainLoss: number;
}

/** What an ST→AT sweep computes. */
export interface AtResult extends Omit<SwitchingResult, "runs"> {
  runs: AtRun[];
}

/**
 * Trains the sweep and reads each final model's clean and robust accuracy.
 *
 * @throws {Error} when a run's last epoch has no robust metrics (robustEval is off for it).
 */
export async function measureAt(
  config: AtSweepConfig,
  context: FigureContext<SweepRunFlags>,
  label: string,
): Promise<AtResult> {
  const result = await runSwitching(ST_TO_AT, config, context, {
    label,
    inferred: PAPER_AT_INFERRED,
  });
  const runs = result.runs.map((r) => {
    const { robustAcc, robustLoss } = r.last;
    if (robustAcc === undefined || robustLoss === undefined) {
      throw new Error(`run ${r.id.slice(0, 12)} has no robust metrics at its last epoch`);
    }
    return {
      ...r,
      cleanAcc: r.last.testAcc,
      cleanLoss: r.last.testLoss,
      robustAcc,
      robustLoss,
      trainLoss: r.last.trainLoss,
    };
  });
  return { ...result, runs };
}

/**
 * Robust-error gap of each run to full AT of the same seed, in percentage points:
 * `100·(robustAcc(full AT) − robustAcc(run))` (positive: less robust than full AT).
 */
export function robustGaps(result: AtResult, epochs: number): Map<AtRun, number> {
  return gapsToFull(result, epochs, (r, full) => 100 * (full.robustAcc - r.robustAcc));
}

/** Mean ± std over seeds of one switch epoch (accuracies in %). */
export interface AtSummary {
  switchEpoch: number;
  proportion: number;
  atEpochs: number;
  label: string;
  cleanAcc: MeanStd;
  robustAcc: MeanStd;
  robustGap: MeanStd;
}

/** Mean ± std over seeds per switch epoch, from full AT (proportion 1) to ST (0). */
export function atSummary(result: AtResult, epochs: number): AtSummary[] {
  const gap = robustGaps(result, epochs);
  return overSeeds(result.runs, (r) => r.switchEpoch).map(([t, runs]) => ({
    switchEpoch: t,
    proportion: runs[0].proportion,
    atEpochs: runs[0].focusEpochs,
    label: atRunLabel(t, epochs),
    cleanAcc: meanStd(runs.map((r) => 100 * r.cleanAcc)),
    robustAcc: meanStd(runs.map((r) => 100 * r.robustAcc)),
    robustGap: meanStd(runs.map((r) => gap.get(r)!)),
  }));
}

/** One switch epoch's paired comparisons with ST and full AT of each seed. */
export interface AtPaired {
  switchEpoch: number;
  proportion: number;
  atEpochs: number;
  label: string;
  stats: PairedStat[];
}

/**
 * Per switch epoch other than full AT, the seed-paired comparisons of robust accuracy (%)
 * with the seed's ST run and full-AT run: `robust_gap` (full AT − the run, pp; for ST it is
 * full AT's gain over ST) with its 95 % t-interval, and for the ST→AT runs `robust_gain`
 * (the run − ST, pp; t-interval) and `robust_recovered` ((r − r_ST)/(r_AT − r_ST), the share of
 * full AT's gain over ST; Fieller's 95 % interval).
 */
export function atPaired(result: AtResult, epochs: number): AtPaired[] {
  const groups = overSeeds(result.runs, (r) => r.switchEpoch);
  const robust = (t: number) =>
    bySeed(groups.find(([s]) => s === t)?.[1] ?? [], (r) => 100 * r.robustAcc);
  const [st, full] = [robust(epochs), robust(0)];
  return groups.filter(([t]) => t > 0).map(([t, runs]) => ({
    switchEpoch: t,
    proportion: runs[0].proportion,
    atEpochs: runs[0].focusEpochs,
    label: atRunLabel(t, epochs),
    stats: [
      pairedDiff("robust_gap", [full, robust(t)], (a, r) => a - r),
      ...(t < epochs
        ? [
          pairedDiff("robust_gain", [robust(t), st], (r, s) => r - s),
          pairedShare("robust_recovered", robust(t), st, full),
        ]
        : []),
    ],
  }));
}

const COLUMNS = [
  "kind",
  "label",
  "proportion",
  "switch_epoch",
  "at_epochs",
  "seed",
  "n",
  "clean_acc",
  "clean_acc_std",
  "robust_acc",
  "robust_acc_std",
  "robust_gap",
  "robust_gap_std",
  "clean_loss",
  "robust_loss",
  "train_loss",
  "run",
  ...PAIRED_COLUMNS,
] as const;

/**
 * `data.csv` of Figure 6 and the AT table: one row per run (`kind = run`), one row per switch
 * epoch with the mean and sample std over seeds (`kind = mean`), then the paired rows
 * ({@link atPaired}; `kind = paired` with `quantity`, `n`, `mean`, `lo`, `hi`). Accuracies in
 * %, `robust_gap` = full AT's robust accuracy − the run's, in percentage points.
 */
export function atTable(result: AtResult, epochs: number): string {
  const gap = robustGaps(result, epochs);
  const runRows = result.runs.map((r) => ({
    kind: "run",
    label: atRunLabel(r.switchEpoch, epochs),
    proportion: r.proportion,
    switch_epoch: r.switchEpoch,
    at_epochs: r.focusEpochs,
    seed: r.seed,
    clean_acc: 100 * r.cleanAcc,
    robust_acc: 100 * r.robustAcc,
    robust_gap: gap.get(r),
    clean_loss: r.cleanLoss,
    robust_loss: r.robustLoss,
    train_loss: r.trainLoss,
    run: r.id,
  }));
  const meanRows = atSummary(result, epochs).map((s) => ({
    kind: "mean",
    label: s.label,
    proportion: s.proportion,
    switch_epoch: s.switchEpoch,
    at_epochs: s.atEpochs,
    n: s.cleanAcc.n,
    clean_acc: s.cleanAcc.mean,
    clean_acc_std: s.cleanAcc.std,
    robust_acc: s.robustAcc.mean,
    robust_acc_std: s.robustAcc.std,
    robust_gap: s.robustGap.mean,
    robust_gap_std: s.robustGap.std,
  }));
  const pairedRows = atPaired(result, epochs).flatMap((p) =>
    p.stats.map((stat) =>
      pairedRow(stat, {
        label: p.label,
        proportion: p.proportion,
        switch_epoch: p.switchEpoch,
        at_epochs: p.atEpochs,
      })
    )
  );
  return toCsv(COLUMNS, [...runRows, ...meanRows, ...pairedRows]);
}

/** The attack and training setup in words, for chart subtitles. */
export function atSetupText(config: AtSweepConfig): string {
  const pgd = config.pgd!;
  const eps = pgd.norm === "linf" ? `L∞ ε = ${fmtEps(pgd.epsilon)}` : `L2 ε = ${pgd.epsilon}`;
  const alpha = pgd.norm === "linf" ? fmtEps(pgd.stepSize) : String(pgd.stepSize);
  const examples = config.robustEval!.examples || "all";
  return `${config.model} on ${config.dataset} (${config.trainSize || "all"} training images, ` +
    `inputs in [0, 1]), T = ${config.epochs}, lr ${config.lr} (${config.lrSchedule}); ` +
    `PGD-${pgd.steps} ${eps}, α = ${alpha}; robust accuracy on ${examples} test images`;
}

/** ε as a multiple of 1/255 when it is one (4/255), else as a decimal. */
function fmtEps(value: number): string {
  const k = value * 255;
  return Math.abs(k - Math.round(k)) < 1e-9 ? `${Math.round(k)}/255` : String(value);
}

/** Every AT scale's settings, with the switch epochs `switches` picks (Figure 6's or the table's). */
export function atScales(switches: (scale: AtScale) => number[]): Record<string, AtSweepConfig> {
  return Object.fromEntries(
    Object.entries(AT_SCALES).map(([scale, s]) => [
      scale,
      { ...s.settings, epochs: s.epochs, seeds: s.seeds, switches: switches(s) },
    ]),
  );
}

/**
 * The task of an ST→AT figure: Figure 6 and the AT table differ only in name, description,
 * switch epochs and chart.
 */
export function atTask(options: {
  name: string;
  description: string;
  scales: Record<string, AtSweepConfig>;
  chart: (result: AtResult, config: AtSweepConfig) => ChartSpec;
}): FigureDefinition<typeof atSweepSchema, AtResult, SweepRunFlags> {
  return {
    name: options.name,
    description: options.description,
    schema: atSweepSchema,
    scales: options.scales,
    ...SWEEP_TASK_DEFAULTS,
    seeds: (config) => ({
      roots: config.seeds,
      streams: {
        init: "<seed>:init",
        data: "<seed>:epoch/<e>/shuffle and <seed>:epoch/<e>/augment",
        attack: "<seed>:epoch/<e>/attack/<step> (PGD random start of each AT step)",
      },
    }),
    compute: (config, context) => measureAt(config, context, options.name),
    table: (result, config) => atTable(result, config.epochs),
    chart: options.chart,
    summary: (result, config) => ({
      perRun: atSummary(result, config.epochs).map((s) => ({
        label: s.label,
        proportion: s.proportion,
        cleanAcc: s.cleanAcc.mean,
        robustAcc: s.robustAcc.mean,
        robustGap: s.robustGap.mean,
      })),
      gradientEvaluations: result.cost,
    }),
    datasets: (result) => result.datasets,
  };
}
