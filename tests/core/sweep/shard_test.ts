import assert from "node:assert/strict";
import { join } from "node:path";
import { planSweep, runId, type RunRequest } from "../../../core/sweep/plan.ts";
import {
  jobGroups,
  MergeConflict,
  mergeStores,
  parseShard,
  shardJobs,
} from "../../../core/sweep/shard.ts";
import { SweepStore } from "../../../core/sweep/store.ts";
import { switchAt } from "../../../core/schedule.ts";

const T = 4;
const runs: RunRequest[] = [0, 1, 2, 3, 4].flatMap((seed) =>
  [4, 2].map((at) => ({
    base: { seed },
    epochs: T,
    phases: switchAt({ first: "sgd", then: "sam", at, epochs: T }),
  }))
);
const plan = planSweep({
  runs,
  measures: runs.map((r) => ({ spec: { kind: "m" }, runs: [runId(r)] })),
}, { stepsPerEpoch: () => 1, measureCost: () => 1 });

Deno.test("parseShard accepts i/n and rejects anything else with the expected form", () => {
  assert.deepEqual(parseShard("2/5"), { index: 2, count: 5 });
  for (const bad of ["5/5", "1", "a/b", "-1/3", "0/0"]) {
    assert.throws(() => parseShard(bad), /i\/n with 0 <= i < n/);
  }
});

Deno.test("groups are a seed's trunk, tails and measurements", () => {
  const groups = jobGroups(plan.jobs);
  assert.equal(groups.length, 5);
  for (const g of groups) {
    const seeds = new Set(
      g.flatMap((j) => j.kind === "train" ? [(j.base as { seed: number }).seed] : []),
    );
    assert.equal(seeds.size, 1);
  }
});

Deno.test("shards partition the plan deterministically and keep groups whole", () => {
  for (const n of [1, 2, 3, 7]) {
    const shards = Array.from(
      { length: n },
      (_, i) => shardJobs(plan.jobs, { index: i, count: n }),
    );
    const all = shards.flat().map((j) => j.id).sort();
    assert.deepEqual(all, plan.jobs.map((j) => j.id).sort());
    for (const [i, s] of shards.entries()) {
      assert.deepEqual(s, shardJobs(plan.jobs, { index: i, count: n }));
      for (const job of s) {
        if (job.kind === "train" && job.parent) assert.ok(s.some((j) => j.id === job.parent));
      }
    }
  }
});

Deno.test("merging shard stores copies new files, accepts equal ones, rejects conflicts", async () => {
  const root = await Deno.makeTempDir();
  try {
    const [a, b, dest] = ["a", "b", "dest"].map((d) => join(root, d));
    const job = plan.jobs.find((j) => j.kind === "train")!;
    if (job.kind !== "train") throw new Error("unreachable");
    const bytes = new Uint8Array([1, 2, 3]);
    await new SweepStore(a, "code").writeState(job, bytes, { records: [], seconds: 1 });
    // The same job elsewhere: same checkpoint, another wall time.
    await new SweepStore(b, "code").writeState(job, bytes, { records: [], seconds: 2 });
    const first = await mergeStores([a, b], dest);
    assert.deepEqual(first, { copied: 2, identical: 2 });
    assert.ok(await new SweepStore(dest, "code").readState(job.id));
    await new SweepStore(b, "code").writeState(job, new Uint8Array([9]), {
      records: [],
      seconds: 2,
    });
    await assert.rejects(mergeStores([b], dest), MergeConflict);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the store ignores stale code and damaged checkpoints", async () => {
  const root = await Deno.makeTempDir();
  try {
    const job = plan.jobs.find((j) => j.kind === "train")!;
    if (job.kind !== "train") throw new Error("unreachable");
    const store = new SweepStore(root, "code-1");
    await store.writeState(job, new Uint8Array([1, 2, 3]), { records: [{ epoch: 0 }], seconds: 1 });
    assert.ok(await store.isDone(job));
    assert.equal(await new SweepStore(root, "code-2").readState(job.id), null);
    await Deno.writeFile(store.checkpointPath(job.id), new Uint8Array([1, 2, 4]));
    assert.equal(await store.readState(job.id), null);
    const measure = plan.jobs.find((j) => j.kind === "measure")!;
    if (measure.kind !== "measure") throw new Error("unreachable");
    assert.equal(await store.isDone(measure), false);
    await store.writeMeasure(measure, { value: 3 }, 0.5);
    assert.deepEqual((await store.readMeasure(measure.id))?.result, { value: 3 });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
