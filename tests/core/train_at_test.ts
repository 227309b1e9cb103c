import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { pgdAdversary } from "../../core/attack.ts";
import { useBackend } from "../../core/backend.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../../core/checkpoint.ts";
import { authorsWindow, parsePhaseSpec, switchAt } from "../../core/schedule.ts";
import {
  type Adversary,
  disposeRun,
  type EpochRecord,
  runFromCheckpoint,
  runToCheckpoint,
  train,
  type TrainDeps,
} from "../../core/train.ts";
import { treeToArrays } from "../../core/tree.ts";
import { tinyConfig, tinyDeps, tinyModel } from "./train_helpers.ts";

await useBackend("cpu");

const INFO = { model: "tiny", seed: 0, configHash: "test" };
const ce = (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
  tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), logits) as tf.Scalar);

/** The blobs with a PGD adversary (L∞, ε = 0.5; the blobs live in about [−2, 5]). */
function atDeps(robustEpochs: "all" | "last" | "none" = "all"): TrainDeps {
  const deps = tinyDeps();
  deps.adversary = pgdAdversary({
    model: deps.model,
    config: { norm: "linf", epsilon: 0.5, stepSize: 0.2, steps: 4 },
    loss: ce,
    box: [-20, 20],
    robustBatches: (epoch, epochs) =>
      robustEpochs === "all" || (robustEpochs === "last" && epoch === epochs - 1)
        ? deps.testBatches()
        : null,
  });
  return deps;
}

/** ST on [0, 3), AT on [3, 6). */
const stToAt = (overrides = {}) =>
  tinyConfig({ phases: switchAt({ first: "sgd", then: "at", at: 3, epochs: 6 }), ...overrides });

Deno.test("`at` is a phase like SGD and SAM: compact specs and the authors' inclusive window", () => {
  assert.deepEqual(parsePhaseSpec("sgd:3,at:2"), [
    { optimizer: "sgd", from: 0, to: 3 },
    { optimizer: "at", from: 3, to: 5 },
  ]);
  // ERM_to_Adv.py: start_adv = 150, end_adv = 160 with 160 epochs → AT on 150…159.
  assert.deepEqual(authorsWindow({ startSam: 150, endSam: 160, epochs: 160, then: "at" }), [
    { optimizer: "sgd", from: 0, to: 150 },
    { optimizer: "at", from: 150, to: 160 },
  ]);
});

Deno.test("ST→AT keeps one optimizer: the momentum buffer carries across the switch", async () => {
  // 6 steps per epoch: one optimizer through both phases has taken 36 steps.
  const kept = await train(stToAt({ keepMomentum: true }), atDeps("none"));
  assert.deepEqual(kept.records.map((r) => r.optimizer), ["sgd", "sgd", "sgd", "at", "at", "at"]);
  assert.equal(kept.run.optState.step, 36);
  // Resetting instead (the SGD/SAM default) changes the result.
  const reset = await train(stToAt({ keepMomentum: false }), atDeps("none"));
  assert.equal(reset.run.optState.step, 18);
  assert.notDeepEqual(treeToArrays(kept.run.params), treeToArrays(reset.run.params));
  disposeRun(kept.run);
  disposeRun(reset.run);
});

Deno.test("an `at` epoch is SGD on the adversary's inputs: the identity adversary gives SGD", async () => {
  const seen: { epochKey: string; batch: number }[] = [];
  const identity: Adversary = {
    attack: ({ x, key }) => {
      seen.push({ epochKey: key!.path.slice(0, 2).join("/"), batch: x.shape[0] });
      return tf.clone(x);
    },
    robustBatches: () => null,
  };
  const sgd = await train(
    tinyConfig({ phases: [{ optimizer: "sgd", from: 0, to: 6 }] }),
    tinyDeps(),
  );
  // One optimizer (momentum kept), so nothing but the inputs could tell the phases apart.
  const at = await train(stToAt({ keepMomentum: true }), { ...tinyDeps(), adversary: identity });
  assert.deepEqual(treeToArrays(at.run.params), treeToArrays(sgd.run.params));
  assert.deepEqual(at.records.map((r) => r.trainLoss), sgd.records.map((r) => r.trainLoss));
  // Attacked only in the AT epochs, every batch, with a key below (seed, epoch/e/attack).
  assert.equal(seen.length, 18);
  assert.deepEqual([...new Set(seen.map((s) => s.epochKey))], ["epoch/3", "epoch/4", "epoch/5"]);
  disposeRun(sgd.run);
  disposeRun(at.run);
});

Deno.test("an adversary leaves SGD/SAM training bitwise unchanged and adds robust metrics", async () => {
  const plain = await train(tinyConfig(), tinyDeps());
  const withAdversary = await train(tinyConfig(), atDeps("last"));
  assert.deepEqual(treeToArrays(withAdversary.run.params), treeToArrays(plain.run.params));
  const strip = ({ seconds: _s, robustAcc: _a, robustLoss: _l, ...rest }: EpochRecord) => rest;
  assert.deepEqual(withAdversary.records.map(strip), plain.records.map(strip));
  assert.ok(plain.records.every((r) => !("robustAcc" in r)));
  assert.deepEqual(withAdversary.records.map((r) => "robustAcc" in r), [
    false,
    false,
    false,
    false,
    false,
    true,
  ]);
  disposeRun(plain.run);
  disposeRun(withAdversary.run);
});

Deno.test("late AT makes the model robust: robust accuracy ≤ clean, and above ST's", async () => {
  const st = await train(tinyConfig({ phases: [{ optimizer: "sgd", from: 0, to: 6 }] }), atDeps());
  const at = await train(stToAt({ keepMomentum: true }), atDeps());
  for (const r of [...st.records, ...at.records]) {
    assert.ok(
      r.robustAcc! <= r.testAcc,
      `epoch ${r.epoch}: robust ${r.robustAcc} > clean ${r.testAcc}`,
    );
  }
  const [stLast, atLast] = [st.records[5], at.records[5]];
  assert.ok(
    atLast.robustAcc! > stLast.robustAcc!,
    `AT ${atLast.robustAcc}, ST ${stLast.robustAcc}`,
  );
  disposeRun(st.run);
  disposeRun(at.run);
});

Deno.test("AT→ST runs too: AT first, then clean SGD", async () => {
  const config = tinyConfig({ phases: parsePhaseSpec("at:2,sgd:4"), keepMomentum: true });
  const { run, records } = await train(config, atDeps("none"));
  assert.deepEqual(records.map((r) => r.optimizer), ["at", "at", "sgd", "sgd", "sgd", "sgd"]);
  assert.ok(records[5].testAcc > 0.8, `test accuracy ${records[5].testAcc}`);
  disposeRun(run);
});

Deno.test("AT runs are bitwise deterministic and resume mid-AT to the same weights", async () => {
  const a = await train(stToAt(), atDeps());
  const b = await train(stToAt(), atDeps());
  assert.deepEqual(treeToArrays(a.run.params), treeToArrays(b.run.params));
  assert.deepEqual(a.records.map((r) => r.robustAcc), b.records.map((r) => r.robustAcc));
  const first = await train(stToAt(), atDeps(), { until: 4 });
  const bytes = encodeCheckpoint(runToCheckpoint(first.run, INFO));
  disposeRun(first.run);
  const resumed = runFromCheckpoint(decodeCheckpoint(bytes), tinyModel());
  assert.equal(resumed.optimizer, "at");
  const rest = await train(stToAt(), atDeps(), { start: resumed });
  assert.deepEqual(treeToArrays(rest.run.params), treeToArrays(a.run.params));
  assert.deepEqual(
    rest.records.map((r) => r.robustAcc),
    a.records.slice(4).map((r) => r.robustAcc),
  );
  [a, b, rest].forEach((r) => disposeRun(r.run));
});

Deno.test("an `at` phase without an adversary stops before training, with an actionable message", async () => {
  const seen: number[] = [];
  await assert.rejects(
    () => train(stToAt(), tinyDeps(), { onEpoch: (r) => void seen.push(r.epoch) }),
    /phase `at` needs an adversary: pass TrainDeps.adversary/,
  );
  assert.deepEqual(seen, [], "no ST epoch runs before the error");
});

Deno.test("no tensors leak across AT epochs and robust evaluations", async () => {
  const warm = await train(stToAt({ epochs: 4, phases: parsePhaseSpec("sgd:2,at:2") }), atDeps());
  disposeRun(warm.run);
  const before = tf.memory().numTensors;
  const { run } = await train(stToAt(), atDeps());
  disposeRun(run);
  assert.equal(tf.memory().numTensors, before);
});
