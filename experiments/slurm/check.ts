/**
 * `deno task slurm-check`: a figure's sharded sweep on a real single-node Slurm cluster
 * (`cluster.sh`: slurmctld, slurmd and munged started for the check and stopped after it),
 * with one PASS/FAIL line per step:
 *
 * 1. the unsharded run (`deno task FIGURE --scale SCALE`), the reference;
 * 2. `sweep.sh`: the shards as a job array, the merge-and-draw job after it; every job
 *    COMPLETED, `data.csv` byte for byte the unsharded one, nothing trained in the merge job;
 * 3. overlapping shards: a second array runs every shard again into the same stores at the
 *    same time; the merged `data.csv` is still the unsharded one;
 * 4. kill and resubmit: one array task cancelled mid-run (`scancel`) after some of its jobs
 *    finished; Slurm cancels the merge job; the task resubmitted alone, a new merge job after
 *    it; finished work is not redone (gradient evaluations spent vs a clean shard) and
 *    `data.csv` is the unsharded one;
 * 5. a failing shard (a bad flag): `sacct` shows the tasks FAILED and the merge job never runs;
 * 6. after the cluster stopped, no Slurm or munge daemon is left.
 *
 *     deno task slurm-check [--out DIR] [--figure fig3] [--scale smoke] [--shards 3]
 *
 * Needs root and Debian's slurm-wlm and munge (`.ci/run` installs them). Exit 1 on any FAIL.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError, parseToolArgs, runMain } from "../../core/cli.ts";
import {
  arrayTasks,
  jobFields,
  must,
  REPO,
  run,
  sacct,
  SLURM_DIR,
  submitMerge,
  submitShards,
  submitSweep,
  type SweepSpec,
  WAIT_SECONDS,
  waitJobs,
} from "./jobs.ts";
import {
  completedVerdict,
  exitVerdict,
  failureVerdict,
  type FinishedState,
  formatVerdict,
  mergeHeldVerdict,
  mergeSpentVerdict,
  noDaemonVerdict,
  overlapVerdict,
  parseShardReport,
  partialResumeVerdict,
  type PartialState,
  partialStates,
  resumeVerdict,
  sameBytesVerdict,
  stateVerdict,
  type StoredJob,
  storedJobs,
  type Verdict,
} from "./verdicts.ts";

const HELP = `Usage: deno task slurm-check [--out DIR] [--figure NAME] [--scale NAME] [--shards N]

Starts a single-node Slurm cluster (experiments/slurm/cluster.sh: munged, slurmctld, slurmd in
a private temporary folder, stopped at the end), runs a figure's sweep on it as a job array plus
a merge job (experiments/slurm/sweep.sh), and prints PASS/FAIL for: sharded data.csv byte for
byte the unsharded one; overlapping shards; an array task killed with scancel and resubmitted
(gradient evaluations spent vs clean, nothing redone); a failing shard keeping the merge job
from running (sacct); no daemon left. Needs root, slurm-wlm and munge. Exit 1 on any FAIL.

Options:
  --out DIR       result folder (default tmp/slurm-check; emptied first)
  --figure NAME   figure task (default fig3)
  --scale NAME    scale (default smoke)
  --shards N      shards of the plan (default 3; the killed task is shard 0)
  -h, --help      show this help`;

/** Every sharded job runs in one process: Slurm gives each task one CPU. */
const FIGURE_FLAGS = ["--workers", "1"];

interface Options extends SweepSpec {
  out: string;
}

async function readBytes(path: string): Promise<Uint8Array | null> {
  return await Deno.readFile(path).catch(() => null);
}

async function allCompleted(step: string, arrays: string[], others: string[]): Promise<Verdict> {
  const labels = new Map<string, string>();
  for (const a of arrays) {
    for (const [index, id] of await arrayTasks(a)) labels.set(id, `${a}_${index}`);
  }
  return completedVerdict(step, await sacct(), [...labels.keys(), ...others], labels);
}

function csvOf(dir: string, o: Options) {
  return join(dir, o.figure, "data.csv");
}

async function mergeSpent(dir: string, o: Options): Promise<number | undefined> {
  const text = await Deno.readTextFile(join(dir, o.figure, "manifest.json")).catch(() => null);
  if (text === null) return undefined;
  const manifest = JSON.parse(text) as { summary?: { gradientEvaluations?: { spent?: number } } };
  return manifest.summary?.gradientEvaluations?.spent;
}

/** The merge job `id` of `out` as scontrol shows it, and whether it left its log behind. */
async function mergeState(id: string, out: string) {
  const fields = (await jobFields(id))[0] ?? {};
  const ran = (await readBytes(join(out, `slurm-merge-${id}.log`))) !== null;
  return { id, state: fields.JobState ?? "?", reason: fields.Reason ?? "?", ran };
}

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await f();
  console.log(`  (${label}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  return result;
}

/** Cancels array task `index` once its store holds a finished job and a resumable partial. */
async function killMidRun(
  array: string,
  index: number,
  store: string,
): Promise<{ finished: StoredJob[]; partials: PartialState[] }> {
  const deadline = Date.now() + WAIT_SECONDS * 1000;
  while (Date.now() < deadline) {
    const task = (await jobFields(`${array}_${index}`))[0];
    if (task && task.JobState !== "PENDING" && task.JobState !== "RUNNING") {
      throw new Error(`array task ${array}_${index} ended (${task.JobState}) before it was killed`);
    }
    const finished = await storedJobs(store);
    const partial = [...safeReadDir(join(store, "states"))].some((n) =>
      n.endsWith(".partial.safetensors")
    );
    if (task?.JobState === "RUNNING" && finished.length >= 1 && partial) {
      await must(["scancel", `${array}_${index}`]);
      await waitJobs([`${array}_${index}`]);
      return { finished: await storedJobs(store), partials: await partialStates(store) };
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`array task ${array}_${index} never reached a finished job`);
}

function* safeReadDir(dir: string): Generator<string> {
  try {
    for (const e of Deno.readDirSync(dir)) yield e.name;
  } catch { /* not created yet */ }
}

/** The steps inside the running cluster; returns every verdict. */
async function checkInCluster(o: Options): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  const report = (v: Verdict) => {
    verdicts.push(v);
    console.log(formatVerdict(v));
  };
  await Deno.remove(o.out, { recursive: true }).catch(() => {});
  await Deno.mkdir(o.out, { recursive: true });
  const dir = (name: string) => join(o.out, name);

  console.log(`== 1. unsharded ${o.figure} --scale ${o.scale}`);
  const unsharded = await timed(
    "unsharded run",
    () => run([Deno.execPath(), "task", o.figure, "--scale", o.scale, "--out", dir("unsharded")]),
  );
  report(exitVerdict("unsharded run", `deno task ${o.figure}`, unsharded.code));
  const reference = {
    name: "unsharded data.csv",
    bytes: await readBytes(csvOf(dir("unsharded"), o)),
  };

  console.log(`== 2. sweep.sh: ${o.shards} shards as a job array, then merge and draw`);
  const clean = await timed("sharded sweep", async () => {
    const jobs = await submitSweep(o, dir("sharded"), FIGURE_FLAGS);
    await waitJobs([jobs.array, jobs.merge]);
    return jobs;
  });
  report(await allCompleted("sharded jobs", [clean.array], [clean.merge]));
  report(sameBytesVerdict("sharded = unsharded", {
    name: "sharded data.csv",
    bytes: await readBytes(csvOf(dir("sharded"), o)),
  }, reference));
  report(mergeSpentVerdict("merge job trains nothing", await mergeSpent(dir("sharded"), o)));

  console.log("== 3. overlapping shards: every shard twice at once into the same stores");
  await timed("overlapping sweep", async () => {
    const second = await submitShards(o, dir("overlap"), `0-${o.shards - 1}`, FIGURE_FLAGS);
    const first = await submitSweep(o, dir("overlap"), FIGURE_FLAGS);
    await must([
      "scontrol",
      "update",
      `JobId=${first.merge}`,
      `Dependency=afterok:${first.array}:${second}`,
    ]);
    await waitJobs([first.array, second, first.merge]);
    report(await allCompleted("overlapping jobs", [first.array, second], [first.merge]));
    const logs = [first.array, second].flatMap((array) =>
      Array.from({ length: o.shards }, (_, i) => join(dir("overlap"), `slurm-${array}_${i}.log`))
    );
    const cleanJobs = await Promise.all(
      Array.from(
        { length: o.shards },
        (_, i) => storedJobs(join(dir("sharded"), `shard-${i}`, "sweep")),
      ),
    );
    report(overlapVerdict(
      "overlapping shards train each job once",
      cleanJobs.reduce((s, jobs) => s + jobs.length, 0),
      await Promise.all(
        logs.map(async (log) => parseShardReport(await Deno.readTextFile(log).catch(() => ""))),
      ),
    ));
  });
  report(sameBytesVerdict("overlapping = unsharded", {
    name: "overlap data.csv",
    bytes: await readBytes(csvOf(dir("overlap"), o)),
  }, reference));

  console.log("== 4. scancel array task 0 mid-run, resubmit it");
  await timed("kill and resubmit", async () => {
    const out = dir("faults");
    const store = join(out, "shard-0", "sweep");
    const jobs = await submitSweep(o, out, FIGURE_FLAGS);
    const atKill = await killMidRun(jobs.array, 0, store);
    await waitJobs([jobs.merge]);
    report(mergeHeldVerdict("merge job held after the kill", await mergeState(jobs.merge, out)));
    const resubmitted = await submitShards(o, out, "0", FIGURE_FLAGS);
    const others = Array.from({ length: o.shards - 1 }, (_, i) => `${jobs.array}_${i + 1}`);
    const merge2 = await submitMerge(o, out, [resubmitted, ...others], FIGURE_FLAGS);
    await waitJobs([jobs.array, resubmitted, merge2]);
    const tasks = await arrayTasks(jobs.array);
    report(
      await allCompleted("resubmitted jobs", [resubmitted], [
        ...others.map((t) => {
          const index = Number(t.split("_")[1]);
          return tasks.get(index) ?? t;
        }),
        merge2,
      ]),
    );
    report(stateVerdict(
      "killed task visible in sacct",
      await sacct(),
      tasks.get(0) ?? "?",
      `array task ${jobs.array}_0`,
      "CANCELLED",
    ));
    const log = await Deno.readTextFile(join(out, `slurm-${resubmitted}_0.log`)).catch(() => "");
    report(resumeVerdict("nothing redone", {
      clean: await storedJobs(join(dir("sharded"), "shard-0", "sweep")),
      beforeKill: atKill.finished,
      afterResubmit: await storedJobs(store),
      report: parseShardReport(log),
    }));
    const finished = new Map<string, FinishedState | null>();
    for (const p of atKill.partials) {
      const text = await Deno.readTextFile(join(store, "states", `${p.id}.json`)).catch(() => null);
      finished.set(p.id, text === null ? null : JSON.parse(text) as FinishedState);
    }
    report(partialResumeVerdict("unfinished job resumed", atKill.partials, finished));
  });
  report(sameBytesVerdict("killed and resubmitted = unsharded", {
    name: "faults data.csv",
    bytes: await readBytes(csvOf(dir("faults"), o)),
  }, reference));

  console.log("== 5. a failing shard (bad flag --workers 0)");
  const bad = await submitSweep(o, dir("bad"), ["--workers", "0"]);
  await waitJobs([bad.array, bad.merge]);
  report(failureVerdict(
    "failed shard stops the merge",
    await sacct(),
    [...(await arrayTasks(bad.array)).values()],
    await mergeState(bad.merge, dir("bad")),
  ));
  return verdicts;
}

/** Processes of the cluster's daemons still alive (zombies excluded), as `pid name` lines. */
async function leftDaemons(): Promise<string[]> {
  const { stdout } = await run(["ps", "-eo", "pid=,stat=,comm="]);
  return stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter(([, stat, comm]) =>
    stat && !stat.startsWith("Z") && /^(slurmctld|slurmd|slurmstepd|munged)$/.test(comm ?? "")
  ).map(([pid, , comm]) => `${pid} ${comm}`);
}

function options(args: string[]): (Options & { inCluster: boolean }) | null {
  const parsed = parseToolArgs("slurm-check", args, {
    out: { type: "string", default: "tmp/slurm-check" },
    figure: { type: "string", default: "fig3" },
    scale: { type: "string", default: "smoke" },
    shards: { type: "string", default: "3" },
    "in-cluster": { type: "boolean", default: false },
  }, { help: HELP });
  if (!parsed) return null;
  const shards = Number(parsed.values.shards);
  if (!Number.isInteger(shards) || shards < 2) {
    throw new CliError(
      `slurm-check: --shards must be an integer >= 2, got "${parsed.values.shards}"`,
    );
  }
  return {
    out: resolve(REPO, parsed.values.out),
    figure: parsed.values.figure,
    scale: parsed.values.scale,
    shards,
    inCluster: parsed.values["in-cluster"],
  };
}

async function main(args: string[]): Promise<void> {
  const o = options(args);
  if (!o) return;
  if (o.inCluster) {
    // Every job runs this Deno (sbatch passes the environment on).
    Deno.env.set("DENO", Deno.execPath());
    const verdicts = await checkInCluster(o);
    Deno.exit(verdicts.every((v) => v.pass) ? 0 : 1);
  }
  const t0 = performance.now();
  // The checks run inside cluster.sh, whose exit trap stops the daemons whatever happens.
  const child = await new Deno.Command("bash", {
    args: [
      join(SLURM_DIR, "cluster.sh"),
      Deno.execPath(),
      "run",
      "-A",
      fileURLToPath(import.meta.url),
      ...args,
      "--in-cluster",
    ],
    cwd: REPO,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  let left: string[] = [];
  for (let i = 0; i < 20; i++) {
    left = await leftDaemons();
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const last = noDaemonVerdict("no daemon left", left);
  console.log(formatVerdict(last));
  const ok = child.code === 0 && last.pass;
  console.log(
    `slurm-check: ${ok ? "PASS" : "FAIL"} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  if (!ok) Deno.exit(1);
}

if (import.meta.main) await runMain(() => main(Deno.args));
