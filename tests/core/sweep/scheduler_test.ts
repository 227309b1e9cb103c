import assert from "node:assert/strict";
import { type Job, planSweep, type RunRequest } from "../../../core/sweep/plan.ts";
import { criticalPathCost, executeJobs } from "../../../core/sweep/scheduler.ts";
import { switchAt } from "../../../core/schedule.ts";

const T = 6;
const runs: RunRequest[] = [0, 1, 2].flatMap((seed) =>
  [6, 4, 2, 0].map((at) => ({
    base: { seed },
    epochs: T,
    phases: switchAt({ first: "sgd", then: "sam", at, epochs: T }),
  }))
);
const plan = planSweep({ runs }, { stepsPerEpoch: () => 1 });

async function simulate(workers: number, done = new Set<string>()) {
  const finished = new Set(done);
  const order: string[] = [];
  let active = 0;
  let peak = 0;
  const report = await executeJobs(plan.jobs, {
    workers,
    isDone: (job) => Promise.resolve(done.has(job.id)),
    hasState: (id) => Promise.resolve(finished.has(id)),
    execute: async (job: Job) => {
      if (job.kind === "train" && job.parent !== null) assert.ok(finished.has(job.parent));
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 1));
      active--;
      finished.add(job.id);
      order.push(job.id);
    },
  });
  return { report, order, peak, finished };
}

Deno.test("every job runs once, after its parent, with at most `workers` at a time", async () => {
  for (const workers of [1, 2, 5]) {
    const { report, order, peak } = await simulate(workers);
    assert.equal(new Set(order).size, plan.jobs.length);
    assert.equal(report.executed.length, plan.jobs.length);
    assert.equal(report.spentCost, plan.cost);
    assert.ok(peak <= workers, `peak ${peak} > ${workers}`);
    if (workers > 1) assert.ok(peak > 1, "independent seeds should run in parallel");
  }
});

Deno.test("finished jobs are skipped and their cost is not spent again (resume)", async () => {
  const firstHalf = new Set(plan.jobs.slice(0, 7).map((j) => j.id));
  const { report } = await simulate(2, firstHalf);
  assert.equal(report.skipped.length, 7);
  assert.equal(report.executed.length, plan.jobs.length - 7);
  assert.ok(report.executed.every((id) => !firstHalf.has(id)));
});

Deno.test("a failure stops new jobs and is reported with the job named", async () => {
  const bad = plan.jobs[0].id;
  let ran = 0;
  await assert.rejects(
    executeJobs(plan.jobs, {
      workers: 1,
      isDone: () => Promise.resolve(false),
      hasState: () => Promise.resolve(false),
      execute: (job) => {
        ran++;
        return job.id === bad ? Promise.reject(new Error("boom")) : Promise.resolve();
      },
    }),
    new RegExp(`train job ${bad.slice(0, 12)} failed: boom`),
  );
  assert.ok(ran < plan.jobs.length);
});

Deno.test("a dependency outside the job list must already be stored", async () => {
  const tail = plan.jobs.filter((j) => j.kind === "train" && j.parent !== null);
  await assert.rejects(
    executeJobs(tail.slice(0, 1), {
      workers: 1,
      isDone: () => Promise.resolve(false),
      hasState: () => Promise.resolve(false),
      execute: () => Promise.resolve(),
    }),
    /neither in this shard nor in the store/,
  );
});

Deno.test("the critical path is one seed's longest chain", () => {
  // Trunk 6 SGD epochs, or the full-SAM run: 6 epochs × 2 passes = 12 batch gradients.
  assert.equal(criticalPathCost(plan.jobs), 12);
});

Deno.test("two cooperating executors with claims run every job exactly once between them", async () => {
  const holders = new Map<string, string>(); // job id → executor holding it
  const stored = new Set<string>();
  const ranBy = new Map<string, string>();
  const executor = (name: string) =>
    executeJobs(plan.jobs, {
      workers: 2,
      retryMs: 2,
      isDone: (job) => Promise.resolve(stored.has(job.id)),
      hasState: (id) => Promise.resolve(stored.has(id)),
      claim: (job) => {
        if (stored.has(job.id)) return Promise.resolve({ status: "done" as const });
        if (holders.has(job.id)) return Promise.resolve({ status: "busy" as const });
        holders.set(job.id, name);
        return Promise.resolve({
          status: "mine" as const,
          release: () => Promise.resolve(void holders.delete(job.id)),
        });
      },
      execute: async (job) => {
        if (job.kind === "train" && job.parent !== null) assert.ok(stored.has(job.parent));
        assert.ok(!ranBy.has(job.id), `job ${job.id} ran twice`);
        ranBy.set(job.id, name);
        await new Promise((r) => setTimeout(r, 3));
        stored.add(job.id);
      },
    });
  const [a, b] = await Promise.all([executor("a"), executor("b")]);
  assert.equal(ranBy.size, plan.jobs.length);
  assert.equal(a.spentCost + b.spentCost, plan.cost);
  assert.equal(a.executed.length + b.executed.length, plan.jobs.length);
  assert.ok(a.executed.length > 0 && b.executed.length > 0, "both took jobs");
  // What one did, the other counts as skipped.
  assert.deepEqual(new Set([...a.executed, ...a.skipped]), new Set(plan.jobs.map((j) => j.id)));
  // Without claims the same count shows the duplicated work: the check can fail.
  const [x, y] = await Promise.all([simulate(2), simulate(2)]);
  assert.equal(x.report.spentCost + y.report.spentCost, 2 * plan.cost);
});
