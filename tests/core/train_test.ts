import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../../core/checkpoint.ts";
import {
  disposeRun,
  type EpochRecord,
  runFromCheckpoint,
  runToCheckpoint,
  train,
  TrainingError,
} from "../../core/train.ts";
import { treeToArrays } from "../../core/tree.ts";
import { tinyConfig, tinyDeps, tinyModel } from "./train_helpers.ts";

await useBackend("cpu");

const INFO = { model: "tiny", seed: 0, configHash: "test" };

Deno.test("training learns the blobs and logs one record per epoch with its optimizer", async () => {
  const { run, records } = await train(tinyConfig(), tinyDeps());
  assert.deepEqual(records.map((r) => r.optimizer), ["sgd", "sgd", "sgd", "sam", "sam", "sam"]);
  assert.ok(records[5].trainLoss < records[0].trainLoss);
  assert.ok(records[5].testAcc > 0.85, `test accuracy ${records[5].testAcc}`);
  assert.equal(run.epoch, 6);
  disposeRun(run);
});

Deno.test("momentum is reset at the switch by default and kept with keepMomentum", async () => {
  // 96 examples / 16 = 6 steps per epoch: after 3 SAM epochs a fresh optimizer has 18 steps.
  const reset = await train(tinyConfig(), tinyDeps());
  assert.equal(reset.run.optState.step, 18);
  const kept = await train(tinyConfig({ keepMomentum: true }), tinyDeps());
  assert.equal(kept.run.optState.step, 36);
  assert.notDeepEqual(treeToArrays(reset.run.params), treeToArrays(kept.run.params));
  disposeRun(reset.run);
  disposeRun(kept.run);
});

Deno.test("two runs with the same seed are bitwise identical; another seed differs", async () => {
  const a = await train(tinyConfig(), tinyDeps());
  const b = await train(tinyConfig(), tinyDeps());
  const c = await train(tinyConfig({ seed: 1 }), tinyDeps());
  assert.deepEqual(treeToArrays(a.run.params), treeToArrays(b.run.params));
  assert.deepEqual(a.records.map((r) => r.trainLoss), b.records.map((r) => r.trainLoss));
  assert.notDeepEqual(treeToArrays(a.run.params), treeToArrays(c.run.params));
  [a, b, c].forEach((r) => disposeRun(r.run));
});

Deno.test("resuming from a checkpoint (mid-SAM) gives bitwise the same final weights", async () => {
  const straight = await train(tinyConfig(), tinyDeps());
  const first = await train(tinyConfig(), tinyDeps(), { until: 4 });
  const bytes = encodeCheckpoint(runToCheckpoint(first.run, INFO));
  disposeRun(first.run);
  const resumed = runFromCheckpoint(decodeCheckpoint(bytes), tinyModel());
  assert.equal(resumed.epoch, 4);
  assert.equal(resumed.optimizer, "sam");
  const rest = await train(tinyConfig(), tinyDeps(), { start: resumed });
  assert.deepEqual(treeToArrays(rest.run.params), treeToArrays(straight.run.params));
  assert.deepEqual(treeToArrays(rest.run.modelState), treeToArrays(straight.run.modelState));
  assert.deepEqual(rest.records.map((r) => r.epoch), [4, 5]);
  disposeRun(rest.run);
  disposeRun(straight.run);
});

Deno.test("a diverging run stops with TrainingError after reporting the last good epoch", async () => {
  const seen: EpochRecord[] = [];
  const config = tinyConfig({
    lr: { kind: "multistep", base: 0.2, milestones: [2], gamma: 1e30 },
    phases: [{ optimizer: "sgd", from: 0, to: 6 }],
  });
  await assert.rejects(
    () => train(config, tinyDeps(), { onEpoch: (r) => void seen.push(r) }),
    // Epochs counted from 1, as the progress lines do: the third epoch failed, two are good.
    (err: unknown) =>
      err instanceof TrainingError &&
      /^epoch 3 .*became .*; the state after epoch 2 is the last good one \(/.test(err.message),
  );
  assert.deepEqual(seen.map((r) => r.epoch), [0, 1]);
});

Deno.test("a run diverging in its first epoch says no good state exists (not epoch -1)", async () => {
  const config = tinyConfig({
    lr: { kind: "constant", base: 1e30 },
    phases: [{ optimizer: "sgd", from: 0, to: 6 }],
  });
  await assert.rejects(
    () => train(config, tinyDeps()),
    (err: unknown) =>
      err instanceof TrainingError && !err.message.includes("-1") &&
      /^epoch 1 .*became .*; no epoch finished before it, so there is no good state to keep/
        .test(err.message),
  );
});

Deno.test("no tensors leak across epochs", async () => {
  const warm = await train(
    tinyConfig({ epochs: 2, phases: [{ optimizer: "sam", from: 0, to: 2 }] }),
    tinyDeps(),
  );
  disposeRun(warm.run);
  const before = tf.memory().numTensors;
  const { run } = await train(tinyConfig(), tinyDeps());
  disposeRun(run);
  assert.equal(tf.memory().numTensors, before);
});
