import assert from "node:assert/strict";
import { join } from "node:path";
import { runFigure } from "../../core/figure.ts";
import { switchAt } from "../../core/schedule.ts";
import { planSweep } from "../../core/sweep/mod.ts";
import { SweepStore } from "../../core/sweep/store.ts";
import { fig4a } from "../../experiments/fig4a.ts";
import { RUN_COSTS } from "../../experiments/runs.ts";
import { seededSettings } from "../../experiments/run_settings.ts";
import { SMOKE_SETTINGS } from "../../experiments/settings.ts";
import { runStoreJobs } from "../../experiments/sweep.ts";
import { auditFigure, figureAuditLines, PROJECT_ROOT } from "../../reports/audit_figure.ts";
import { auditRun, runAuditLines, storedChain, workerCodeHash } from "../../reports/audit_run.ts";
import {
  compareOutputs,
  csvDifferences,
  provenanceFindings,
  recordDifference,
} from "../../reports/compare.ts";
import { scriptTasks, TaskError, taskFor } from "../../reports/tasks.ts";
import { HAVE_FMNIST } from "../_helpers.ts";

/** A seconds-long fig4a: the smoke config with fewer, shorter escape trials. */
const TINY_FIG4A = ["--scale", "smoke", "--escape.trials", "4", "--escape.steps", "40"];

const decoder = new TextDecoder();

Deno.test("outputs match only when manifest, stored file and re-run agree", () => {
  const recorded = { "a.csv": "1", "b.svg": "2", "c.png": "3", "d.json": "4" };
  const stored = { "a.csv": "1", "b.svg": "9", "c.png": null, "d.json": "4" };
  const rerun = { "a.csv": "1", "b.svg": "2", "c.png": "3", "e.txt": "5" };
  assert.deepEqual(
    compareOutputs(recorded, stored, rerun).map((f) => `${f.file}:${f.status}`),
    [
      "a.csv:match",
      "b.svg:stored file altered",
      "c.png:stored file missing",
      "d.json:missing in rerun",
      "e.txt:not in stored manifest",
    ],
  );
  assert.equal(compareOutputs({ x: "1" }, { x: "1" }, { x: "2" })[0].status, "rerun differs");
});

Deno.test("CSV differences name the first differing lines and count them", () => {
  const a = "h,x\nr,1\nr,2\nr,3\n";
  const b = "h,x\nr,1\nr,5\nr,3\nr,4\n";
  const d = csvDifferences(a, b);
  assert.deepEqual(d.differences, [
    { line: 3, stored: "r,2", rerun: "r,5" },
    { line: 5, stored: null, rerun: "r,4" },
  ]);
  assert.equal(d.total, 2);
  assert.deepEqual([d.storedLines, d.rerunLines], [4, 5]);
  assert.equal(csvDifferences(a, a).total, 0);
  assert.equal(csvDifferences("1\n2\n3\n", "4\n5\n6\n", 2).differences.length, 2);
});

Deno.test("record comparison ignores wall time and names the first differing field", () => {
  const stored = [{ epoch: 0, testAcc: 0.5, seconds: 3 }, { epoch: 1, testAcc: 0.6, seconds: 4 }];
  assert.equal(recordDifference(stored, stored.map((r) => ({ ...r, seconds: 99 }))), null);
  assert.equal(
    recordDifference(stored, [stored[0], { ...stored[1], testAcc: 0.7 }]),
    "epoch 1: testAcc 0.6 → 0.7",
  );
  assert.equal(recordDifference(stored, [stored[0]]), "2 epoch records stored, 1 re-run");
});

Deno.test("provenance findings: commit, dirty trees, lock and source files", () => {
  const same = { commit: "a".repeat(40), dirty: false, lockSha256: "l", codeHash: "c" };
  assert.deepEqual(provenanceFindings(same, same), []);
  const found = provenanceFindings(
    { ...same, dirty: true },
    { commit: "b".repeat(40), dirty: true, lockSha256: "m", codeHash: "d" },
  );
  assert.equal(found.length, 5);
  assert.match(found[0], /code commit differs: .*aaaaaaaaaaaa.*bbbbbbbbbbbb/);
  assert.match(found.join("\n"), /uncommitted changes/);
  assert.match(found.join("\n"), /deno\.lock differs/);
  assert.match(found.join("\n"), /source files differ/);
});

Deno.test("figure tasks come from deno.json; a figure maps to its task or a prefix task", async () => {
  const tasks = scriptTasks(await Deno.readTextFile(join(PROJECT_ROOT, "deno.json")));
  const names = tasks.map((t) => t.name);
  for (const name of ["fig1", "fig3", "fig4a", "fig4b", "fig4c", "fig5", "train", "audit"]) {
    assert.ok(names.includes(name), name);
  }
  assert.equal(taskFor("fig4a", tasks).script, "experiments/fig4a.ts");
  const more = [...tasks, { name: "theory", script: "experiments/theory.ts" }];
  assert.equal(taskFor("theory-p2", more).name, "theory");
  assert.equal(taskFor("fig4a", tasks, { task: "fig1" }).name, "fig1");
  assert.throws(() => taskFor("nothing", tasks), TaskError);
  assert.throws(() => taskFor("fig4a", tasks, { task: "nope" }), /no task "nope"/);
  assert.deepEqual(
    scriptTasks('{"tasks": {"a": "deno test -A", "b": {"command": "deno run x.ts"}}}'),
    [
      { name: "b", script: "x.ts" },
    ],
  );
});

Deno.test("audit re-runs a smoke figure to a full match, and names a tampered CSV", async () => {
  const root = await Deno.makeTempDir();
  try {
    const out = join(root, "results");
    const outcome = await runFigure(fig4a, [...TINY_FIG4A, "--out", out]);
    const dir = outcome!.dir;
    const audit = await auditFigure(dir, { scratch: join(root, "scratch") });
    const lines = figureAuditLines(audit);
    assert.ok(audit.ok, lines.join("\n"));
    assert.deepEqual(
      audit.files.map((f) => `${f.file}:${f.status}`),
      ["data.csv:match", "figure.png:match", "figure.svg:match", "spec.vl.json:match"],
    );
    assert.ok(audit.checks.every((c) => c.ok));
    assert.match(lines.at(-1)!, /audit fig4a: FULL MATCH \(4 of 4 files byte-identical\)/);
    assert.ok(audit.command.includes("--config") && audit.command.includes("--force"));
    await assert.rejects(Deno.stat(join(root, "scratch")), "the scratch folder is removed");

    // Tamper with one number of the stored CSV.
    const csvPath = join(dir, "data.csv");
    const lines0 = (await Deno.readTextFile(csvPath)).split("\n");
    lines0[3] = lines0[3].replace(/,(\d)/, ",9$1");
    await Deno.writeTextFile(csvPath, lines0.join("\n"));
    const out2 = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(PROJECT_ROOT, "reports/audit.ts"), dir, "--quiet"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = decoder.decode(out2.stdout);
    assert.equal(out2.code, 1, stdout + decoder.decode(out2.stderr));
    assert.match(stdout, /MISMATCH {2}data\.csv +stored file altered/);
    assert.match(
      stdout,
      /data\.csv: 1 differing line .*first:\n {4}line 4 stored: .*\n {4}line 4 re-run: /,
    );
    assert.match(stdout, /audit fig4a: MISMATCH in data\.csv/);
    assert.match(stdout, /match {5}figure\.svg/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the audit command resolves figure names and rejects unknown targets", async () => {
  const root = await Deno.makeTempDir();
  try {
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(PROJECT_ROOT, "reports/audit.ts"), ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const unknown = await run(["nothing", "--out", root]);
    assert.equal(unknown.code, 2);
    assert.match(decoder.decode(unknown.stderr), /neither a figure folder, a figure under/);
    const none = await run([]);
    assert.equal(none.code, 2);
    const help = await run(["--help"]);
    assert.match(decoder.decode(help.stdout), /Usage: deno task audit TARGET/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "audit of a run hash re-trains its chain to the same checkpoints and records",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      // Two runs sharing an SGD epoch: the switched run's chain has two train jobs.
      const settings = { ...SMOKE_SETTINGS, trainSize: 128, testSize: 64 };
      const runs = [0, 1].map((at) => ({
        base: seededSettings(settings, 0, 2),
        epochs: 2,
        phases: switchAt({ first: "sgd", then: "sam", at: 1 + at, epochs: 2 }),
      }));
      const plan = planSweep({ runs }, RUN_COSTS);
      const store = new SweepStore(join(root, "results", "sweep"), await workerCodeHash());
      await runStoreJobs(store, plan.jobs, { workers: 1, inProcess: false });
      const id = plan.runs[0]; // sgd:1,sam:1
      assert.equal((await storedChain(store.root, id)).length, 2);
      const audit = await auditRun(store.root, id, { scratch: join(root, "scratch") });
      assert.ok(audit.ok, runAuditLines(audit).join("\n"));
      assert.equal(audit.states.length, 2);
      assert.deepEqual(audit.provenance, []);
      assert.match(runAuditLines(audit).at(-1)!, /FULL MATCH \(2 of 2 states\)/);

      // Tamper with the stored test accuracy of the last epoch: the records differ.
      const recordPath = join(store.root, "states", `${id}.json`);
      const record = JSON.parse(await Deno.readTextFile(recordPath));
      record.records[0].testAcc += 0.125;
      await Deno.writeTextFile(recordPath, JSON.stringify(record));
      const tampered = await auditRun(store.root, id);
      assert.equal(tampered.ok, false);
      assert.equal(tampered.states[0].ok, true, "the trunk is untouched");
      assert.match(tampered.states[1].recordDifference!, /^epoch 1: testAcc /);
      assert.match(runAuditLines(tampered).join("\n"), /MISMATCH .*records differ: epoch 1/);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
