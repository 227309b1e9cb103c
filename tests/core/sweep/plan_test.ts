import assert from "node:assert/strict";
import {
  checkPlanSize,
  type CostModel,
  MAX_PLAN_EPOCHS,
  PlanSizeError,
  planSweep,
  runId,
  type RunRequest,
  stateId,
  trainChain,
  truncatePhases,
} from "../../../core/sweep/plan.ts";
import { switchAt } from "../../../core/schedule.ts";

const cost: CostModel = { stepsPerEpoch: () => 10, measureCost: () => 7 };
const T = 10;
const sgdToSam = (seed: number, at: number): RunRequest => ({
  base: { seed, epochs: T },
  epochs: T,
  phases: switchAt({ first: "sgd", then: "sam", at, epochs: T }),
});

Deno.test("truncatePhases keeps [0, e) and merges adjacent equal optimizers", () => {
  const phases = [
    { optimizer: "sgd" as const, from: 0, to: 4 },
    { optimizer: "sgd" as const, from: 4, to: 6 },
    { optimizer: "sam" as const, from: 6, to: 10 },
  ];
  assert.deepEqual(truncatePhases(phases, 5), [{ optimizer: "sgd", from: 0, to: 5 }]);
  assert.deepEqual(truncatePhases(phases, 8), [
    { optimizer: "sgd", from: 0, to: 6 },
    { optimizer: "sam", from: 6, to: 8 },
  ]);
  assert.deepEqual(truncatePhases(phases, 0), []);
});

Deno.test("state ids depend on the base and the phases before the epoch only", () => {
  const a = sgdToSam(0, 8);
  const b = sgdToSam(0, 5);
  assert.equal(stateId(a.base, a.phases, 5), stateId(b.base, b.phases, 5));
  assert.notEqual(stateId(a.base, a.phases, 6), stateId(b.base, b.phases, 6));
  assert.notEqual(stateId({ seed: 1, epochs: T }, a.phases, 5), stateId(a.base, a.phases, 5));
  // Equivalent spellings of the same schedule name the same states.
  const split = [
    { optimizer: "sgd" as const, from: 0, to: 3 },
    { optimizer: "sgd" as const, from: 3, to: 8 },
    { optimizer: "sam" as const, from: 8, to: 10 },
  ];
  assert.equal(runId({ ...a, phases: split }), runId(a));
});

Deno.test("a switch sweep trains each seed's SGD trunk once and branches the tails", () => {
  const switches = [10, 9, 8, 5, 0]; // proportions 0, .1, .2, .5, 1
  const runs = [0, 1].flatMap((seed) => switches.map((t) => sgdToSam(seed, t)));
  const plan = planSweep({ runs }, cost);
  const train = plan.jobs.filter((j) => j.kind === "train");
  // Per seed: trunk segments [0,5) [5,8) [8,9) [9,10), tails from 9, 8, 5 and the full-SAM run.
  assert.equal(train.length, 2 * 8);
  assert.equal(plan.runs.length, runs.length);
  for (const [i, run] of runs.entries()) assert.equal(plan.runs[i], runId(run));
  // Cost: trunk 10 SGD epochs, tails 1+2+5 SAM epochs, full SAM 10 SAM epochs, ×10 steps.
  const perSeed = 10 * 10 + (1 + 2 + 5) * 10 * 2 + 10 * 10 * 2;
  assert.equal(plan.cost, 2 * perSeed);
  const independent = switches.reduce((s, t) => s + (t * 10 + (T - t) * 10 * 2), 0);
  assert.equal(plan.independentCost, 2 * independent);
  // Every job's parent comes before it, and chains run from epoch 0 to T contiguously.
  const seen = new Set<string>();
  for (const job of plan.jobs) {
    if (job.kind === "train" && job.parent !== null) assert.ok(seen.has(job.parent));
    seen.add(job.id);
  }
  for (const run of plan.runs) {
    const chain = trainChain(plan, run);
    assert.equal(chain[0].from, 0);
    assert.equal(chain[chain.length - 1].to, T);
    chain.slice(1).forEach((job, i) => assert.equal(job.from, chain[i].to));
  }
});

Deno.test("duplicate runs and measurements are planned once; unknown runs are rejected", () => {
  const run = sgdToSam(0, 8);
  const id = runId(run);
  const plan = planSweep({
    runs: [run, run],
    measures: [{ spec: { kind: "m" }, runs: [id] }, { spec: { kind: "m" }, runs: [id] }],
  }, cost);
  assert.equal(plan.jobs.filter((j) => j.kind === "train").length, 1);
  assert.equal(plan.jobs.filter((j) => j.kind === "measure").length, 1);
  assert.equal(plan.measures[0], plan.measures[1]);
  assert.throws(
    () => planSweep({ runs: [run], measures: [{ spec: {}, runs: ["nope"] }] }, cost),
    /unknown run/,
  );
  assert.throws(
    () => planSweep({ runs: [{ ...run, epochs: 12 }] }, cost),
    /run 0: phases end at epoch 10, expected 12/,
  );
});

Deno.test("absurd sizes are refused before anything is enumerated, naming epochs", () => {
  const huge = {
    ...sgdToSam(0, 5),
    epochs: 1e9,
    phases: [{ optimizer: "sgd" as const, from: 0, to: 1e9 }],
  };
  const t0 = performance.now();
  assert.throws(
    () => planSweep({ runs: [huge, huge] }, cost),
    (e: Error) =>
      e instanceof PlanSizeError &&
      e.message ===
        `epochs 1000000000: the plan's 2 runs would have 2000000000 epochs, more than the ` +
          `${MAX_PLAN_EPOCHS} a plan may enumerate; lower --epochs`,
  );
  assert.ok(performance.now() - t0 < 1000, "refused without enumerating");
  // Within the epoch bound but too many steps for one run.
  const steps = {
    ...huge,
    epochs: 1000,
    phases: [{ optimizer: "sgd" as const, from: 0, to: 1000 }],
  };
  assert.throws(
    () => checkPlanSize([steps], { stepsPerEpoch: () => 1e8 }),
    /run 0: epochs 1000 × 100000000 steps per epoch is more than the 10000000000/,
  );
  assert.throws(
    () => checkPlanSize([{ ...steps, epochs: 2.5 }], cost),
    /epochs must be a positive integer/,
  );
  // Sizes like the paper's pass.
  assert.doesNotThrow(() => checkPlanSize([sgdToSam(0, 5)], cost));
  assert.doesNotThrow(() =>
    checkPlanSize(Array(105).fill({ ...steps, epochs: 200 }), { stepsPerEpoch: () => 391 })
  );
});
