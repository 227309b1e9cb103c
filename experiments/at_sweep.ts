/**
 * The standard→adversarial switching sweep behind Figure 6 and the AT table (SPEC §8): for
 * every seed and switch epoch t, one run with standard training (ST, plain SGD on clean
 * inputs) on [0, t) and adversarial training (AT, SGD on PGD examples) on [t, T), plus pure
 * ST (t = T) and full AT (t = 0); for every final model its clean and robust (PGD, no random
 * start, eval mode) test accuracy, and its robust-error gap to full AT of the same seed.
 *
 * AT proportion = (T − t)/T. Every ST→AT run of a seed branches from that seed's ST run
 * (SPEC §3.3: the authors' per-epoch reseeding makes the ST trunk a shared prefix), through
 * the same content-addressed sweep store as every other figure.
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
import { switchAt } from "../core/schedule.ts";
import { planSweep, type RunRequest } from "../core/sweep/plan.ts";
import { RUN_COSTS, runBase, runData, runSettingsOf, runSettingsShape } from "./runs.ts";
import { groupBy, type MeanStd, meanStd } from "./stats.ts";
import { AT_SCALES, type AtScale, PAPER_AT_INFERRED } from "./settings.ts";
import {
  executeSweep,
  runRecords,
  SWEEP_TASK_DEFAULTS,
  type SweepOutcome,
  switchEpochs,
} from "./sweep.ts";

/** Config of an ST→AT figure or table. */
export const atSweepSchema = z.strictObject({
  ...runSettingsShape,
  epochs: z.number().int().positive().describe("total epochs T"),
  seeds: z.array(z.number().int().nonnegative()).min(1).describe("root seeds"),
  switches: z.array(z.number().int().nonnegative()).min(1).describe(
    "ST→AT switch epochs t: ST on [0, t), AT on [t, T) (pure ST and full AT always included)",
  ),
}).refine((c) => c.switches.every((t) => t <= c.epochs), {
  message: "every switch epoch must be at most epochs",
  path: ["switches"],
}).refine((c) => c.pgd !== undefined, {
  message: "an adversarial sweep needs a pgd attack",
  path: ["pgd"],
}).refine((c) => c.robustEval !== undefined, {
  message: "an adversarial sweep needs robustEval (the robust test metrics)",
  path: ["robustEval"],
});

/** A validated ST→AT sweep config. */
export type AtSweepConfig = z.output<typeof atSweepSchema>;

/** The AT proportion (T − t)/T of a switch at t. */
export function atProportion(t: number, epochs: number): number {
  return (epochs - t) / epochs;
}

/** A run's label in tables: `ST`, `full AT`, or `ST→AT at t`. */
export function atRunLabel(t: number, epochs: number): string {
  return t === epochs ? "ST" : t === 0 ? "full AT" : `ST→AT at ${t}`;
}

/** Every (seed, t) run of the sweep. */
export function atRuns(config: AtSweepConfig): { seed: number; t: number; run: RunRequest }[] {
  const settings = runSettingsOf(config);
  const T = config.epochs;
  return config.seeds.flatMap((seed) =>
    switchEpochs(config).map((t) => ({
      seed,
      t,
      run: {
        base: runBase(settings, seed, T),
        epochs: T,
        phases: switchAt({ first: "sgd", then: "at", at: t, epochs: T }),
      },
    }))
  );
}

/** One run's final numbers (accuracies as fractions in [0, 1]). */
export interface AtRun {
  seed: number;
  switchEpoch: number;
  proportion: number;
  atEpochs: number;
  run: string;
  cleanAcc: number;
  cleanLoss: number;
  robustAcc: number;
  robustLoss: number;
  trainLoss: number;
}

/** What an ST→AT sweep computes. */
export interface AtResult {
  runs: AtRun[];
  cost: SweepOutcome["cost"];
  datasets: Record<string, string>;
}

/**
 * Plans, executes and collects the sweep (runs only the switch epochs given, plus ST and
 * full AT), labelled `label` in progress lines and dry runs.
 *
 * @throws {Error} when a run's last epoch has no robust metrics (robustEval is off for it).
 */
export async function computeAtSweep(
  config: AtSweepConfig,
  context: FigureContext,
  options: { label: string; inferred?: Readonly<Record<string, string>> },
): Promise<AtResult> {
  const requested = atRuns(config);
  const plan = planSweep({ runs: requested.map((r) => r.run) }, RUN_COSTS);
  const outcome = await executeSweep(plan, context, options);
  const runs: AtRun[] = [];
  for (const [i, r] of requested.entries()) {
    const records = await runRecords(outcome, plan.runs[i]);
    const last = records[records.length - 1];
    if (last.robustAcc === undefined || last.robustLoss === undefined) {
      throw new Error(`run ${plan.runs[i].slice(0, 12)} has no robust metrics at its last epoch`);
    }
    runs.push({
      seed: r.seed,
      switchEpoch: r.t,
      proportion: atProportion(r.t, config.epochs),
      atEpochs: config.epochs - r.t,
      run: plan.runs[i],
      cleanAcc: last.testAcc,
      cleanLoss: last.testLoss,
      robustAcc: last.robustAcc,
      robustLoss: last.robustLoss,
      trainLoss: last.trainLoss,
    });
  }
  const data = await runData(runSettingsOf(config), context.run["data-dir"]);
  return { runs, cost: outcome.cost, datasets: data.files };
}

/**
 * Robust-error gap of each run to full AT of the same seed, in percentage points:
 * `100·(robustAcc(full AT) − robustAcc(run))` (positive: less robust than full AT).
 */
export function robustGaps(result: AtResult): Map<AtRun, number> {
  const out = new Map<AtRun, number>();
  for (const runs of groupBy(result.runs, (r) => r.seed).values()) {
    const full = runs.find((r) => r.switchEpoch === 0);
    for (const r of runs) out.set(r, full ? 100 * (full.robustAcc - r.robustAcc) : NaN);
  }
  return out;
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
  const gap = robustGaps(result);
  return [...groupBy(result.runs, (r) => r.switchEpoch)].sort(([a], [b]) => a - b).map((
    [t, runs],
  ) => ({
    switchEpoch: t,
    proportion: runs[0].proportion,
    atEpochs: runs[0].atEpochs,
    label: atRunLabel(t, epochs),
    cleanAcc: meanStd(runs.map((r) => 100 * r.cleanAcc)),
    robustAcc: meanStd(runs.map((r) => 100 * r.robustAcc)),
    robustGap: meanStd(runs.map((r) => gap.get(r)!)),
  }));
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
] as const;

/**
 * `data.csv` of Figure 6 and the AT table: one row per run (`kind = run`), then one row per
 * switch epoch with the mean and sample std over seeds (`kind = mean`). Accuracies in %,
 * `robust_gap` = full AT's robust accuracy − the run's, in percentage points.
 */
export function atTable(result: AtResult, epochs: number): string {
  const gap = robustGaps(result);
  const runRows = result.runs.map((r) => ({
    kind: "run",
    label: atRunLabel(r.switchEpoch, epochs),
    proportion: r.proportion,
    switch_epoch: r.switchEpoch,
    at_epochs: r.atEpochs,
    seed: r.seed,
    clean_acc: 100 * r.cleanAcc,
    robust_acc: 100 * r.robustAcc,
    robust_gap: gap.get(r),
    clean_loss: r.cleanLoss,
    robust_loss: r.robustLoss,
    train_loss: r.trainLoss,
    run: r.run,
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
  return toCsv(COLUMNS, [...runRows, ...meanRows]);
}

/** Headline numbers: per switch epoch, mean clean and robust accuracy (%) and the gap. */
export function atHeadline(result: AtResult, epochs: number) {
  return {
    perRun: atSummary(result, epochs).map((s) => ({
      label: s.label,
      proportion: s.proportion,
      cleanAcc: s.cleanAcc.mean,
      robustAcc: s.robustAcc.mean,
      robustGap: s.robustGap.mean,
    })),
    gradientEvaluations: result.cost,
  };
}

/** The manifest's seeds and streams of an ST→AT sweep. */
export function atSeeds(config: AtSweepConfig) {
  return {
    roots: config.seeds,
    streams: {
      init: "<seed>:init",
      data: "<seed>:epoch/<e>/shuffle and <seed>:epoch/<e>/augment",
      attack: "<seed>:epoch/<e>/attack/<step> (PGD random start of each AT step)",
    },
  };
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
 * The task definition of an ST→AT figure: Figure 6 and the AT table differ only in name,
 * description, switch epochs and chart.
 */
export function atTask(options: {
  name: string;
  description: string;
  scales: Record<string, AtSweepConfig>;
  chart: (result: AtResult, config: AtSweepConfig) => ChartSpec;
}): FigureDefinition<typeof atSweepSchema, AtResult> {
  return {
    name: options.name,
    description: options.description,
    schema: atSweepSchema,
    scales: options.scales,
    ...SWEEP_TASK_DEFAULTS,
    seeds: atSeeds,
    compute: (config, context) =>
      computeAtSweep(config, context, { label: options.name, inferred: PAPER_AT_INFERRED }),
    table: (result, config) => atTable(result, config.epochs),
    chart: options.chart,
    summary: (result, config) => atHeadline(result, config.epochs),
    datasets: (result) => result.datasets,
  };
}
