import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  completedVerdict,
  exitVerdict,
  failureVerdict,
  formatVerdict,
  mergeHeldVerdict,
  mergeSpentVerdict,
  noDaemonVerdict,
  overlapVerdict,
  parseSacct,
  parseShardReport,
  partialResumeVerdict,
  partialStates,
  resumeVerdict,
  sameBytesVerdict,
  stateVerdict,
  type StoredJob,
  storedJobs,
} from "../../experiments/slurm/verdicts.ts";
import * as tf from "@tensorflow/tfjs";
import { encodeCheckpoint } from "../../core/checkpoint.ts";
import { withTempDir } from "../_helpers.ts";

const SACCT = "7|COMPLETED|0:0\n8|FAILED|1:0\n9|CANCELLED by 0|0:15\n10|COMPLETED|0:0\n";

Deno.test("parseSacct: job id, first word of the state, exit code", () => {
  const rows = parseSacct(SACCT);
  assert.deepEqual(rows.get("9"), { jobId: "9", state: "CANCELLED", exitCode: "0:15" });
  assert.equal(rows.size, 4);
});

Deno.test("completedVerdict: PASS when every job completed 0:0, FAIL otherwise", () => {
  const rows = parseSacct(SACCT);
  assert.equal(completedVerdict("s", rows, ["7", "10"]).pass, true);
  const failed = completedVerdict("s", rows, ["7", "8"]);
  assert.equal(failed.pass, false);
  assert.match(failed.detail, /8 FAILED 1:0/);
  assert.equal(completedVerdict("s", rows, ["7", "11"]).pass, false, "a job sacct never saw");
  assert.equal(completedVerdict("s", rows, []).pass, false, "no jobs proves nothing");
});

Deno.test("failureVerdict: PASS when the shards failed and the merge never ran", () => {
  const rows = parseSacct("1|FAILED|1:0\n2|FAILED|2:0\n3|COMPLETED|0:0\n");
  const held = { id: "4", state: "CANCELLED", reason: "DependencyNeverSatisfied", ran: false };
  assert.equal(failureVerdict("f", rows, ["1", "2"], held).pass, true);
  const pending = { ...held, state: "PENDING" };
  assert.equal(failureVerdict("f", rows, ["1", "2"], pending).pass, true);
  assert.equal(failureVerdict("f", rows, ["1", "3"], held).pass, false, "a shard succeeded");
  assert.equal(failureVerdict("f", rows, ["1"], { ...held, ran: true }).pass, false);
  assert.equal(
    failureVerdict("f", rows, ["1"], { ...held, state: "COMPLETED", reason: "None" }).pass,
    false,
  );
  assert.equal(
    failureVerdict("f", rows, ["1"], { ...held, state: "PENDING", reason: "Dependency" }).pass,
    false,
    "still waiting is not yet held for good",
  );
});

Deno.test("completedVerdict names array tasks by their labels", () => {
  const v = completedVerdict("s", parseSacct(SACCT), ["7", "8"], new Map([["8", "5_1"]]));
  assert.match(v.detail, /5_1 \(job 8\) FAILED 1:0/);
});

Deno.test("mergeHeldVerdict: PASS when the merge job is cancelled or held for good", () => {
  const merge = { id: "4", state: "CANCELLED", reason: "DependencyNeverSatisfied", ran: false };
  assert.equal(mergeHeldVerdict("m", merge).pass, true);
  assert.equal(mergeHeldVerdict("m", { ...merge, state: "PENDING" }).pass, true);
  assert.equal(mergeHeldVerdict("m", { ...merge, state: "COMPLETED", reason: "None" }).pass, false);
  assert.equal(mergeHeldVerdict("m", { ...merge, ran: true }).pass, false);
});

Deno.test("stateVerdict: PASS on the expected sacct state, FAIL on another or none", () => {
  const rows = parseSacct(SACCT);
  assert.equal(stateVerdict("k", rows, "9", "3_0", "CANCELLED").pass, true);
  assert.equal(stateVerdict("k", rows, "7", "3_0", "CANCELLED").pass, false);
  assert.equal(stateVerdict("k", rows, "99", "3_0", "CANCELLED").pass, false);
});

Deno.test("mergeSpentVerdict, exitVerdict, noDaemonVerdict: PASS only on zero / nothing", () => {
  assert.equal(mergeSpentVerdict("s", 0).pass, true);
  assert.equal(mergeSpentVerdict("s", 96).pass, false, "the merge job trained");
  assert.equal(mergeSpentVerdict("s", undefined).pass, false, "no manifest");
  assert.equal(exitVerdict("e", "deno task fig3", 0).pass, true);
  assert.equal(exitVerdict("e", "deno task fig3", 1).pass, false);
  assert.equal(noDaemonVerdict("d", []).pass, true);
  assert.equal(noDaemonVerdict("d", ["123 slurmd"]).pass, false);
});

Deno.test("sameBytesVerdict: PASS on equal bytes, FAIL naming the first differing byte", () => {
  const a = { name: "a", bytes: new TextEncoder().encode("x,y\n1,2\n") };
  assert.equal(sameBytesVerdict("c", a, { name: "b", bytes: a.bytes.slice() }).pass, true);
  const differ = sameBytesVerdict("c", a, {
    name: "b",
    bytes: new TextEncoder().encode("x,y\n1,3\n"),
  });
  assert.equal(differ.pass, false);
  assert.match(differ.detail, /differ from byte 6/);
  const shorter = sameBytesVerdict("c", a, { name: "b", bytes: a.bytes.slice(0, 4) });
  assert.equal(shorter.pass, false);
  assert.equal(sameBytesVerdict("c", a, { name: "b", bytes: null }).pass, false);
  assert.match(formatVerdict(differ), /^FAIL c: /);
});

Deno.test("parseShardReport reads a shard's closing line", () => {
  const line = "fig3: shard 0/3 done (5 jobs run, 3 already stored) in out/sweep. Merge ...";
  assert.deepEqual(parseShardReport(`progress\n${line}\n`), { run: 5, stored: 3 });
  assert.equal(parseShardReport("error: --workers must be a positive integer"), null);
});

Deno.test("storedJobs: finished records with their cost; partials and temporary files are not", async () => {
  await withTempDir(async (root) => {
    await Deno.mkdir(join(root, "states"));
    await Deno.mkdir(join(root, "measures"));
    await Deno.writeTextFile(join(root, "states", "a.json"), JSON.stringify({ job: { cost: 96 } }));
    await Deno.writeTextFile(join(root, "states", "a.safetensors"), "x");
    await Deno.writeTextFile(join(root, "states", "b.partial.safetensors"), "x");
    await Deno.writeTextFile(join(root, "states", "c.json.tmp-1"), "{");
    await Deno.writeTextFile(
      join(root, "measures", "m.json"),
      JSON.stringify({ job: { cost: 40 } }),
    );
    const jobs = await storedJobs(root);
    assert.deepEqual(jobs.map((j) => [j.file, j.cost]), [["measures/m.json", 40], [
      "states/a.json",
      96,
    ]]);
    assert.deepEqual(await storedJobs(join(root, "missing")), []);
  });
});

const job = (file: string, cost: number, mtime = 1): StoredJob => ({ file, cost, mtime, ino: 1 });

Deno.test("resumeVerdict: PASS when the resubmitted task ran exactly the unfinished jobs", () => {
  const clean = [job("a", 100), job("b", 50), job("c", 20)];
  const beforeKill = [job("a", 100)];
  const afterResubmit = [job("a", 100), job("b", 50, 9), job("c", 20, 9)];
  const v = resumeVerdict("r", { clean, beforeKill, afterResubmit, report: { run: 2, stored: 1 } });
  assert.equal(v.pass, true, v.detail);
  assert.match(
    v.detail,
    /100 in 1 jobs finished before the kill \+ 70 in 2 jobs .* = 170 spent vs 170 clean/,
  );
});

Deno.test("resumeVerdict: FAIL when finished work was redone or the evidence is thin", () => {
  const clean = [job("a", 100), job("b", 50)];
  const base = {
    clean,
    beforeKill: [job("a", 100)],
    afterResubmit: [job("a", 100), job("b", 50, 9)],
    report: { run: 1, stored: 1 },
  };
  assert.equal(resumeVerdict("r", base).pass, true);
  // The finished record was written again (new mtime): the job ran twice.
  const rewritten = resumeVerdict("r", {
    ...base,
    afterResubmit: [job("a", 100, 5), job("b", 50, 9)],
  });
  assert.equal(rewritten.pass, false);
  assert.match(rewritten.detail, /1 finished records rewritten/);
  // The task says it ran both jobs although one was stored.
  assert.equal(resumeVerdict("r", { ...base, report: { run: 2, stored: 0 } }).pass, false);
  assert.equal(resumeVerdict("r", { ...base, report: null }).pass, false);
  // Killed before anything finished, or after everything: no evidence of resuming.
  assert.equal(
    resumeVerdict("r", { ...base, beforeKill: [], report: { run: 2, stored: 0 } }).pass,
    false,
  );
  assert.equal(
    resumeVerdict("r", {
      ...base,
      beforeKill: clean,
      afterResubmit: clean,
      report: { run: 0, stored: 2 },
    }).pass,
    false,
  );
  // A job the clean shard does not have (the plan changed): spent differs from clean.
  const extra = resumeVerdict("r", {
    ...base,
    afterResubmit: [...base.afterResubmit, job("z", 7, 9)],
    report: { run: 2, stored: 1 },
  });
  assert.equal(extra.pass, false);
  assert.match(extra.detail, /spent differs from clean/);
});

const epochs = [{ epoch: 13, seconds: 1.25 }, { epoch: 14, seconds: 1.5 }];

Deno.test("partialStates reads the epoch records of each partial checkpoint", async () => {
  await withTempDir(async (root) => {
    await Deno.mkdir(join(root, "states"));
    await tf.setBackend("cpu");
    const weight = tf.tensor([1, 2, 3]);
    const bytes = encodeCheckpoint({
      params: { w: weight },
      state: {},
      momentum: null,
      metadata: { records: JSON.stringify(epochs) },
    });
    weight.dispose();
    await Deno.writeFile(join(root, "states", "abc.partial.safetensors"), bytes);
    await Deno.writeFile(join(root, "states", "abc.safetensors"), bytes);
    assert.deepEqual(await partialStates(root), [{ id: "abc", records: epochs }]);
    // The same in a fresh process with slurm-check's imports, where no backend is ready yet.
    const module = new URL("../../experiments/slurm/verdicts.ts", import.meta.url).href;
    const check = new URL("../../experiments/slurm/check.ts", import.meta.url).href;
    const fresh = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `await import(${JSON.stringify(check)});` +
        `const { partialStates } = await import(${JSON.stringify(module)});` +
        `console.log(JSON.stringify(await partialStates(${JSON.stringify(root)})));`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const printed = new TextDecoder().decode(fresh.stdout).trim().split("\n").at(-1) ?? "";
    assert.deepEqual(JSON.parse(printed), [{ id: "abc", records: epochs }]);
    assert.deepEqual(await partialStates(join(root, "missing")), []);
  });
});

Deno.test("partialResumeVerdict: PASS when the finished job kept the partial's epochs, else FAIL", () => {
  const partial = [{ id: "abc", records: epochs }];
  const job = { from: 13, to: 16, cost: 48 };
  const resumed = { job, records: [...epochs, { epoch: 15, seconds: 1.1 }] };
  const v = partialResumeVerdict("p", partial, new Map([["abc", resumed]]));
  assert.equal(v.pass, true, v.detail);
  assert.match(v.detail, /2 epochs \(32 gradient evaluations\) kept/);
  // Retrained: the same epochs with their own wall times.
  const retrained = {
    job,
    records: [{ epoch: 13, seconds: 1.3 }, { epoch: 14, seconds: 1.5 }, { epoch: 15, seconds: 1 }],
  };
  assert.equal(partialResumeVerdict("p", partial, new Map([["abc", retrained]])).pass, false);
  assert.equal(partialResumeVerdict("p", partial, new Map([["abc", null]])).pass, false);
  assert.equal(partialResumeVerdict("p", [], new Map()).pass, false);
});

const CLUSTER = fileURLToPath(new URL("../../experiments/slurm/cluster.sh", import.meta.url));
const HAVE_SLURM = Deno.uid() === 0 &&
  ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged"].every((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });

Deno.test({
  name: "cluster.sh: the node comes up idle, the command's status is kept, no daemon is left",
  ignore: !HAVE_SLURM,
  fn: async () => {
    const out = await new Deno.Command("bash", {
      args: [CLUSTER, "bash", "-c", "sinfo -h -o %t; exit 7"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "idle");
    assert.equal(out.code, 7);
    const pids = /daemon pids ([\d ]+)/.exec(new TextDecoder().decode(out.stderr))?.[1];
    assert.ok(pids, "cluster.sh names its daemons");
    const alive = await new Deno.Command("bash", {
      args: ["-c", `for p in ${pids}; do kill -0 $p 2>/dev/null && echo $p; done; true`],
      stdout: "piped",
    }).output();
    const left = new TextDecoder().decode(alive.stdout).trim().split("\n").filter(Boolean);
    assert.deepEqual(left, []);
  },
});

Deno.test("cluster.sh and sweep.sh print their usage without arguments", async () => {
  for (const script of ["cluster.sh", "sweep.sh"]) {
    const path = fileURLToPath(new URL(`../../experiments/slurm/${script}`, import.meta.url));
    const out = await new Deno.Command("bash", { args: [path], stdout: "piped" }).output();
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stdout), /experiments\/slurm\//);
  }
});

Deno.test("overlapVerdict: each job trained once passes; a job trained twice or a lost report fails", () => {
  const report = (run: number, stored: number) => ({ run, stored });
  // Shard 0's two copies split its 3 jobs; shard 1's first copy ran both of its jobs.
  const once = overlapVerdict("o", 5, [report(2, 1), report(1, 2), report(2, 0), report(0, 2)]);
  assert.ok(once.pass, once.detail);
  const twice = overlapVerdict("o", 5, [report(3, 0), report(1, 2), report(2, 0), report(0, 2)]);
  assert.ok(!twice.pass);
  assert.match(twice.detail, /6 jobs run where the clean run has 5/);
  const lost = overlapVerdict("o", 5, [report(3, 0), null, report(2, 0), report(0, 2)]);
  assert.ok(!lost.pass);
  assert.match(lost.detail, /1 of 4 tasks printed no shard report/);
});
