import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, parseConfig } from "../../core/config.ts";
import { parseCsv } from "../../core/csv.ts";
import { renderSvg } from "../../core/render.ts";
import { authorsWindow, switchAt } from "../../core/schedule.ts";
import { planSweep, type RunRequest } from "../../core/sweep/mod.ts";
import { SweepStore } from "../../core/sweep/store.ts";
import {
  type AtResult,
  type AtRun,
  atSummary,
  type AtSweepConfig,
  atSweepSchema,
  atTable,
  ST_TO_AT,
} from "../../experiments/adversarial_switch.ts";
import { FIG6_SCALES } from "../../experiments/fig6.ts";
import { atSwitchChart } from "../../experiments/switching_chart.ts";
import {
  focusProportion,
  fullRun,
  switchEpochs,
  switchingRuns,
  switchPhases,
} from "../../experiments/switching.ts";
import { prepareRun, RUN_COSTS } from "../../experiments/runs.ts";
import {
  runSettingsSchema,
  seededSettings,
  stepsPerEpoch,
} from "../../experiments/run_settings.ts";
import { AT_SCALES, SMOKE_SETTINGS } from "../../experiments/settings.ts";
import { runRecords, runStoreJobs } from "../../experiments/sweep.ts";
import { TABLE_AT_SCALES, tableAtCells, tableAtChart } from "../../experiments/table_at.ts";
import { atTrends, verdictOf } from "../../experiments/trends.ts";
import { HAVE_FMNIST } from "../_helpers.ts";

// The smoke AT settings on 128 Fashion-MNIST images: 2 steps per epoch, PGD-2.
const settings = {
  ...AT_SCALES.smoke.settings,
  trainSize: 128,
  testSize: 64,
  pgd: { norm: "linf" as const, epsilon: 0.1, stepSize: 0.05, steps: 2 },
  robustEval: { examples: 64, epochs: "last" as const },
};
const T = 3;
const run = (seed: number, at: number): RunRequest => ({
  base: seededSettings(settings, seed, T),
  epochs: T,
  phases: switchAt({ first: "sgd", then: "at", at, epochs: T }),
});

async function execute(store: SweepStore, runs: RunRequest[], workers = 1) {
  const plan = planSweep({ runs }, RUN_COSTS);
  await runStoreJobs(store, plan.jobs, { workers });
  return plan;
}

const bytes = (store: SweepStore, id: string) => Deno.readFile(store.checkpointPath(id));
const noTimes = (records: { seconds: number }[]) => records.map((r) => ({ ...r, seconds: 0 }));

Deno.test({
  name: "an ST→AT run branched from the ST trunk is bitwise the run trained from scratch",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const runs = [run(0, T), run(0, 2), run(0, 0)];
      const branched = new SweepStore(join(root, "branched"), "test");
      const plan = await execute(branched, runs);
      assert.ok(plan.cost < plan.independentCost, "the ST→AT run should branch from ST");
      const scratch = new SweepStore(join(root, "scratch"), "test");
      const alone = await execute(scratch, [runs[1]]);
      assert.equal(alone.jobs.length, 1);
      const id = plan.runs[1];
      assert.deepEqual(await bytes(scratch, id), await bytes(branched, id));
      const records = await runRecords({ store: branched }, id);
      assert.deepEqual(
        noTimes(await runRecords({ store: scratch }, id)),
        noTimes(records),
      );
      assert.deepEqual(records.map((r) => r.optimizer), ["sgd", "sgd", "at"]);
      // Robust metrics on the last epoch only (robustEval.epochs = "last"), below clean.
      assert.deepEqual(records.map((r) => r.robustAcc !== undefined), [false, false, true]);
      assert.ok(records[2].robustAcc! <= records[2].testAcc);
      // Worker processes give the same bytes: the random starts are keyed, not stateful.
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
  name: "normalize: false reaches the pipeline: AT runs train and test on x/255 in [0, 1]",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const range = (xs: Iterable<{ x: Float32Array }>) => {
      let [lo, hi] = [Infinity, -Infinity];
      for (const { x } of xs) for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      return [lo, hi];
    };
    const at = await prepareRun(settings);
    const key = { seed: 0, path: ["epoch", "0"] };
    assert.deepEqual(range(at.deps.trainBatches(key)), [0, 1]);
    assert.deepEqual(range(at.deps.testBatches()), [0, 1]);
    assert.ok(at.deps.adversary, "a pgd setting gives the run an adversary");
    const st = await prepareRun({ ...SMOKE_SETTINGS, trainSize: 128, testSize: 64 });
    assert.ok(range(st.deps.testBatches())[0] < 0, "other runs stay normalized");
    assert.equal(st.deps.adversary, undefined);
  },
});

Deno.test("plans price an AT step at 1 + k passes and the robust evaluation of the last epoch", () => {
  const plan = planSweep({ runs: [run(0, 0)] }, RUN_COSTS);
  const steps = stepsPerEpoch(settings);
  // 3 AT epochs of 2 steps at 1 + 2 passes, plus one robust evaluation of 64 images.
  const robust = Math.ceil(1 * (2 + 1 / 3) * 250 / settings.batchSize);
  assert.equal(plan.cost, T * steps * 3 + robust);
  const st = planSweep({ runs: [run(0, T)] }, RUN_COSTS);
  assert.equal(st.cost, T * steps + robust);
});

Deno.test("SGD/SAM run bases carry none of the AT settings (their ids are unchanged)", () => {
  const base = seededSettings(SMOKE_SETTINGS, 0, 4) as Record<string, unknown>;
  for (const key of ["normalize", "pgd", "robustEval"]) assert.ok(!(key in base), key);
  assert.throws(
    () =>
      parseConfig(runSettingsSchema, {
        ...SMOKE_SETTINGS,
        robustEval: { examples: 0, epochs: "all" },
      }),
    (e) => e instanceof ConfigError && /robustEval needs a pgd attack/.test(e.message),
  );
});

Deno.test("every scale of fig6 and table-at validates; the table's runs are fig6's", () => {
  for (const scale of ["smoke", "small", "paper"]) {
    const fig = parseConfig(atSweepSchema, FIG6_SCALES[scale]);
    const table = parseConfig(atSweepSchema, TABLE_AT_SCALES[scale]);
    assert.equal(fig.keepMomentum, true, `${scale}: one optimizer across ST→AT`);
    assert.equal(fig.labelSmoothing, 0, `${scale}: plain cross-entropy`);
    assert.equal(fig.normalize, false, `${scale}: inputs in [0, 1]`);
    const ids = (c: AtSweepConfig) =>
      new Set(
        switchingRuns(ST_TO_AT, c).map((r) => JSON.stringify([r.request.base, r.request.phases])),
      );
    const figIds = ids(fig);
    for (const id of ids(table)) assert.ok(figIds.has(id), `${scale}: table run not in fig6`);
  }
  assert.throws(() => parseConfig(atSweepSchema, { ...FIG6_SCALES.smoke, pgd: undefined }), /pgd/);
});

/** A synthetic result: 2 seeds × {ST, t = 3, full AT} of T = 4. */
function syntheticResult(): { result: AtResult; config: AtSweepConfig } {
  const config = parseConfig(atSweepSchema, { ...FIG6_SCALES.smoke, epochs: 4, switches: [3] });
  const acc: Record<number, [number, number][]> = {
    4: [[0.8, 0.1], [0.82, 0.14]],
    3: [[0.78, 0.5], [0.76, 0.46]],
    0: [[0.7, 0.56], [0.72, 0.6]],
  };
  const runs: AtRun[] = switchingRuns(ST_TO_AT, config).map(({ request: _, ...r }) => {
    const [cleanAcc, robustAcc] = acc[r.switchEpoch][r.seed];
    const last = { epoch: 3, optimizer: "at", testAcc: cleanAcc } as AtRun["last"];
    return {
      ...r,
      id: `run-${r.seed}-${r.switchEpoch}`,
      last,
      cleanAcc,
      cleanLoss: 1 - cleanAcc,
      robustAcc,
      robustLoss: 2 - robustAcc,
      trainLoss: 0.5,
    };
  });
  const cost = { planned: 10, independent: 12, spent: 10, savedFraction: 1 / 6 };
  return { result: { switching: ST_TO_AT, runs, cost, listing: [], datasets: {} }, config };
}

Deno.test("the summary and data.csv give mean ± std per switch and the gap to full AT", () => {
  const { result, config } = syntheticResult();
  // The baselines: full ST is the trunk (t = T), full AT the run switching at 0.
  assert.equal(fullRun(result.runs, 1, "first", 4)?.switchEpoch, 4);
  assert.equal(fullRun(result.runs, 1, "then", 4)?.id, "run-1-0");
  const summary = atSummary(result, 4);
  assert.deepEqual(summary.map((s) => s.label), ["full AT", "ST→AT at 3", "ST"]);
  const late = summary[1];
  assert.ok(Math.abs(late.robustAcc.mean - 48) < 1e-9);
  assert.ok(Math.abs(late.robustGap.mean - 10) < 1e-9, "(56 − 50 + 60 − 46)/2 = 10 pp");
  const rows = parseCsv(atTable(result, config.epochs));
  assert.equal(rows.filter((r) => r.kind === "run").length, 6);
  const mean = rows.find((r) => r.kind === "mean" && r.label === "ST")!;
  assert.equal(Number(mean.robust_acc), 12);
  assert.ok(Math.abs(Number(mean.robust_acc_std) - Math.SQRT2 * 2) < 1e-9);
  assert.equal(Number(mean.robust_gap), 46);
  assert.deepEqual(atTrends("fig6", rows).map((c) => c.pass), [true, true, true]);
});

Deno.test("the table reads ST, the late switches, then full AT, and both charts render", async () => {
  const { result, config } = syntheticResult();
  const { rows, cells } = tableAtCells(result, config);
  assert.deepEqual(rows, ["ST", "ST→AT at 3", "full AT"]);
  const cell = (row: string, column: string) =>
    cells.find((c) => c.row === row && c.column === column)?.value;
  assert.equal(cell("ST→AT at 3", "robust acc. (%)"), "48.00 ± 2.83");
  assert.equal(cell("full AT", "robust gap to full AT (pp) [95 % CI]"), "—");
  // ST→AT at 3: gaps 6 and 14 pp (mean 10, t_{0.975,1}·std/√2 = 12.706·4 = 50.82).
  assert.equal(cell("ST→AT at 3", "robust gap to full AT (pp) [95 % CI]"), "10.00 [-40.82, 60.82]");
  assert.equal(cell("ST", "share of full AT's robust gain [95 % CI]"), "—");
  assert.equal(cell("ST", "AT epochs"), "0 of 4");
  const table = await renderSvg(tableAtChart(result, config));
  assert.ok(table.includes("48.00 ± 2.83") && table.includes("full AT"));
  const figure = await renderSvg(atSwitchChart(result, config));
  assert.ok(figure.includes("AT training proportion"));
});

Deno.test("AT paired rows: per switch epoch, gaps and shares paired by seed", () => {
  const { result, config } = syntheticResult();
  const rows = parseCsv(atTable(result, config.epochs)).filter((r) => r.kind === "paired");
  const row = (label: string, quantity: string) =>
    rows.find((r) => r.label === label && r.quantity === quantity)!;
  // Full AT − ST: 46 pp on both seeds, so the interval has no width (up to rounding).
  assert.deepEqual(
    ["mean", "lo", "hi", "n"].map((k) => Number(Number(row("ST", "robust_gap")[k]).toFixed(9))),
    [46, 46, 46, 2],
  );
  // The late switch gains 40 and 32 pp over ST; its share (36)/(46) of full AT's gain.
  assert.ok(Math.abs(Number(row("ST→AT at 3", "robust_gain").mean) - 36) < 1e-9);
  assert.ok(Math.abs(Number(row("ST→AT at 3", "robust_recovered").mean) - 36 / 46) < 1e-9);
  assert.equal(rows.filter((r) => r.label === "full AT").length, 0);
  // Two seeds: the first claim is shown (both seeds agree exactly), the others unresolved.
  const checks = atTrends("fig6", parseCsv(atTable(result, config.epochs)));
  assert.deepEqual(checks.map(verdictOf), ["pass", "unresolved", "unresolved"]);
});

Deno.test("one switching sweep: phases, proportions and baselines of every direction", () => {
  const T = 10;
  const fig3 = { first: "sgd", then: "sam", focus: "then" } as const;
  const fig5 = { first: "sam", then: "sgd", focus: "first" } as const;
  assert.deepEqual(
    switchPhases(fig3, 7, T),
    switchAt({ first: "sgd", then: "sam", at: 7, epochs: T }),
  );
  assert.equal(focusProportion(fig3, 7, T), 0.3);
  assert.equal(focusProportion(fig5, 7, T), 0.7);
  // The authors' inclusive window (SAM on 0…t) is the same schedule as core's authorsWindow.
  for (const t of [0, 3, 9, 10]) {
    assert.deepEqual(
      switchPhases({ ...fig5, inclusive: true }, t, T),
      t < T ? authorsWindow({ startSam: 0, endSam: t, epochs: T }) : switchPhases(fig5, t, T),
    );
  }
  assert.deepEqual(switchEpochs({ switches: [7, 3, 7], epochs: T }), [0, 3, 7, 10]);
  const config = { ...FIG6_SCALES.smoke, epochs: T, switches: [7] };
  const runs = switchingRuns(fig5, parseConfig(atSweepSchema, config));
  assert.deepEqual(runs.map((r) => [r.seed, r.switchEpoch, r.focusEpochs]), [
    [0, 0, 0],
    [0, 7, 7],
    [0, 10, 10],
    [1, 0, 0],
    [1, 7, 7],
    [1, 10, 10],
  ]);
});
