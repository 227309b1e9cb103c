/**
 * One process of the cooperating-runs test: runs a tiny sweep (the reference CNN on 192
 * Fashion-MNIST images, 2 seeds × 3 switch points of 3 epochs) against the store named by the
 * first argument, in this process, and prints what it spent as JSON on stdout. With a second
 * argument, a folder, it first writes `ready-<pid>` there and waits for `go` (so that several
 * processes start together).
 *
 * @module
 */
import { switchAt } from "../../core/schedule.ts";
import { planSweep, type RunRequest, SweepStore } from "../../core/sweep/mod.ts";
import { RUN_COSTS } from "../../experiments/runs.ts";
import { seededSettings } from "../../experiments/run_settings.ts";
import { SMOKE_SETTINGS } from "../../experiments/settings.ts";
import { runStoreJobs } from "../../experiments/store_jobs.ts";

const settings = { ...SMOKE_SETTINGS, trainSize: 192, testSize: 64 };
const T = 3;

/** The sweep's runs: per seed, SGD throughout, a switch after 1 and after 2 epochs. */
export const COOPERATING_RUNS: RunRequest[] = [0, 1].flatMap((seed) =>
  [T, 1, 2].map((at) => ({
    base: seededSettings(settings, seed, T),
    epochs: T,
    phases: switchAt({ first: "sgd", then: "sam", at, epochs: T }),
  }))
);

if (import.meta.main) {
  const [root, barrier] = Deno.args;
  if (barrier) {
    await Deno.writeTextFile(`${barrier}/ready-${Deno.pid}`, "");
    while (!(await Deno.stat(`${barrier}/go`).then(() => true, () => false))) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const plan = planSweep({ runs: COOPERATING_RUNS }, RUN_COSTS);
  const store = new SweepStore(root, "cooperating-test");
  const report = await runStoreJobs(store, plan.jobs, { workers: 1, retryMs: 200 });
  console.log(JSON.stringify({ planned: plan.cost, spent: report.spentCost, report }));
}
