/**
 * One switching sweep (docs/paper.md#switching): for every seed and switch epoch t, one run
 * with optimizer `first` on [0, t) and `then` on [t, T), plus the two full runs (t = T: all
 * `first`; t = 0: all `then`). Figure 3 is SGD→SAM, Figure 5 SAM→SGD, Figure 6 and the AT
 * table ST→AT (`sgd` → `at`), `deno task switch` any pair.
 *
 * Every run of a seed shares its prefix with that seed's full-`first` run, the trunk: the
 * sweep store trains the trunk once and branches each tail from its state at t
 * (docs/paper.md#switching, `core/sweep/plan.ts`). Training happens in `runs.ts` (the loop in
 * `core/train.ts`, SAM's step in `core/optim/step.ts`).
 *
 * A sweep's result is each final model's last-epoch record and, when asked, one measurement
 * of it (e.g. sharpness); the figures turn these into numbers, gaps to a full run
 * ({@link fullRun}, the one way to find the baselines) and means over seeds
 * ({@link overSeeds}).
 *
 * @module
 */
import { z } from "zod";
import type { Json } from "../core/config.ts";
import type { FigureContext } from "../core/figure.ts";
import { type Phase, type PhaseOptimizer, switchAt } from "../core/schedule.ts";
import { planSweep, runId, type RunRequest } from "../core/sweep/plan.ts";
import type { EpochRecord } from "../core/train.ts";
import { RUN_COSTS, runData } from "./runs.ts";
import { runSettingsOf, runSettingsShape, seededSettings } from "./run_settings.ts";
import { groupBy } from "../core/stats.ts";
import {
  executeSweep,
  measureResult,
  runRecords,
  type SweepListing,
  type SweepOutcome,
  type SweepRunFlags,
} from "./sweep.ts";

/** Which optimizers a sweep switches between, and which one the figure is about. */
export interface Switching {
  /** The optimizer of [0, t): the trunk every run of a seed branches from. */
  first: PhaseOptimizer;
  /** The optimizer of [t, T): the tails. */
  then: PhaseOptimizer;
  /**
   * The phase the figure is about: its share of T is the x axis ((T − t)/T for `then`, t/T
   * for `first`) and its full run is the baseline of every gap.
   */
  focus: "first" | "then";
  /** The authors' inclusive window: `first` on epochs 0…t (t + 1 epochs) when t < T. */
  inclusive?: boolean;
}

/** The config fields of every switching sweep: run settings, T, seeds and switch epochs. */
export const switchingShape = {
  ...runSettingsShape,
  epochs: z.number().int().positive().describe("total epochs T"),
  seeds: z.array(z.number().int().nonnegative()).min(1).describe("root seeds"),
  switches: z.array(z.number().int().nonnegative()).min(1).describe(
    "switch epochs t (the two full runs, t = 0 and t = T, are always included)",
  ),
};

/** The check every switching config needs: each switch epoch within [0, T]. */
export function switchesWithinT<S extends z.ZodObject<typeof switchingShape>>(schema: S): S {
  return schema.refine((c) => c.switches.every((t) => t <= c.epochs), {
    message: "every switch epoch must be at most epochs",
    path: ["switches"],
  });
}

/** A switching sweep's config (settings with T, seeds, switch epochs). */
export type SwitchingConfig = z.output<z.ZodObject<typeof switchingShape>>;

/** The switch epochs: the configured ones plus 0 and T (the full runs), sorted, unique. */
export function switchEpochs(config: { switches: readonly number[]; epochs: number }): number[] {
  return [...new Set([0, ...config.switches, config.epochs])].sort((a, b) => a - b);
}

/** The phases of the run switching at t. */
export function switchPhases(switching: Switching, t: number, epochs: number): Phase[] {
  const { first, then } = switching;
  const at = switching.inclusive && t < epochs ? t + 1 : t;
  return switchAt({ first, then, at, epochs });
}

/** The x value of the run switching at t: the focus phase's share of T. */
export function focusProportion(switching: Switching, t: number, epochs: number): number {
  return switching.focus === "then" ? (epochs - t) / epochs : t / epochs;
}

/** Epochs of a run spent in the focus phase's optimizer. */
function focusEpochs(switching: Switching, phases: Phase[]): number {
  const optimizer = switching[switching.focus];
  return phases.filter((p) => p.optimizer === optimizer).reduce((s, p) => s + p.to - p.from, 0);
}

/** One requested run of a switching sweep. */
export interface SwitchRequest {
  seed: number;
  switchEpoch: number;
  /** The focus phase's share of T (the x axis). */
  proportion: number;
  /** Epochs in the focus phase's optimizer. */
  focusEpochs: number;
  request: RunRequest;
}

/** Every (seed, t) run of the sweep, seed by seed, t ascending. */
export function switchingRuns(switching: Switching, config: SwitchingConfig): SwitchRequest[] {
  const settings = runSettingsOf(config);
  const T = config.epochs;
  return config.seeds.flatMap((seed) =>
    switchEpochs(config).map((t) => {
      const phases = switchPhases(switching, t, T);
      return {
        seed,
        switchEpoch: t,
        proportion: focusProportion(switching, t, T),
        focusEpochs: focusEpochs(switching, phases),
        request: { base: seededSettings(settings, seed, T), epochs: T, phases },
      };
    })
  );
}

/** One finished run: its last epoch's record and its measurement (when one was asked for). */
export interface SwitchingRun extends Omit<SwitchRequest, "request"> {
  /** The run's id: the state id of its final state in the sweep store. */
  id: string;
  last: EpochRecord;
  measured?: Json;
}

/** What a switching sweep returns. */
export interface SwitchingResult {
  switching: Switching;
  runs: SwitchingRun[];
  cost: SweepOutcome["cost"];
  /** The sweep's runs, for the manifest (`summary.runs`). */
  listing: SweepListing[];
  /** sha256 per dataset file. */
  datasets: Record<string, string>;
}

/**
 * Trains (or reads from the store) every run of the sweep and measures each final model with
 * `measure` (a measurement spec, e.g. `{ kind: "sharpness", … }`), if given.
 */
export async function runSwitching(
  switching: Switching,
  config: SwitchingConfig,
  context: FigureContext<SweepRunFlags>,
  options: { label: string; measure?: Json; inferred?: Readonly<Record<string, string>> },
): Promise<SwitchingResult> {
  const requested = switchingRuns(switching, config);
  const plan = planSweep({
    runs: requested.map((r) => r.request),
    measures: options.measure === undefined
      ? []
      : requested.map((r) => ({ spec: options.measure!, runs: [runId(r.request)] })),
  }, RUN_COSTS);
  const outcome = await executeSweep(plan, context, options);
  const runs: SwitchingRun[] = [];
  for (const [i, { request: _, ...r }] of requested.entries()) {
    const records = await runRecords(outcome, plan.runs[i]);
    const measured = options.measure === undefined
      ? undefined
      : await measureResult(outcome, plan.measures[i]);
    runs.push({ ...r, id: plan.runs[i], last: records[records.length - 1], measured });
  }
  const data = await runData(runSettingsOf(config), context.flags.dataDir);
  return {
    switching,
    runs,
    cost: outcome.cost,
    listing: outcome.runs,
    datasets: data.files,
  };
}

/**
 * The full run of a seed: `first` on all of [0, T) (t = T) or `then` on all of it (t = 0).
 * The one way every figure finds its baselines.
 */
export function fullRun(
  runs: readonly SwitchingRun[],
  seed: number,
  phase: "first" | "then",
  epochs: number,
): SwitchingRun | undefined {
  const t = phase === "first" ? epochs : 0;
  return runs.find((r) => r.seed === seed && r.switchEpoch === t);
}

/**
 * Each run's gap to the full focus run of its seed, `gap(run, full)` (NaN without one).
 */
export function gapsToFull<R extends SwitchingRun>(
  result: { switching: Switching; runs: R[] },
  epochs: number,
  gap: (run: R, full: R) => number,
): Map<R, number> {
  const out = new Map<R, number>();
  for (const r of result.runs) {
    const full = fullRun(result.runs, r.seed, result.switching.focus, epochs) as R | undefined;
    out.set(r, full ? gap(r, full) : NaN);
  }
  return out;
}

/** Runs grouped over seeds by `key` (e.g. the proportion), keys ascending. */
export function overSeeds<R, K extends number>(
  runs: readonly R[],
  key: (run: R) => K,
): [K, R[]][] {
  return [...groupBy(runs, key)].sort(([a], [b]) => a - b);
}
