/**
 * The sweep store of a result root and the one way jobs run against it: each job whose
 * output is stored is skipped, the rest train or measure in this process or in worker
 * processes (`worker.ts`), with identical results. Stored states are keyed by the hash of
 * the code that trains them, measurements by the hash of the code that measures them.
 *
 * Each job is claimed with a lock file in the store before it runs (`core/lock.ts`), so other
 * processes on the same store — a second run on one `--out`, Slurm shards on a shared file
 * system — wait for it or take other jobs, and no job is computed twice.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { shareCoresWithWorkers } from "../core/backend.ts";
import { tryLock } from "../core/lock.ts";
import { moduleGraphHash } from "../core/provenance.ts";
import {
  type Claim,
  executeJobs,
  type ExecuteOptions,
  type ExecuteReport,
  type Job,
  processExecutor,
  SweepStore,
} from "../core/sweep/mod.ts";
import { executeJob } from "./jobs.ts";
import { type MeasureRegistry, MEASURES } from "./measures.ts";

/**
 * The code hashes sweep results are keyed by: `train`, every module `experiments/runs.ts`
 * imports (what trains a state), and `measure`, every module the worker imports (training
 * plus the measurements); both include `deno.json` and `deno.lock`.
 */
export async function sweepCodeHashes(): Promise<{ train: string; measure: string }> {
  const [train, measure] = await Promise.all([trainCodeHash(), graphHash("./worker.ts")]);
  return { train, measure };
}

/** The `train` half of {@link sweepCodeHashes} alone (what stored states are keyed by). */
export function trainCodeHash(): Promise<string> {
  return graphHash("./runs.ts");
}

function graphHash(module: string): Promise<string> {
  return moduleGraphHash(fileURLToPath(new URL(module, import.meta.url)), repoRoot());
}

/** The sweep store of a result root: `<out>/sweep`, keyed by {@link sweepCodeHashes}. */
export async function sweepStore(out: string): Promise<SweepStore> {
  const hashes = await sweepCodeHashes();
  return new SweepStore(join(out, "sweep"), hashes.train, hashes.measure);
}

function repoRoot(): string {
  return fileURLToPath(new URL("..", import.meta.url));
}

/** Options of {@link runStoreJobs}. */
export interface StoreJobsOptions extends Pick<ExecuteOptions, "workers" | "onTick" | "onEvent"> {
  /**
   * Run jobs in this process rather than in worker processes of `experiments/worker.ts`
   * (default: when `workers` is 1).
   */
  inProcess?: boolean;
  /** Folder holding the dataset files (else the usual lookup). */
  dataDir?: string;
  /** The measurements jobs may name (default: {@link MEASURES}). */
  measures?: MeasureRegistry;
  /** Milliseconds between claims of a job another process is running (default 2000). */
  retryMs?: number;
}

/**
 * Claims a job in the store: its lock taken and the job not stored meanwhile (`mine`), stored
 * by another process (`done`), or locked by a live one (`busy`).
 */
export async function claimJob(store: SweepStore, job: Job): Promise<Claim> {
  await store.ensure();
  const lock = await tryLock(store.lockPath(job));
  if (lock === null) return { status: "busy" };
  if (await store.isDone(job)) {
    await lock.release();
    return { status: "done" };
  }
  return { status: "mine", release: () => lock.release() };
}

/**
 * Runs sweep jobs against a store: a job whose output is stored is skipped, a dependency
 * must be stored or planned, the rest train or measure, here or in worker processes.
 */
export function runStoreJobs(
  store: SweepStore,
  jobs: readonly Job[],
  options: StoreJobsOptions,
): Promise<ExecuteReport> {
  const inProcess = options.inProcess ?? options.workers === 1;
  shareCoresWithWorkers(options.workers);
  const execute: ExecuteOptions["execute"] = inProcess
    ? (job, ctx) =>
      executeJob(
        job,
        { store, dataDir: options.dataDir, tick: (n) => ctx.tick(n) },
        options.measures ?? MEASURES,
      )
    : processExecutor({
      command: [Deno.execPath(), "run", "-A", WORKER_SCRIPT],
      context: {
        store: store.root,
        codeHash: store.codeHash,
        measureCodeHash: store.measureCodeHash,
        dataDir: options.dataDir ?? null,
      },
    });
  const told = new Set<string>();
  return executeJobs(jobs, {
    workers: options.workers,
    isDone: (job) => store.isDone(job),
    hasState: async (id) => (await store.readState(id)) !== null,
    claim: async (job) => {
      const claim = await claimJob(store, job);
      if (claim.status === "busy" && !told.has(job.id)) {
        told.add(job.id);
        console.error(
          `${job.kind} job ${job.id.slice(0, 12)}: another process holds ` +
            `${store.lockPath(job)}; taking other jobs, then waiting for it`,
        );
      }
      return claim;
    },
    retryMs: options.retryMs,
    execute,
    onTick: options.onTick,
    onEvent: options.onEvent,
  });
}

/** The sweep worker process's script (what `--workers` ≥ 2 and audits start). */
const WORKER_SCRIPT = fileURLToPath(new URL("./worker.ts", import.meta.url));
