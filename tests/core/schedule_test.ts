import assert from "node:assert/strict";
import {
  authorsWindow,
  checkPhases,
  formatPhaseSpec,
  learningRate,
  type LrSchedule,
  optimizerAt,
  parsePhaseSpec,
  switchAt,
} from "../../core/schedule.ts";

const perEpoch = (phases: ReturnType<typeof switchAt>, epochs: number) =>
  Array.from({ length: epochs }, (_, e) => optimizerAt(phases, e)).join(",");

Deno.test("SGD→SAM at t runs SGD on [0, t) and SAM on [t, T)", () => {
  const phases = switchAt({ first: "sgd", then: "sam", at: 3, epochs: 5 });
  assert.deepEqual(phases, [{ optimizer: "sgd", from: 0, to: 3 }, {
    optimizer: "sam",
    from: 3,
    to: 5,
  }]);
  assert.equal(perEpoch(phases, 5), "sgd,sgd,sgd,sam,sam");
  assert.deepEqual(switchAt({ first: "sgd", then: "sam", at: 5, epochs: 5 }), [{
    optimizer: "sgd",
    from: 0,
    to: 5,
  }]);
  assert.deepEqual(switchAt({ first: "sgd", then: "sam", at: 0, epochs: 5 }), [{
    optimizer: "sam",
    from: 0,
    to: 5,
  }]);
  assert.throws(() => switchAt({ first: "sgd", then: "sam", at: 6, epochs: 5 }), /switch epoch/);
});

Deno.test("the authors' inclusive window reproduces their off-by-one", () => {
  // SGD→SAM: --start_SAM t --end_SAM T gives exactly T − t SAM epochs.
  assert.equal(
    perEpoch(authorsWindow({ startSam: 3, endSam: 5, epochs: 5 }), 5),
    "sgd,sgd,sgd,sam,sam",
  );
  // SAM→SGD: --start_SAM 0 --end_SAM t gives t + 1 SAM epochs.
  assert.equal(
    perEpoch(authorsWindow({ startSam: 0, endSam: 2, epochs: 5 }), 5),
    "sam,sam,sam,sgd,sgd",
  );
  // Pure SGD: --start_SAM T --end_SAM T; pure SAM: --start_SAM 0 --end_SAM T.
  assert.equal(
    perEpoch(authorsWindow({ startSam: 5, endSam: 5, epochs: 5 }), 5),
    "sgd,sgd,sgd,sgd,sgd",
  );
  assert.equal(
    perEpoch(authorsWindow({ startSam: 0, endSam: 5, epochs: 5 }), 5),
    "sam,sam,sam,sam,sam",
  );
});

Deno.test("phase lists must tile the epochs", () => {
  assert.doesNotThrow(() =>
    checkPhases([{ optimizer: "sgd", from: 0, to: 2 }, { optimizer: "sam", from: 2, to: 4 }], 4)
  );
  assert.throws(
    () =>
      checkPhases([{ optimizer: "sgd", from: 0, to: 2 }, { optimizer: "sam", from: 3, to: 4 }], 4),
    /phase 1 starts at epoch 3, expected 2/,
  );
  assert.throws(
    () => checkPhases([{ optimizer: "sgd", from: 0, to: 2 }], 4),
    /end at epoch 2, expected 4/,
  );
  assert.throws(() => optimizerAt([{ optimizer: "sgd", from: 0, to: 2 }], 2), /outside/);
});

Deno.test("WRN schedule: lr, 0.2·lr, 0.04·lr with the authors' after-epoch stepping (T = 200)", () => {
  const lr = (e: number) => learningRate({ kind: "wrn", base: 0.1 }, e, 200);
  for (const e of [0, 1, 60]) assert.equal(lr(e), 0.1);
  for (const e of [61, 120]) assert.ok(Math.abs(lr(e) - 0.02) < 1e-15);
  for (const e of [121, 175, 199]) assert.ok(Math.abs(lr(e) - 0.004) < 1e-15);
});

Deno.test("MultiStep decays by γ at the start of each milestone epoch", () => {
  const s: LrSchedule = { kind: "multistep", base: 0.1, milestones: [80, 120], gamma: 0.1 };
  assert.equal(learningRate(s, 79, 160), 0.1);
  assert.ok(Math.abs(learningRate(s, 80, 160) - 0.01) < 1e-15);
  assert.ok(Math.abs(learningRate(s, 120, 160) - 0.001) < 1e-15);
  assert.equal(learningRate({ kind: "constant", base: 0.05 }, 7, 10), 0.05);
});

Deno.test("compact phase specs parse in order and round-trip", () => {
  assert.deepEqual(parsePhaseSpec("sgd:8,sam:2"), [
    { optimizer: "sgd", from: 0, to: 8 },
    { optimizer: "sam", from: 8, to: 10 },
  ]);
  assert.deepEqual(parsePhaseSpec("sgd:2, sgd:3"), [{ optimizer: "sgd", from: 0, to: 5 }]);
  assert.equal(formatPhaseSpec(parsePhaseSpec("sam:1,sgd:4,usam:2")), "sam:1,sgd:4,usam:2");
  assert.throws(() => parsePhaseSpec("sgd:8,adam:2"), /bad phase "adam:2"/);
  assert.throws(() => parsePhaseSpec("sgd:0"), /bad phase/);
  assert.throws(() => parsePhaseSpec("sgd8"), /bad phase/);
});
