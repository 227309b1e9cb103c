/**
 * The machinery behind every network figure's sweep: plan → (dry run | shard | execute) →
 * read back. A figure builds its runs, calls {@link executeSweep}, and reads each run's
 * per-epoch records ({@link runRecords}) and measurements ({@link measureResult}) from the
 * store; worker processes, shards and resuming stay behind this small API.
 *
 * Flags shared by every sweep
 * figure (`--workers`, `--shard`, `--dry-run`, `--data-dir`) are {@link SWEEP_RUN_FLAGS}; they
 * change where and how the work runs, never its results.
 *
 * @module
 */
import { DEFAULT_BACKEND } from "../core/backend.ts";
import { CliError, type FlagValues } from "../core/cli.ts";
import type { Json } from "../core/config.ts";
import { type FigureContext, RunPaused } from "../core/figure.ts";
import { createProgress } from "../core/progress.ts";
import { formatPhaseSpec } from "../core/schedule.ts";
import type { EpochRecord } from "../core/train.ts";
import {
  type ExecuteReport,
  parseShard,
  type Plan,
  shardJobs,
  type SweepStore,
} from "../core/sweep/mod.ts";
import { describePlan, fmt } from "./dry_run.ts";
import { runStoreJobs, sweepStore } from "./store_jobs.ts";

export {
  runStoreJobs,
  type StoreJobsOptions,
  sweepCodeHashes,
  sweepStore,
  trainCodeHash,
} from "./store_jobs.ts";
import { PAPER_INFERRED } from "./settings.ts";

/** Run flags of every sweep figure. */
export const SWEEP_RUN_FLAGS = {
  "data-dir": {
    description: "folder holding the dataset files (else $LATE_SAM_DATA, Debian's, the cache)",
  },
  workers: {
    description: "jobs at once, each in its own process (default: CPU cores; 1 = this process)",
  },
  shard: {
    description: "run only shard i/n of the plan (e.g. 0/4) and stop; merge, then aggregate",
  },
  "dry-run": {
    boolean: true,
    description: "print the plan (runs, jobs, gradient evaluations, time estimate) and stop",
  },
  "skip-timing": {
    boolean: true,
    description: "with --dry-run: do not time a training step (no time estimate)",
  },
} as const;

/** The run flags of a sweep figure, declared. */
export type SweepRunFlags = typeof SWEEP_RUN_FLAGS;

/** The run flags of a sweep figure, parsed and checked. */
export interface SweepFlags {
  /** Folder holding the dataset files (else the usual lookup). */
  dataDir?: string;
  /** Jobs at once (1: in this process). */
  workers: number;
  /** The shard to run and stop after, if any. */
  shard: { index: number; count: number } | null;
  dryRun: boolean;
  skipTiming: boolean;
}

/**
 * Checks a sweep figure's parsed run flags: `workers` a positive integer (default: CPU
 * cores), `shard` of the form i/n.
 *
 * @throws {CliError} naming the flag when one is malformed.
 */
export function sweepFlags(flags: FlagValues): SweepFlags {
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  const shard = text(flags.shard);
  return {
    dataDir: text(flags.dataDir),
    workers: workerCount(text(flags.workers)),
    shard: shard === undefined ? null : parseShardFlag(shard),
    dryRun: flags.dryRun === true,
    skipTiming: flags.skipTiming === true,
  };
}

/**
 * The task-definition fields every sweep figure shares: `small` by default, the backend the
 * config names (wasm unless told otherwise) and the sweep's run flags. Spread it into a
 * `FigureDefinition`.
 */
export const SWEEP_TASK_DEFAULTS: {
  defaultScale: string;
  backend: string;
  backendOf: (config: { backend: string }) => string;
  runFlags: SweepRunFlags;
} = {
  defaultScale: "small",
  backend: DEFAULT_BACKEND,
  backendOf: (config) => config.backend,
  runFlags: SWEEP_RUN_FLAGS,
};

/**
 * One run of a sweep as a figure's manifest lists it (`summary.runs`): its id (the state id
 * of its final state in the sweep store), root seed, total epochs and compact phases
 * (`sgd:3,sam:1`). `deno task runs` and `deno task audit` read these.
 */
export type SweepListing = { id: string; seed: number | null; epochs: number; phases: string };

/** What a finished sweep reports (gradient evaluations in batches). */
export interface SweepOutcome {
  store: SweepStore;
  plan: Plan;
  report: ExecuteReport;
  /** For the manifest: planned, independent and spent batch-gradient evaluations. */
  cost: { planned: number; independent: number; spent: number; savedFraction: number };
  /** For the manifest (`summary.runs`): the plan's runs, in request order. */
  runs: SweepListing[];
}

/**
 * The plan's runs with seed, epochs and phases, in request order and without duplicates
 * (each run's last train job produces its final state and carries its whole schedule).
 */
export function planRuns(plan: Plan): SweepListing[] {
  const jobs = new Map(plan.jobs.map((j) => [j.id, j]));
  const out: SweepListing[] = [];
  for (const id of new Set(plan.runs)) {
    const job = jobs.get(id);
    if (job?.kind !== "train") throw new Error(`plan has no train job for run ${id.slice(0, 12)}`);
    const seed = (job.base as { seed?: unknown } | null)?.seed;
    out.push({
      id,
      seed: typeof seed === "number" ? seed : null,
      epochs: job.epochs,
      phases: formatPhaseSpec(job.phases),
    });
  }
  return out;
}

function workerCount(flag: string | undefined): number {
  if (flag === undefined) return Math.max(1, navigator.hardwareConcurrency || 1);
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 1) {
    throw new CliError(`--workers must be a positive integer, got "${flag}"`);
  }
  return n;
}

/** Options of {@link executeSweep}. */
export interface ExecuteSweepOptions {
  /** Names the sweep in progress lines and dry runs. */
  label: string;
  /** Inferred paper-scale settings a dry run lists (default: the switching figures'). */
  inferred?: Readonly<Record<string, string>>;
}

/**
 * Runs a figure's plan under its sweep flags (`context.flags`, see {@link sweepFlags}):
 * `--dry-run` prints the plan and stops; `--shard i/n` executes that shard's jobs and stops;
 * otherwise every unfinished job runs on `--workers` workers. Stopping is a
 * {@link RunPaused} (exit 0, no figure written).
 */
export async function executeSweep(
  plan: Plan,
  context: Pick<FigureContext, "out" | "scale" | "flags">,
  options: ExecuteSweepOptions,
): Promise<SweepOutcome> {
  const flags = sweepFlags(context.flags);
  const { workers, shard } = flags;
  const store = await sweepStore(context.out);
  const jobs = shard ? shardJobs(plan.jobs, shard) : plan.jobs;
  if (flags.dryRun) {
    const lines = await describePlan(plan, {
      label: options.label,
      workers,
      estimate: !flags.skipTiming,
    });
    if (context.scale.startsWith("paper")) {
      lines.push("  inferred settings (the paper does not state these, docs/paper.md#settings):");
      for (const [what, why] of Object.entries(options.inferred ?? PAPER_INFERRED)) {
        lines.push(`    ${what}: ${why}`);
      }
    }
    if (shard) {
      lines.push(
        `  shard ${shard.index}/${shard.count}: ${jobs.length} jobs, ${
          fmt(jobs.reduce((s, j) => s + j.cost, 0))
        } gradient evaluations`,
      );
    }
    throw new RunPaused(lines.join("\n"));
  }
  const total = jobs.reduce((s, j) => s + j.cost, 0);
  const progress = createProgress(options.label, total);
  let finished = 0;
  const info = () => `jobs ${finished}/${jobs.length}`;
  const report = await runStoreJobs(store, jobs, {
    workers,
    dataDir: flags.dataDir,
    onTick: (units) => progress.tick(units, info()),
    onEvent: (event) => {
      if (event.type !== "start") finished++;
    },
  });
  progress.finish(info());
  if (shard) {
    throw new RunPaused(
      `${options.label}: shard ${shard.index}/${shard.count} done (${report.executed.length} jobs ` +
        `run, ${report.skipped.length} already stored) in ${store.root}. Merge the shards' stores ` +
        `with \`deno task merge\`, then run again without --shard to draw the figure.`,
    );
  }
  return {
    store,
    plan,
    report,
    cost: {
      planned: plan.cost,
      independent: plan.independentCost,
      spent: report.spentCost,
      savedFraction: 1 - plan.cost / plan.independentCost,
    },
    runs: planRuns(plan),
  };
}

function parseShardFlag(text: string) {
  try {
    return parseShard(text);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/**
 * A run's per-epoch records, from the first epoch to the last, read from the store by
 * following each stored state's parent. (A plan's own chain may cut the run differently: a
 * state another figure stored as the end of a shorter segment holds only that segment's
 * epochs.) Only the records are read: a trunk shared by many runs is not re-hashed for each.
 */
export async function runRecords(
  outcome: Pick<SweepOutcome, "store">,
  run: string,
): Promise<EpochRecord[]> {
  const parts: EpochRecord[][] = [];
  for (let id: string | null = run; id !== null;) {
    const state = await outcome.store.readStateRecord(id);
    if (!state) throw new Error(`state ${id.slice(0, 12)} is missing from the sweep store`);
    parts.unshift(state.records as unknown as EpochRecord[]);
    id = state.job.parent;
  }
  return parts.flat();
}

/** A measurement's result, read from the store (typed by the measurement's kind). */
export async function measureResult<T = Json>(
  outcome: Pick<SweepOutcome, "store">,
  id: string,
): Promise<T> {
  const record = await outcome.store.readMeasure(id);
  if (!record) throw new Error(`measurement ${id.slice(0, 12)} is missing from the sweep store`);
  return record.result as T;
}
