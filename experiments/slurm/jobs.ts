/**
 * Talking to Slurm for `deno task slurm-check`: submitting a sharded sweep (`sweep.sh`), its
 * array tasks (`shard.sh`) and merge job (`merge.sh`) alone, reading job states (`scontrol`,
 * `sacct --completion`) and waiting for jobs. Every command runs in the repository root.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type JobRow, parseSacct } from "./verdicts.ts";

/** This folder (the Slurm scripts). */
export const SLURM_DIR = fileURLToPath(new URL(".", import.meta.url));
/** The repository root, where every job starts. */
export const REPO = resolve(SLURM_DIR, "../..");
/** Longest wait for a group of jobs (the whole check takes a few minutes at smoke scale). */
export const WAIT_SECONDS = 900;

/** Which sweep to shard. */
export interface SweepSpec {
  figure: string;
  scale: string;
  shards: number;
}

/** Runs a command in the repository root; its exit code and stdout (stderr is dropped). */
export async function run(cmd: string[]): Promise<{ code: number; stdout: string }> {
  const output = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
}

/** Runs a command that must succeed; its trimmed stdout. */
export async function must(cmd: string[]): Promise<string> {
  const { code, stdout } = await run(cmd);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code}`);
  return stdout.trim();
}

/** `scontrol show job -o` fields of every job (or array task) of `id`. */
export async function jobFields(id: string): Promise<Record<string, string>[]> {
  const { stdout } = await run(["scontrol", "show", "job", "-o", id]);
  return stdout.split("\n").filter((l) => l.includes("JobId=")).map((line) =>
    Object.fromEntries(
      line.trim().split(/\s+/).map((
        kv,
      ) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    )
  );
}

/** Array task index → the job id sacct lists it under. */
export async function arrayTasks(array: string): Promise<Map<number, string>> {
  const tasks = new Map<number, string>();
  for (const f of await jobFields(array)) {
    if (f.ArrayTaskId !== undefined && /^\d+$/.test(f.ArrayTaskId)) {
      tasks.set(Number(f.ArrayTaskId), f.JobId);
    }
  }
  return tasks;
}

/** Waits until none of `ids` is pending or running (a pending job on a dead dependency ends it). */
export async function waitJobs(ids: string[]): Promise<void> {
  const deadline = Date.now() + WAIT_SECONDS * 1000;
  while (Date.now() < deadline) {
    const fields = (await Promise.all(ids.map(jobFields))).flat();
    const live = fields.filter((f) =>
      ["PENDING", "RUNNING", "CONFIGURING", "COMPLETING"].includes(f.JobState) &&
      f.Reason !== "DependencyNeverSatisfied"
    );
    if (live.length === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`jobs ${ids.join(", ")} still running after ${WAIT_SECONDS} s`);
}

/** Every finished job in the job-completion log (no accounting database needed). */
export async function sacct(): Promise<Map<string, JobRow>> {
  return parseSacct(
    (await run(["sacct", "--completion", "-P", "-n", "-o", "JobID,State,ExitCode"])).stdout,
  );
}

/** Submits the whole sweep with `sweep.sh`; the array's and the merge job's ids. */
export async function submitSweep(spec: SweepSpec, out: string, flags: string[]) {
  const text = await must([
    join(SLURM_DIR, "sweep.sh"),
    spec.figure,
    spec.scale,
    String(spec.shards),
    out,
    "--",
    ...flags,
  ]);
  const array = /job array (\d+)/.exec(text)?.[1];
  const merge = /merge and draw: job (\d+)/.exec(text)?.[1];
  if (!array || !merge) throw new Error(`sweep.sh printed no job ids: ${text}`);
  return { array, merge };
}

/** Submits shard.sh for array indices `tasks` (e.g. "0-2" or "0") into `out`; the array's id. */
export function submitShards(spec: SweepSpec, out: string, tasks: string, flags: string[]) {
  return must([
    "sbatch",
    "--parsable",
    `--array=${tasks}`,
    `--chdir=${REPO}`,
    `--output=${out}/slurm-%A_%a.log`,
    join(SLURM_DIR, "shard.sh"),
    spec.figure,
    spec.scale,
    String(spec.shards),
    out,
    ...flags,
  ]);
}

/** Submits merge.sh after the jobs `after` (cancelled if one fails); its id. */
export function submitMerge(spec: SweepSpec, out: string, after: string[], flags: string[]) {
  return must([
    "sbatch",
    "--parsable",
    `--dependency=afterok:${after.join(":")}`,
    "--kill-on-invalid-dep=yes",
    `--chdir=${REPO}`,
    `--output=${out}/slurm-merge-%j.log`,
    join(SLURM_DIR, "merge.sh"),
    spec.figure,
    spec.scale,
    String(spec.shards),
    out,
    ...flags,
  ]);
}
