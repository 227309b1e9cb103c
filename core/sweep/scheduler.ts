/**
 * Runs a plan's jobs on a pool of workers, respecting dependencies, skipping finished work.
 *
 * Every job is a pure function of its inputs (the states it starts from) and is written to the
 * store atomically, so the order in which workers pick jobs, and how many there are, cannot
 * change any result; an interrupted sweep restarted later recomputes only unfinished jobs.
 * Ready jobs are started longest-remaining-path first, which keeps trunks (on which many tails
 * wait) ahead of leaves.
 *
 * Several processes may execute plans on one store at once (two runs on one `--out`, Slurm
 * shards on a shared file system): with {@link ExecuteOptions.claim} each job is claimed before
 * it runs, a job another process is running is put back and retried after
 * {@link ExecuteOptions.retryMs} while other ready jobs go first, and a job another process
 * finished counts as skipped. No job is computed twice.
 *
 * @module
 */
import { type Job, jobDependencies } from "./plan.ts";

/** What a running job may report. */
export interface JobContext {
  /** The worker slot (0 … workers − 1) running the job. */
  worker: number;
  /** Reports `units` more batch-gradient evaluations done. */
  tick(units: number): void;
}

/**
 * What claiming a job found: `mine` (run it, then `release`), `done` (another process stored
 * it meanwhile) or `busy` (another process is running it now).
 */
export type Claim = { status: "mine"; release(): Promise<void> } | { status: "done" | "busy" };

/** Options of {@link executeJobs}. */
export interface ExecuteOptions {
  /** Concurrent jobs (≥ 1). */
  workers: number;
  /** Whether a job's output already exists (skipped, and counted as done). */
  isDone(job: Job): Promise<boolean>;
  /** Whether a state outside `jobs` (a dependency from another shard) exists. */
  hasState(id: string): Promise<boolean>;
  /** Runs one job; resolves once its output is stored. */
  execute(job: Job, context: JobContext): Promise<void>;
  /** Claims a job before running it (cooperating processes); default: every job is mine. */
  claim?(job: Job): Promise<Claim>;
  /** Milliseconds before a job another process is running is claimed again (default 2000). */
  retryMs?: number;
  /** Called as jobs start and finish (progress lines). */
  onEvent?(event: { type: "start" | "done" | "skip"; job: Job; seconds?: number }): void;
  /** Called with every unit of progress (skipped jobs report their whole cost at once). */
  onTick?(units: number): void;
}

/** What {@link executeJobs} did. */
export interface ExecuteReport {
  executed: string[];
  /** Jobs already stored, or stored meanwhile by another process. */
  skipped: string[];
  /** Batch-gradient evaluations of the executed jobs. */
  spentCost: number;
}

/** A job failed; the message names it. */
export class SweepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SweepError";
  }
}

const MINE: Claim = { status: "mine", release: () => Promise.resolve() };

/** Longest path (by cost) from each job to the end of the plan, for prioritizing. */
function remainingPath(jobs: readonly Job[]): Map<string, number> {
  const children = new Map<string, Job[]>();
  for (const job of jobs) {
    for (const dep of jobDependencies(job)) {
      children.set(dep, [...(children.get(dep) ?? []), job]);
    }
  }
  const memo = new Map<string, number>();
  const visit = (job: Job): number => {
    const known = memo.get(job.id);
    if (known !== undefined) return known;
    const below = (children.get(job.id) ?? []).reduce((m, c) => Math.max(m, visit(c)), 0);
    memo.set(job.id, job.cost + below);
    return job.cost + below;
  };
  jobs.forEach(visit);
  return memo;
}

/**
 * The cost of the most expensive dependency chain: no number of workers finishes sooner
 * than this (in batch-gradient evaluations).
 */
export function criticalPathCost(jobs: readonly Job[]): number {
  let longest = 0;
  for (const cost of remainingPath(jobs).values()) longest = Math.max(longest, cost);
  return longest;
}

/**
 * Executes `jobs` (a whole plan or a shard of one) with up to `workers` at a time.
 *
 * A dependency outside `jobs` must already be done. After the first failure no new job
 * starts; running ones finish, then the failure is thrown.
 *
 * @throws {SweepError} naming the failed job, or a dependency that is neither planned nor done.
 */
export async function executeJobs(
  jobs: readonly Job[],
  options: ExecuteOptions,
): Promise<ExecuteReport> {
  const workers = Math.max(1, Math.floor(options.workers));
  const retryMs = options.retryMs ?? 2000;
  const planned = new Map(jobs.map((j) => [j.id, j]));
  const done = new Set<string>();
  const report: ExecuteReport = { executed: [], skipped: [], spentCost: 0 };
  const markSkipped = (job: Job) => {
    done.add(job.id);
    report.skipped.push(job.id);
    options.onEvent?.({ type: "skip", job });
    options.onTick?.(job.cost);
  };
  for (const job of jobs) if (await options.isDone(job)) markSkipped(job);
  for (const job of jobs) {
    for (const dep of jobDependencies(job)) {
      if (!planned.has(dep) && !done.has(dep)) {
        if (!(await options.hasState(dep))) {
          throw new SweepError(
            `job ${job.id.slice(0, 12)} needs ${dep.slice(0, 12)}, which is neither in this ` +
              `shard nor in the store (run the shard that produces it first, or merge its store)`,
          );
        }
        done.add(dep);
      }
    }
  }
  const priority = remainingPath(jobs);
  const byPriority = (a: Job, b: Job) =>
    (priority.get(b.id)! - priority.get(a.id)!) || (a.id < b.id ? -1 : 1);
  const pending = jobs.filter((j) => !done.has(j.id)).sort(byPriority);
  const running = new Set<Promise<void>>();
  const freeSlots = Array.from({ length: workers }, (_, i) => workers - 1 - i);
  /** Jobs another process is running: when to claim each again. */
  const retryAt = new Map<string, number>();
  let failure: Error | null = null;

  const run = async (job: Job, worker: number) => {
    const claim = options.claim ? await options.claim(job) : MINE;
    if (claim.status !== "mine") {
      if (claim.status === "done") return markSkipped(job);
      retryAt.set(job.id, performance.now() + retryMs);
      pending.push(job);
      pending.sort(byPriority);
      return;
    }
    retryAt.delete(job.id);
    const t0 = performance.now();
    options.onEvent?.({ type: "start", job });
    try {
      await options.execute(job, { worker, tick: (units) => options.onTick?.(units) });
      done.add(job.id);
      report.executed.push(job.id);
      report.spentCost += job.cost;
      options.onEvent?.({ type: "done", job, seconds: (performance.now() - t0) / 1000 });
    } finally {
      await claim.release();
    }
  };

  const startReady = () => {
    const now = performance.now();
    while (failure === null && freeSlots.length > 0) {
      const index = pending.findIndex((j) =>
        (retryAt.get(j.id) ?? 0) <= now && jobDependencies(j).every((d) => done.has(d))
      );
      if (index < 0) return;
      const [job] = pending.splice(index, 1);
      const worker = freeSlots.pop()!;
      const promise: Promise<void> = run(job, worker).catch((err) => {
        failure ??= new SweepError(
          `${job.kind} job ${job.id.slice(0, 12)} failed: ${(err as Error).message ?? err}`,
        );
      }).finally(() => {
        running.delete(promise);
        freeSlots.push(worker);
      });
      running.add(promise);
    }
  };

  startReady();
  while (running.size > 0 || (failure === null && retryAt.size > 0 && pending.length > 0)) {
    // Wake when a job ends, or when a job another process holds may be claimed again.
    const waiting = pending.filter((j) => retryAt.has(j.id)).map((j) => retryAt.get(j.id)!);
    const wake = waiting.length === 0 ? [] : [
      new Promise<void>((resolve) =>
        setTimeout(resolve, Math.max(0, Math.min(...waiting) - performance.now()))
      ),
    ];
    if (running.size === 0 && wake.length === 0) break;
    await Promise.race([...running, ...wake]);
    startReady();
  }
  if (failure) throw failure;
  if (pending.length > 0) {
    throw new SweepError(`${pending.length} jobs could not start (a dependency cycle?)`);
  }
  return report;
}
