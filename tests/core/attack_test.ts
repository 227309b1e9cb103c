import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  AttackError,
  AUTHORS_PGD,
  MADRY_PGD,
  pgdAdversary,
  pgdAttack,
  type PgdConfig,
  randomStart,
} from "../../core/attack.ts";
import { useBackend } from "../../core/backend.ts";
import { createRng, rngKey } from "../../core/random.ts";
import { disposeRun, evaluate, train } from "../../core/train.ts";
import type { Batch } from "../../core/batch.ts";
import { tinyConfig, tinyDeps, tinyModel } from "./train_helpers.ts";

await useBackend("cpu");

const ce = (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
  tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), logits) as tf.Scalar);

/** `n` inputs in [0, 1] (a quarter of the values exactly on the box's faces) and labels. */
function unitBatch(n: number, seed: number) {
  const rng = createRng(rngKey(seed, "unit-batch"));
  const x = Float32Array.from(
    { length: 4 * n },
    (_, i) => i % 8 === 0 ? 0 : i % 8 === 1 ? 1 : rng.uniform(),
  );
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { x: tf.tensor4d(x, [n, 2, 2, 1]), y: tf.tensor1d(y, "int32") };
}

/** The tiny model with larger weights, so the loss reacts to small perturbations. */
function tinySetup(seed = 0) {
  const model = tinyModel();
  const init = model.init(rngKey(seed, "init"));
  const kernel = tf.mul(init.params["dense/kernel"], 30);
  init.params["dense/kernel"].dispose();
  init.params["dense/kernel"] = kernel;
  return { model, ...init };
}

function meanLoss(setup: ReturnType<typeof tinySetup>, x: tf.Tensor4D, y: tf.Tensor1D): number {
  return tf.tidy(() => ce(setup.model.apply(setup.params, setup.state, x, "eval").logits, y))
    .arraySync() as number;
}

const L2_PGD: PgdConfig = { norm: "l2", epsilon: 0.3, stepSize: 0.1, steps: 7 };

Deno.test("the named settings are the authors' (4/255, 2/255, 10) and Madry's (8/255)", () => {
  assert.deepEqual(AUTHORS_PGD, { norm: "linf", epsilon: 4 / 255, stepSize: 2 / 255, steps: 10 });
  assert.equal(AUTHORS_PGD.epsilon.toFixed(4), "0.0157");
  assert.equal(AUTHORS_PGD.stepSize.toFixed(5), "0.00784");
  assert.deepEqual(MADRY_PGD, { norm: "linf", epsilon: 8 / 255, stepSize: 2 / 255, steps: 10 });
});

Deno.test("L∞ PGD stays inside the ε-ball and the [0, 1] box, from a random start", () => {
  const setup = tinySetup();
  const { x, y } = unitBatch(40, 1);
  const config: PgdConfig = { norm: "linf", epsilon: 0.1, stepSize: 0.04, steps: 6 };
  const adv = pgdAttack({ ...setup, x, y, config, loss: ce, startKey: rngKey(0, "start") });
  const [a, c] = [adv.dataSync(), x.dataSync()];
  let moved = 0;
  for (let i = 0; i < a.length; i++) {
    assert.ok(a[i] >= 0 && a[i] <= 1, `value ${a[i]} outside [0, 1]`);
    assert.ok(Math.abs(a[i] - c[i]) <= 0.1 + 1e-6, `|δ| = ${Math.abs(a[i] - c[i])} > ε`);
    if (Math.abs(a[i] - c[i]) > 0.09) moved++;
  }
  assert.ok(moved > a.length / 2, `only ${moved} of ${a.length} coordinates reach the ball's face`);
  tf.dispose([adv, x, y]);
});

Deno.test("L2 PGD stays inside the ε-ball of every example and the [0, 1] box", () => {
  const setup = tinySetup();
  const { x, y } = unitBatch(40, 2);
  const adv = pgdAttack({ ...setup, x, y, config: L2_PGD, loss: ce, startKey: rngKey(0, "l2") });
  const [a, c] = [adv.dataSync(), x.dataSync()];
  let onSphere = 0;
  for (let b = 0; b < 40; b++) {
    let sq = 0;
    for (let i = 4 * b; i < 4 * b + 4; i++) {
      assert.ok(a[i] >= 0 && a[i] <= 1, `value ${a[i]} outside [0, 1]`);
      sq += (a[i] - c[i]) ** 2;
    }
    assert.ok(Math.sqrt(sq) <= L2_PGD.epsilon * (1 + 1e-5), `‖δ‖ = ${Math.sqrt(sq)} > ε`);
    if (Math.sqrt(sq) > 0.9 * L2_PGD.epsilon) onSphere++;
  }
  assert.ok(onSphere > 20, `only ${onSphere} of 40 examples use most of the budget`);
  tf.dispose([adv, x, y]);
});

Deno.test("one L∞ step from the clean start is clip(x + α·sign(∇ₓ CE)) with the analytic gradient", () => {
  const setup = tinySetup(3);
  const { x, y } = unitBatch(9, 3);
  const config: PgdConfig = { norm: "linf", epsilon: 0.05, stepSize: 0.03, steps: 1 };
  const adv = pgdAttack({ ...setup, x, y, config, loss: ce }).dataSync();
  // Eval mode: logits = (x − m)·W + b, so ∇ₓ mean CE = (softmax − onehot)·Wᵀ / n.
  const W = setup.params["dense/kernel"].arraySync() as number[][];
  const logits = setup.model.apply(setup.params, setup.state, x, "eval").logits;
  const p = tf.softmax(logits).arraySync() as number[][];
  const [xs, ys] = [x.dataSync(), y.dataSync()];
  for (let b = 0; b < 9; b++) {
    for (let j = 0; j < 4; j++) {
      let g = 0;
      for (let k = 0; k < 3; k++) g += (p[b][k] - (ys[b] === k ? 1 : 0)) * W[j][k];
      const expected = Math.min(1, Math.max(0, xs[4 * b + j] + 0.03 * Math.sign(g)));
      assert.ok(Math.abs(adv[4 * b + j] - expected) < 1e-6, `example ${b}, pixel ${j}`);
    }
  }
  tf.dispose([logits, x, y]);
});

Deno.test("PGD raises the loss over the clean inputs (L∞ and L2)", () => {
  const setup = tinySetup(4);
  const { x, y } = unitBatch(30, 4);
  const clean = meanLoss(setup, x, y);
  for (const config of [{ ...AUTHORS_PGD, epsilon: 0.05, stepSize: 0.02 }, L2_PGD]) {
    const adv = pgdAttack({ ...setup, x, y, config, loss: ce, startKey: rngKey(0, "raise") });
    const attacked = meanLoss(setup, adv, y);
    assert.ok(attacked > clean * 1.05, `${config.norm}: loss ${attacked} vs clean ${clean}`);
    adv.dispose();
  }
  tf.dispose([x, y]);
});

Deno.test("the random start is uniform in the ball and a pure function of its key", () => {
  const key = rngKey(5, "epoch", 2, "attack", 7);
  const linf = randomStart(key, [50, 2, 2, 1], "linf", 0.2);
  assert.deepEqual(randomStart(key, [50, 2, 2, 1], "linf", 0.2), linf);
  assert.notDeepEqual(randomStart(rngKey(5, "other"), [50, 2, 2, 1], "linf", 0.2), linf);
  assert.ok(linf.every((v) => Math.abs(v) <= 0.2));
  const mean = linf.reduce((s, v) => s + v, 0) / linf.length;
  const meanAbs = linf.reduce((s, v) => s + Math.abs(v), 0) / linf.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(meanAbs - 0.1) < 0.02, `${mean} ${meanAbs}`);
  // L2 in d = 4: radii ε·u^{1/4}, so E[‖δ‖] = 0.8ε and every ‖δ‖ ≤ ε.
  const l2 = randomStart(key, [400, 2, 2, 1], "l2", 0.5);
  let radius = 0;
  for (let b = 0; b < 400; b++) {
    const r = Math.hypot(...l2.subarray(4 * b, 4 * b + 4));
    assert.ok(r <= 0.5 + 1e-6);
    radius += r / 400;
  }
  assert.ok(Math.abs(radius - 0.4) < 0.02, `mean radius ${radius}`);
});

Deno.test("attacks are deterministic; without a key there is no random start", () => {
  const setup = tinySetup();
  const { x, y } = unitBatch(12, 6);
  const run = (key?: ReturnType<typeof rngKey>, steps = 3) =>
    pgdAttack({ ...setup, x, y, config: { ...L2_PGD, steps }, loss: ce, startKey: key })
      .dataSync();
  assert.deepEqual(run(rngKey(0, "a")), run(rngKey(0, "a")));
  assert.notDeepEqual(run(rngKey(0, "a")), run(rngKey(0, "b")));
  assert.deepEqual(run(undefined, 0), x.dataSync());
  assert.deepEqual(run(undefined), run(undefined));
  tf.dispose([x, y]);
});

Deno.test("with ε = 0 the robust evaluation equals the clean one, bit for bit", async () => {
  const { run } = await train(
    tinyConfig({ epochs: 2, phases: [{ optimizer: "sgd", from: 0, to: 2 }] }),
    tinyDeps(),
  );
  for (const norm of ["linf", "l2"] as const) {
    const deps = {
      ...tinyDeps(),
      adversary: pgdAdversary({
        model: tinyModel(),
        config: { norm, epsilon: 0, stepSize: 0.5, steps: 5 },
        loss: ce,
        box: [-20, 20],
        robustBatches: () => null,
      }),
    };
    const clean = evaluate(deps, run, deps.testBatches());
    const robust = evaluate(deps, run, deps.testBatches(), { adversarial: true });
    assert.deepEqual(robust, clean, norm);
  }
  disposeRun(run);
});

Deno.test("robust accuracy is below clean accuracy for a trained model", async () => {
  const { run } = await train(tinyConfig(), tinyDeps());
  for (
    const config of [{ ...AUTHORS_PGD, epsilon: 0.6, stepSize: 0.2 }, { ...L2_PGD, epsilon: 1 }]
  ) {
    const deps = {
      ...tinyDeps(),
      adversary: pgdAdversary({
        model: tinyModel(),
        config,
        loss: ce,
        box: [-20, 20],
        robustBatches: () => null,
      }),
    };
    const clean = evaluate(deps, run, deps.testBatches());
    const robust = evaluate(deps, run, deps.testBatches(), { adversarial: true });
    assert.ok(robust.acc < clean.acc, `${config.norm}: robust ${robust.acc}, clean ${clean.acc}`);
    assert.ok(robust.loss > clean.loss);
  }
  disposeRun(run);
});

Deno.test("bad settings are rejected with the field named; nothing leaks", () => {
  const setup = tinySetup();
  const { x, y } = unitBatch(4, 7);
  const attack = (config: PgdConfig, box?: [number, number]) =>
    pgdAttack({ ...setup, x, y, config, loss: ce, box });
  assert.throws(
    () => attack({ ...AUTHORS_PGD, epsilon: -1 }),
    (e) => e instanceof AttackError && /config\.epsilon/.test(e.message),
  );
  assert.throws(() => attack({ ...AUTHORS_PGD, steps: 1.5 }), /config\.steps/);
  assert.throws(() => attack({ ...AUTHORS_PGD, norm: "l1" as "l2" }), /config\.norm/);
  assert.throws(() => attack(AUTHORS_PGD, [1, 0]), /box/);
  const before = tf.memory().numTensors;
  attack(L2_PGD).dispose();
  pgdAttack({ ...setup, x, y, config: AUTHORS_PGD, loss: ce, startKey: rngKey(0, "leak") })
    .dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y]);
});

Deno.test("pgdAdversary runs the attack in eval mode: the model state is not touched", () => {
  const setup = tinySetup();
  setup.state["center/mean"].dispose();
  setup.state["center/mean"] = tf.tensor1d([0.2, 0.4, 0.6, 0.8]);
  const { x, y } = unitBatch(8, 8);
  const adversary = pgdAdversary({
    model: setup.model,
    config: AUTHORS_PGD,
    loss: ce,
    robustBatches: (epoch) => (epoch === 1 ? ([] as Batch[]) : null),
  });
  const direct = pgdAttack({ ...setup, x, y, config: AUTHORS_PGD, loss: ce }).dataSync();
  const viaAdversary = adversary.attack({ params: setup.params, modelState: setup.state, x, y });
  assert.deepEqual(viaAdversary.dataSync(), direct);
  assert.deepEqual(
    Array.from(setup.state["center/mean"].dataSync()),
    [0.2, 0.4, 0.6, 0.8].map(Math.fround),
  );
  assert.equal(adversary.robustBatches(0, 2), null);
  assert.deepEqual(adversary.robustBatches(1, 2), []);
  tf.dispose([viaAdversary, x, y]);
});
