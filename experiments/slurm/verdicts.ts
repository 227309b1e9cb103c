/**
 * The verdicts of `deno task slurm-check`, as pure functions of what the cluster and the
 * stores show: Slurm job states (from `sacct --completion`), byte comparisons of `data.csv`,
 * the gradient evaluations a killed-and-resubmitted shard spent against a clean one, and
 * whether any stored file was rewritten. Each returns a {@link Verdict}; `check.ts` prints
 * them.
 *
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { decodeCheckpoint } from "../../core/checkpoint.ts";

/** One step's outcome and its one-line evidence. */
export interface Verdict {
  step: string;
  pass: boolean;
  detail: string;
}

/** `PASS step: detail` or `FAIL step: detail`. */
export function formatVerdict(v: Verdict): string {
  return `${v.pass ? "PASS" : "FAIL"} ${v.step}: ${v.detail}`;
}

/** A job or array task as `sacct` lists it. */
export interface JobRow {
  /** `12`, or `12_1` for array task 1 of array job 12. */
  jobId: string;
  state: string;
  /** `code:signal`, e.g. `0:0` or `1:0`. */
  exitCode: string;
}

/**
 * Parses `sacct --parsable2 --noheader --format=JobID,State,ExitCode` (a `|` per field).
 * Later lines for the same id win (a requeued job lists its last run last).
 */
export function parseSacct(text: string): Map<string, JobRow> {
  const rows = new Map<string, JobRow>();
  for (const line of text.split("\n")) {
    const [jobId, state, exitCode] = line.trim().split("|");
    if (!jobId || state === undefined) continue;
    rows.set(jobId, { jobId, state: state.split(" ")[0], exitCode: exitCode ?? "" });
  }
  return rows;
}

/**
 * Every job in `ids` finished COMPLETED with exit code 0:0. `labels` names array tasks
 * (`12_1` for job 14) in the evidence.
 */
export function completedVerdict(
  step: string,
  rows: Map<string, JobRow>,
  ids: readonly string[],
  labels: ReadonlyMap<string, string> = new Map(),
): Verdict {
  const name = (id: string) => (labels.has(id) ? `${labels.get(id)} (job ${id})` : id);
  const bad = ids.map((id) => rows.get(id) ?? { jobId: id, state: "MISSING", exitCode: "?" })
    .filter((r) => r.state !== "COMPLETED" || r.exitCode !== "0:0");
  return {
    step,
    pass: ids.length > 0 && bad.length === 0,
    detail: bad.length === 0
      ? `${ids.map(name).join(", ")} COMPLETED 0:0 in sacct`
      : `not completed: ${bad.map((r) => `${name(r.jobId)} ${r.state} ${r.exitCode}`).join(", ")}`,
  };
}

/** A merge job as `scontrol` shows it, and whether it left a log or figure behind. */
export interface MergeJobState {
  id: string;
  state: string;
  reason: string;
  ran: boolean;
}

/** The job never ran and never will: CANCELLED, or PENDING on a dependency that cannot be met. */
function held(merge: MergeJobState): boolean {
  return !merge.ran && (merge.state === "CANCELLED" ||
    (merge.state === "PENDING" && merge.reason === "DependencyNeverSatisfied"));
}

function describeMerge(merge: MergeJobState): string {
  return `merge job ${merge.id} ${merge.state} (${merge.reason})` +
    (merge.ran ? ", but it ran" : ", never started");
}

/** After a shard was killed or failed, the merge job is held for good (see {@link held}). */
export function mergeHeldVerdict(step: string, merge: MergeJobState): Verdict {
  return { step, pass: held(merge), detail: describeMerge(merge) };
}

/**
 * A failed shard stopped the sweep: each job in `failed` is FAILED with a non-zero exit code
 * in sacct, and the merge job never ran.
 */
export function failureVerdict(
  step: string,
  rows: Map<string, JobRow>,
  failed: readonly string[],
  merge: MergeJobState,
): Verdict {
  const listed = failed.map((id) => rows.get(id) ?? { jobId: id, state: "MISSING", exitCode: "?" });
  const notFailed = listed.filter((r) => r.state !== "FAILED" || r.exitCode.startsWith("0:"));
  return {
    step,
    pass: failed.length > 0 && notFailed.length === 0 && held(merge),
    detail: `sacct: ${listed.map((r) => `${r.jobId} ${r.state} ${r.exitCode}`).join(", ")}; ` +
      describeMerge(merge),
  };
}

/** Job `id` (shown as `label`) has `expected` as its final state in sacct. */
export function stateVerdict(
  step: string,
  rows: Map<string, JobRow>,
  id: string,
  label: string,
  expected: string,
): Verdict {
  const row = rows.get(id);
  return {
    step,
    pass: row?.state === expected,
    detail: `${label} (job ${id}): ${row ? `${row.state} ${row.exitCode}` : "not listed"} in sacct`,
  };
}

/** The merge job's manifest spent no gradient evaluation: every job came from the shards. */
export function mergeSpentVerdict(step: string, spent: number | undefined): Verdict {
  return {
    step,
    pass: spent === 0,
    detail: `the merge job's manifest: ${spent ?? "no"} gradient evaluations spent`,
  };
}

/** A command run outside Slurm exited with status 0. */
export function exitVerdict(step: string, command: string, code: number): Verdict {
  return { step, pass: code === 0, detail: `${command} exited with ${code}` };
}

/** No daemon process is left (`left`: `pid name` of each still running). */
export function noDaemonVerdict(step: string, left: readonly string[]): Verdict {
  return {
    step,
    pass: left.length === 0,
    detail: left.length === 0
      ? "no slurmctld, slurmd, slurmstepd or munged running"
      : `still running: ${left.join(", ")}`,
  };
}

/** Two files are byte for byte equal (a missing file is a failure). */
export function sameBytesVerdict(
  step: string,
  a: { name: string; bytes: Uint8Array | null },
  b: { name: string; bytes: Uint8Array | null },
): Verdict {
  const missing = [a, b].filter((f) => f.bytes === null).map((f) => f.name);
  if (missing.length > 0) return { step, pass: false, detail: `missing: ${missing.join(", ")}` };
  const x = a.bytes!, y = b.bytes!;
  let first = -1;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) {
      first = i;
      break;
    }
  }
  return {
    step,
    pass: first < 0,
    detail: first < 0
      ? `${a.name} and ${b.name} identical (${x.length} bytes)`
      : `${a.name} (${x.length} bytes) and ${b.name} (${y.length} bytes) differ from byte ${first}`,
  };
}

/** A finished job's record in a sweep store: its file, cost and the file's identity. */
export interface StoredJob {
  /** Path under the store root, e.g. `states/<id>.json`. */
  file: string;
  /** The job's gradient evaluations as planned (`job.cost`). */
  cost: number;
  /** Modification time (ms) and inode: a rewritten record changes them. */
  mtime: number;
  ino: number | null;
}

/**
 * The finished jobs of the sweep store at `root` (state and measurement records; partial
 * checkpoints and temporary files are not finished work).
 */
export async function storedJobs(root: string): Promise<StoredJob[]> {
  const out: StoredJob[] = [];
  for (const folder of ["states", "measures"]) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(join(root, folder))];
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    for (const entry of entries) {
      if (!entry.isFile || !entry.name.endsWith(".json") || entry.name.includes(".tmp-")) continue;
      const path = join(root, folder, entry.name);
      const [text, stat] = await Promise.all([Deno.readTextFile(path), Deno.stat(path)]);
      const cost = (JSON.parse(text) as { job?: { cost?: unknown } }).job?.cost;
      if (typeof cost !== "number") throw new Error(`${path}: record without job.cost`);
      out.push({
        file: `${folder}/${entry.name}`,
        cost,
        mtime: stat.mtime?.getTime() ?? 0,
        ino: stat.ino,
      });
    }
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : 1));
}

/** Sum of the jobs' costs. */
export function totalCost(jobs: readonly StoredJob[]): number {
  return jobs.reduce((s, j) => s + j.cost, 0);
}

/** What a shard's run printed when it stopped: jobs run and jobs found already stored. */
export function parseShardReport(log: string): { run: number; stored: number } | null {
  const match = /shard \d+\/\d+ done \((\d+) jobs run, (\d+) already stored\)/.exec(log);
  return match ? { run: Number(match[1]), stored: Number(match[2]) } : null;
}

/**
 * Overlapping shards cooperated: every shard ran twice at once into the same store, and the
 * jobs the copies report as run add up to the jobs of the clean sharded run (each job trained
 * once; the other copy waited on its lock and found it stored). A missing report fails.
 */
export function overlapVerdict(
  step: string,
  cleanJobs: number,
  reports: readonly ({ run: number; stored: number } | null)[],
): Verdict {
  const missing = reports.filter((r) => r === null).length;
  const run = reports.reduce((s, r) => s + (r?.run ?? 0), 0);
  const stored = reports.reduce((s, r) => s + (r?.stored ?? 0), 0);
  const problems: string[] = [];
  if (missing > 0) problems.push(`${missing} of ${reports.length} tasks printed no shard report`);
  if (run !== cleanJobs) problems.push(`${run} jobs run where the clean run has ${cleanJobs}`);
  return {
    step,
    pass: problems.length === 0,
    detail: `${reports.length} tasks ran ${run} jobs and found ${stored} already stored; the ` +
      `clean sharded run has ${cleanJobs} jobs` +
      (problems.length ? `; ${problems.join("; ")}` : "; no job trained twice"),
  };
}

/** Evidence of a shard killed mid-run and run again. */
export interface ResumeEvidence {
  /** The same shard's finished jobs in a clean, uninterrupted run. */
  clean: readonly StoredJob[];
  /** Its finished jobs when the task was killed. */
  beforeKill: readonly StoredJob[];
  /** Its finished jobs after the resubmitted task. */
  afterResubmit: readonly StoredJob[];
  /** What the resubmitted task printed (jobs run, jobs already stored). */
  report: { run: number; stored: number } | null;
}

/**
 * The resubmitted shard redid no finished work: the kill left some jobs finished and some not;
 * every record present at the kill is untouched afterwards (same inode and mtime); the
 * resubmitted task ran exactly the missing jobs (by its own report); and the gradient
 * evaluations of the jobs finished before the kill plus those run after equal the clean run's.
 */
export function resumeVerdict(step: string, e: ResumeEvidence): Verdict {
  const after = new Map(e.afterResubmit.map((j) => [j.file, j]));
  const before = new Set(e.beforeKill.map((j) => j.file));
  const rewritten = e.beforeKill.filter((j) => {
    const now = after.get(j.file);
    return !now || now.mtime !== j.mtime || now.ino !== j.ino;
  });
  const added = e.afterResubmit.filter((j) => !before.has(j.file));
  const [clean, spentBefore, spentAfter] = [e.clean, e.beforeKill, added].map(totalCost);
  const problems: string[] = [];
  if (e.beforeKill.length === 0) problems.push("nothing was finished when the task was killed");
  if (added.length === 0) problems.push("the kill left nothing to do");
  if (rewritten.length > 0) problems.push(`${rewritten.length} finished records rewritten`);
  if (!e.report) problems.push("the resubmitted task printed no shard report");
  else if (e.report.run !== added.length || e.report.stored !== e.beforeKill.length) {
    problems.push(
      `the task reports ${e.report.run} run + ${e.report.stored} stored, the store shows ` +
        `${added.length} new + ${e.beforeKill.length} kept`,
    );
  }
  if (spentBefore + spentAfter !== clean) problems.push("spent differs from clean");
  if (e.afterResubmit.length !== e.clean.length) problems.push("job count differs from clean");
  return {
    step,
    pass: problems.length === 0,
    detail: `gradient evaluations: ${spentBefore} in ${e.beforeKill.length} jobs finished ` +
      `before the kill + ${spentAfter} in ${added.length} jobs after resubmitting = ` +
      `${spentBefore + spentAfter} spent vs ${clean} clean` +
      (problems.length ? `; ${problems.join("; ")}` : "; no finished job redone"),
  };
}

/** An unfinished job's resumable checkpoint: the job and the epoch records it holds. */
export interface PartialState {
  id: string;
  records: unknown[];
}

/** The resumable partial checkpoints in the sweep store at `root`. */
export async function partialStates(root: string): Promise<PartialState[]> {
  const out: PartialState[] = [];
  try {
    for (const entry of Deno.readDirSync(join(root, "states"))) {
      const match = /^(.+)\.partial\.safetensors$/.exec(entry.name);
      if (!entry.isFile || !match) continue;
      const path = join(root, "states", entry.name);
      // Decoding makes tensors (on the plain cpu backend); only the metadata is kept.
      await tf.setBackend("cpu");
      const checkpoint = decodeCheckpoint(await Deno.readFile(path), path);
      tf.dispose(
        [checkpoint.params, checkpoint.state, checkpoint.momentum ?? {}].flatMap(Object.values),
      );
      out.push({ id: match[1], records: JSON.parse(checkpoint.metadata.records ?? "[]") });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** A finished train job's record as the store keeps it (the fields this check reads). */
export interface FinishedState {
  job: { from: number; to: number; cost: number };
  records: unknown[];
}

/**
 * The resubmitted task resumed the killed task's unfinished jobs from their partial
 * checkpoints: each finished job starts with the partial's epoch records, wall times included
 * (a retrained epoch would have measured its own).
 */
export function partialResumeVerdict(
  step: string,
  partials: readonly PartialState[],
  finished: ReadonlyMap<string, FinishedState | null>,
): Verdict {
  if (partials.length === 0) {
    return { step, pass: false, detail: "no partial checkpoint at the kill" };
  }
  const lines: string[] = [];
  let pass = true;
  for (const p of partials) {
    const state = finished.get(p.id) ?? null;
    const kept = state?.records.slice(0, p.records.length);
    const same = state !== null && p.records.length > 0 &&
      JSON.stringify(kept) === JSON.stringify(p.records);
    pass &&= same;
    const perEpoch = state ? state.job.cost / (state.job.to - state.job.from) : NaN;
    lines.push(
      !state
        ? `job ${p.id.slice(0, 12)} never finished`
        : same
        ? `job ${p.id.slice(0, 12)} resumed: ${p.records.length} epochs (${
          p.records.length * perEpoch
        } gradient evaluations) kept from its partial checkpoint, wall times included`
        : `job ${p.id.slice(0, 12)}: its first ${p.records.length} epochs were trained again`,
    );
  }
  return { step, pass, detail: lines.join("; ") };
}
