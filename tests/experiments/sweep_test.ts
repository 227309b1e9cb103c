import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { switchAt } from "../../core/schedule.ts";
import { planSweep, type RunRequest } from "../../core/sweep/mod.ts";
import { SweepStore } from "../../core/sweep/store.ts";
import { executeJob } from "../../experiments/jobs.ts";
import { RUN_COSTS } from "../../experiments/runs.ts";
import { seededSettings } from "../../experiments/run_settings.ts";
import { SMOKE_SETTINGS } from "../../experiments/settings.ts";
import { planRuns, runRecords, runStoreJobs } from "../../experiments/sweep.ts";
import { captureErrors, HAVE_FMNIST } from "../_helpers.ts";

// The reference CNN on 192 Fashion-MNIST images, 3 epochs of 3 steps.
const settings = { ...SMOKE_SETTINGS, trainSize: 192, testSize: 64 };
const T = 3;
const run = (seed: number, at: number): RunRequest => ({
  base: seededSettings(settings, seed, T),
  epochs: T,
  phases: switchAt({ first: "sgd", then: "sam", at, epochs: T }),
});

async function execute(store: SweepStore, runs: RunRequest[], workers = 1) {
  const plan = planSweep({ runs }, RUN_COSTS);
  const report = await runStoreJobs(store, plan.jobs, { workers });
  return { plan, report };
}

const bytes = (store: SweepStore, id: string) => Deno.readFile(store.checkpointPath(id));

Deno.test({
  name: "a branched run is bitwise the run trained from scratch, on 1 or 2 workers",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const runs = [run(0, T), run(0, 1), run(1, 2)];
      const branched = new SweepStore(join(root, "branched"), "test");
      const { plan } = await execute(branched, runs);
      assert.ok(plan.cost < plan.independentCost, "the switched run should branch");
      // The switched run alone: one job from epoch 0, no branching.
      const scratch = new SweepStore(join(root, "scratch"), "test");
      const alone = await execute(scratch, [runs[1]]);
      assert.equal(alone.plan.jobs.length, 1);
      const id = plan.runs[1];
      assert.deepEqual(await bytes(scratch, id), await bytes(branched, id));
      const noTimes = (records: { seconds: number }[]) =>
        records.map((r) => ({ ...r, seconds: 0 }));
      assert.deepEqual(
        noTimes(await runRecords({ store: scratch }, id)),
        noTimes(await runRecords({ store: branched }, id)),
      );
      // Two worker processes: the same bytes for every state.
      const parallel = new SweepStore(join(root, "parallel"), "test");
      await execute(parallel, runs, 2);
      for (const job of plan.jobs) {
        assert.deepEqual(await bytes(parallel, job.id), await bytes(branched, job.id), job.id);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "a run's records are whole when another plan stored its prefix as a shorter segment",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const store = new SweepStore(join(root, "sweep"), "test");
      // Cuts at epochs 1 and 2: the SGD trunk is stored as [0,1), [1,2), [2,3).
      await execute(store, [run(0, T), run(0, 1), run(0, 2)]);
      // This plan cuts only at 2; its job [0,2) is the state stored from the segment [1,2).
      const { plan, report } = await execute(store, [run(0, T), run(0, 2)]);
      assert.equal(report.executed.length, 0);
      const records = await runRecords({ store }, plan.runs[0]);
      assert.deepEqual(records.map((r) => r.epoch), [0, 1, 2]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "a killed sweep resumes: finished jobs are not recomputed, results are unchanged",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const reference = new SweepStore(join(root, "reference"), "test");
      const runs = [run(0, T), run(0, 1)];
      const { plan } = await execute(reference, runs);
      // Same sweep through the fig1 CLI in a child process, killed once a state is stored.
      const out = join(root, "killed");
      const args = [
        "run",
        "-A",
        fileURLToPath(new URL("../../experiments/fig1.ts", import.meta.url)),
        "--scale",
        "smoke",
        "--train-size",
        "192",
        "--test-size",
        "64",
        "--epochs",
        "3",
        "--switch-at",
        "1",
        "--seeds",
        "0",
        "--workers",
        "1",
        "--out",
        out,
      ];
      const child = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "null" })
        .spawn();
      const states = join(out, "sweep", "states");
      const stored = async () => {
        const names: string[] = [];
        try {
          for await (const e of Deno.readDir(states)) {
            if (e.name.endsWith(".json")) names.push(e.name);
          }
        } catch { /* not created yet */ }
        return names;
      };
      while ((await stored()).length === 0) await new Promise((r) => setTimeout(r, 50));
      child.kill("SIGKILL");
      await child.status;
      const first = await stored();
      const mtimes = new Map(
        await Promise.all(
          first.map(async (n) => [n, (await Deno.stat(join(states, n))).mtime?.getTime()] as const),
        ),
      );
      const rerun = await new Deno.Command(Deno.execPath(), {
        args,
        stdout: "null",
        stderr: "piped",
      })
        .output();
      assert.ok(rerun.success, new TextDecoder().decode(rerun.stderr));
      for (const [name, mtime] of mtimes) {
        assert.equal(
          (await Deno.stat(join(states, name))).mtime?.getTime(),
          mtime,
          `${name} rewritten`,
        );
      }
      // The resumed sweep's SGD and switched runs equal the uninterrupted ones bit for bit.
      const killedStore = await Array.fromAsync(Deno.readDir(states));
      for (const id of plan.runs) {
        assert.ok(killedStore.some((e) => e.name === `${id}.safetensors`), `run ${id} missing`);
        assert.deepEqual(
          await Deno.readFile(join(states, `${id}.safetensors`)),
          await bytes(reference, id),
        );
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "a job interrupted mid-way resumes from its last epoch checkpoint, bitwise",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const reference = new SweepStore(join(root, "reference"), "test");
      const { plan } = await execute(reference, [run(0, 1)]);
      const [job] = plan.jobs;
      const store = new SweepStore(join(root, "interrupted"), "test");
      // Crash in the second epoch (ticks: 3 SGD steps, then 2 per SAM step): epoch 0 is in the
      // partial checkpoint.
      let ticks = 0;
      await assert.rejects(
        executeJob(job, {
          store,
          tick: () => {
            if (++ticks > 7) throw new Error("power cut");
          },
        }),
        /power cut/,
      );
      assert.ok(await Deno.stat(store.partialPath(job.id)));
      assert.equal(await store.readState(job.id), null);
      // A damaged copy of that checkpoint (one byte flipped) is named, kept aside and not used:
      // the job restarts from its parent and still ends bitwise equal.
      const damaged = new SweepStore(join(root, "damaged"), "test");
      await damaged.ensure();
      const partial = await Deno.readFile(store.partialPath(job.id));
      partial[partial.length - 5] ^= 0x40;
      await Deno.writeFile(damaged.partialPath(job.id), partial);
      const { lines } = await captureErrors(() => executeJob(job, { store: damaged }));
      assert.ok(
        lines.some((l) => /resume checkpoint: .*digest.* — recomputing/.test(l)),
        lines.join("\n"),
      );
      assert.ok(await Deno.stat(`${damaged.partialPath(job.id)}.corrupt`));
      assert.deepEqual(await bytes(damaged, job.id), await bytes(reference, job.id));
      await executeJob(job, { store });
      assert.deepEqual(await bytes(store, job.id), await bytes(reference, job.id));
      await assert.rejects(Deno.stat(store.partialPath(job.id)), Deno.errors.NotFound);
      const noTimes = (records: { seconds: number }[]) =>
        records.map((r) => ({ ...r, seconds: 0 }));
      assert.deepEqual(
        noTimes(await runRecords({ store }, job.id)),
        noTimes(await runRecords({ store: reference }, job.id)),
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("planRuns lists each requested run once with its seed, epochs and phases", () => {
  const runs = [run(0, T), run(0, 1), run(1, 2), run(0, 1)];
  const plan = planSweep({ runs }, RUN_COSTS);
  assert.deepEqual(planRuns(plan), [
    { id: plan.runs[0], seed: 0, epochs: T, phases: "sgd:3" },
    { id: plan.runs[1], seed: 0, epochs: T, phases: "sgd:1,sam:2" },
    { id: plan.runs[2], seed: 1, epochs: T, phases: "sgd:2,sam:1" },
  ]);
  assert.throws(() => planRuns({ ...plan, runs: ["nope"] }), /no train job for run nope/);
});
