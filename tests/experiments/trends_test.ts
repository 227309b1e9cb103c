import assert from "node:assert/strict";
import { join } from "node:path";
import { parseCsv, toCsv } from "../../core/csv.ts";
import { sha256Hex } from "../../core/hash.ts";
import {
  type AtResult,
  type AtRun,
  atTable,
  ST_TO_AT,
} from "../../experiments/adversarial_switch.ts";
import { type Fig1Result, fig1Table } from "../../experiments/fig1.ts";
import { FIG3_SWITCHING } from "../../experiments/fig3.ts";
import { type Fig4cResult, fig4cTable } from "../../experiments/fig4c.ts";
import {
  type MeasuredRun,
  type SwitchResult,
  switchTable,
} from "../../experiments/optimizer_switch.ts";
import { PAIRED_COLUMNS, pairedDiff, pairedRow } from "../../experiments/paired.ts";
import { allPass, checkSmoke, report } from "../../experiments/smoke_check.ts";
import type { Switching } from "../../experiments/switching.ts";
import {
  atTrends,
  fig1Trends,
  fig3Trends,
  fig4aTrends,
  fig4cTrends,
  fig5Trends,
  intervalCheck,
  type TrendCheck,
  TRENDS,
  verdictOf,
} from "../../experiments/trends.ts";

const verdicts = (checks: TrendCheck[]) => checks.map(verdictOf);
const show = (checks: TrendCheck[]) => checks.map((c) => `${c.verdict} ${c.detail}`).join("\n");
const cost = { planned: 1, independent: 1, spent: 1, savedFraction: 0 };

/** Three seeds' values of one run of a switching sweep. */
type Three = [number, number, number];

/**
 * A synthetic optimizer switch of T = 16 with three seeds: per proportion p (0, `late`, 1)
 * each seed's test error and λ_max.
 */
function switchCsv(
  switching: Switching,
  late: number,
  values: Record<number, { err: Three; lambda: Three }>,
) {
  const T = 16;
  const runs: MeasuredRun[] = [];
  for (const [p, { err, lambda }] of Object.entries(values)) {
    const proportion = Number(p);
    const focusEpochs = Math.round(proportion * T);
    const switchEpoch = switching.focus === "then" ? T - focusEpochs : focusEpochs;
    for (const seed of [0, 1, 2]) {
      runs.push({
        seed,
        switchEpoch,
        proportion,
        focusEpochs,
        id: `r${seed}-${switchEpoch}`,
        last: {} as MeasuredRun["last"],
        testError: err[seed],
        trainLoss: 0.1,
        eigenvalues: [lambda[seed], lambda[seed] / 2],
        lambdaConvergence: { iterations: 12, relativeResidual: 1e-4, converged: true },
      });
    }
  }
  assert.ok(Object.keys(values).map(Number).includes(late));
  const result: SwitchResult = { switching, runs, cost, listing: [], datasets: {} };
  return parseCsv(switchTable(result, T));
}

const SGD = { err: [20, 21.5, 22] as Three, lambda: [10, 11, 12.5] as Three };
const SAM = { err: [15, 16.2, 17.1] as Three, lambda: [4, 5.2, 5.9] as Three };

Deno.test("fig3: a late switch near SAM passes, one near SGD fails, disagreeing seeds unresolve", () => {
  const p = 3 / 16;
  const make = (late: typeof SGD, sam = SAM) =>
    switchCsv(FIG3_SWITCHING, p, { 0: SGD, [p]: late, 1: sam });
  const near = { err: [15.4, 16.1, 17.5] as Three, lambda: [4.6, 5.5, 6.6] as Three };
  assert.deepEqual(
    verdicts(fig3Trends(make(near))),
    ["pass", "pass", "pass", "pass"],
    show(fig3Trends(make(near))),
  );
  const farAway = { err: [20.2, 21.1, 22.3] as Three, lambda: [9.7, 10.9, 12.6] as Three };
  const sharpSam = { err: SAM.err, lambda: [14, 15.5, 16.2] as Three };
  assert.deepEqual(verdicts(fig3Trends(make(farAway, sharpSam))), [
    "fail",
    "pass",
    "fail",
    "fail",
  ]);
  // Full SAM worse than SGD on test error: the premise is contradicted.
  const worseSam = { err: [22.4, 23.3, 24.6] as Three, lambda: SAM.lambda };
  assert.equal(verdicts(fig3Trends(make(near, worseSam)))[1], "fail");
  const split = { err: [15.2, 21.4, 19] as Three, lambda: [4.3, 11.2, 7] as Three };
  const noisySam = { err: [15, 24, 18] as Three, lambda: [4, 14, 7] as Three };
  assert.deepEqual(
    verdicts(fig3Trends(make(split, noisySam))),
    ["unresolved", "unresolved", "unresolved", "unresolved"],
    show(fig3Trends(make(split, noisySam))),
  );
});

Deno.test("fig5: early SAM near SGD passes, near SAM fails, disagreeing seeds unresolve", () => {
  const fig5: Switching = { first: "sam", then: "sgd", focus: "first" };
  const p = 0.25;
  const make = (early: typeof SGD) => switchCsv(fig5, p, { 0: SGD, [p]: early, 1: SAM });
  const nearSgd = { err: [19.8, 21.7, 21.6] as Three, lambda: [9.6, 11.3, 12.1] as Three };
  assert.deepEqual(
    verdicts(fig5Trends(make(nearSgd))),
    ["pass", "pass"],
    show(fig5Trends(make(nearSgd))),
  );
  const nearSam = { err: [15.2, 16.5, 17.2] as Three, lambda: [4.4, 5.6, 6.1] as Three };
  assert.deepEqual(verdicts(fig5Trends(make(nearSam))), ["fail", "fail"]);
  const split = { err: [15.1, 21.4, 18] as Three, lambda: [4.2, 11.1, 8] as Three };
  assert.deepEqual(verdicts(fig5Trends(make(split))), ["unresolved", "unresolved"]);
  // The largest proportion ≤ ½ is the one compared: a second, later one is ignored.
  const both = switchCsv(fig5, p, { 0: SGD, [p]: nearSgd, 0.75: nearSam, 1: SAM });
  assert.deepEqual(verdicts(fig5Trends(both)), ["pass", "pass"]);
});

/** A synthetic Figure 1: per curve, each seed's test error (%) at epochs 1 and 2. */
function fig1Csv(errors: Record<"SGD" | "SAM" | "SGD→SAM", [Three, Three]>) {
  const runs: Fig1Result["runs"] = [];
  for (const [curve, [first, last]] of Object.entries(errors)) {
    for (const seed of [0, 1, 2]) {
      const records = [first[seed], last[seed]].map((e, epoch) => ({
        epoch,
        optimizer: "sgd" as const,
        lr: 0.1,
        trainLoss: 1,
        trainAcc: 0.5,
        testLoss: 1,
        testAcc: 1 - e / 100,
        seconds: 0,
      }));
      runs.push({ curve: curve as "SGD", seed, id: `${curve}${seed}`, records });
    }
  }
  return parseCsv(fig1Table({ runs, cost, sweepRuns: [], datasets: {} }));
}

Deno.test("fig1: falling errors and a late switch at SAM's error pass; the reverse fails", () => {
  const start: Three = [60, 62, 61];
  const holds = fig1Csv({
    SGD: [start, [20, 21.5, 22]],
    SAM: [start, [15, 16.2, 17.1]],
    "SGD→SAM": [start, [15.3, 16.1, 17.4]],
  });
  assert.deepEqual(verdicts(fig1Trends(holds)), ["pass", "pass", "pass", "pass", "pass"]);
  const reverse = fig1Csv({
    SGD: [[20, 21.5, 22], [60, 62, 61]],
    SAM: [[20, 21.5, 22], [70, 71, 72.5]],
    "SGD→SAM": [[20, 21.5, 22], [59.8, 62.3, 61.2]],
  });
  assert.deepEqual(verdicts(fig1Trends(reverse)), ["fail", "fail", "fail", "fail", "fail"]);
  const split = fig1Csv({
    SGD: [start, [20, 63, 40]],
    SAM: [start, [30, 70, 10]],
    "SGD→SAM": [start, [25, 70, 60]],
  });
  assert.deepEqual(
    verdicts(fig1Trends(split)),
    ["unresolved", "unresolved", "unresolved", "unresolved", "unresolved"],
    show(fig1Trends(split)),
  );
});

/** A synthetic AT sweep of T = 4 (ST, a switch at 3, full AT) with three seeds' robust accuracy. */
function atCsv(robust: { st: Three; late: Three; full: Three }, seeds = [0, 1, 2]) {
  const T = 4;
  const runs: AtRun[] = [];
  for (const [t, values] of [[T, robust.st], [3, robust.late], [0, robust.full]] as const) {
    for (const seed of seeds) {
      runs.push({
        seed,
        switchEpoch: t,
        proportion: (T - t) / T,
        focusEpochs: T - t,
        id: `r${seed}-${t}`,
        last: {} as AtRun["last"],
        cleanAcc: 0.8,
        cleanLoss: 0.5,
        robustAcc: values[seed] / 100,
        robustLoss: 1,
        trainLoss: 0.5,
      });
    }
  }
  const result: AtResult = { switching: ST_TO_AT, runs, cost, listing: [], datasets: {} };
  return parseCsv(atTable(result, T));
}

Deno.test("AT (fig6, table-at): robust late AT passes, late AT at ST's level fails", () => {
  const st: Three = [20, 22, 21];
  const full: Three = [58, 61, 60];
  for (const figure of ["fig6", "table-at"]) {
    const holds = atCsv({ st, late: [50, 54.5, 52], full });
    assert.deepEqual(verdicts(TRENDS[figure](holds)), ["pass", "pass", "pass"]);
    const fails = atCsv({ st, late: [18, 20.5, 19.2], full: [10, 12.5, 11] });
    assert.deepEqual(verdicts(TRENDS[figure](fails)), ["fail", "fail", "fail"]);
    const split = atCsv({ st, late: [60, 15, 40], full: [60, 15, 40] });
    assert.deepEqual(
      verdicts(TRENDS[figure](split)),
      ["unresolved", "unresolved", "unresolved"],
      show(TRENDS[figure](split)),
    );
  }
  // With one seed there is no interval: unresolved, and the detail says why.
  const one = atTrends("fig6", atCsv({ st, late: [50, 54.5, 52], full }, [0]));
  assert.deepEqual(verdicts(one), ["unresolved", "unresolved", "unresolved"]);
  assert.ok(
    one.every((c) => /no interval with n = 1.*fewer than 2 seeds/.test(c.detail)),
    show(one),
  );
});

/** A synthetic Figure 4(c): per seed, the train loss and L″ as functions of λ. */
function fig4cCsv(lines: { loss: (l: number) => number; curvature: (l: number) => number }[]) {
  const lambdas = Array.from({ length: 15 }, (_, i) => Math.round((-0.2 + 0.1 * i) * 10) / 10);
  const result: Fig4cResult = {
    lines: lines.map((f, seed) => ({
      seed,
      rows: lambdas.map((lambda) => ({
        split: "train",
        lambda,
        loss: f.loss(lambda),
        acc: 0.9,
        curvature: f.curvature(lambda),
      })),
    })),
    cost,
    sweepRuns: [],
    datasets: {},
  };
  return parseCsv(fig4cTable(result));
}

Deno.test("fig4c: a valley passes, a barrier with a flat SGD end fails, disagreement unresolves", () => {
  const valley = (k: number) => ({
    loss: (l: number) => 0.1 + k * 0.2 * l * l,
    curvature: (l: number) => 0.1 + k * l,
  });
  assert.deepEqual(verdicts(fig4cTrends(fig4cCsv([valley(1), valley(1.2), valley(0.9)]))), [
    "pass",
    "pass",
  ]);
  const barrier = (k: number) => ({
    loss: (l: number) => 0.1 + k * Math.sin(Math.PI * Math.min(1, Math.max(0, l))),
    curvature: (l: number) => 1 - k * l,
  });
  assert.deepEqual(verdicts(fig4cTrends(fig4cCsv([barrier(1), barrier(1.2), barrier(0.9)]))), [
    "fail",
    "fail",
  ]);
  const mixed = fig4cCsv([valley(1), barrier(1), valley(0.5)]);
  assert.deepEqual(
    verdicts(fig4cTrends(mixed)),
    ["unresolved", "unresolved"],
    show(fig4cTrends(mixed)),
  );
});

/** Figure 4(a)'s paired rows from per-trial values (the rows `fig4aRows` writes). */
function fig4aCsv(trials: { sam: number[]; usam: number[]; growth: number[] }) {
  const map = (xs: number[]) => new Map(xs.map((x, i) => [i, x]));
  const rows = [
    pairedRow(pairedDiff("sharpness_drop", [map(trials.sam)], (d) => d), { optimizer: "sam" }),
    pairedRow(pairedDiff("sharpness_drop", [map(trials.usam)], (d) => d), { optimizer: "usam" }),
    pairedRow(pairedDiff("log_growth", [map(trials.growth)], (g) => g), { optimizer: "usam" }),
  ];
  return parseCsv(toCsv(["kind", "optimizer", "n", ...PAIRED_COLUMNS], rows));
}

Deno.test("fig4a: flatter ends and growth pass, sharper ends and decay fail, mixed unresolved", () => {
  const holds = fig4aCsv({
    sam: [7, 7.2, 6.9, 7.1],
    usam: [2.5, 2.6, 2.4, 2.5],
    growth: [0.4, 0.5, 0.45],
  });
  assert.deepEqual(verdicts(fig4aTrends(holds)), ["pass", "pass", "pass"]);
  const fails = fig4aCsv({
    sam: [-1, -1.2, -0.9],
    usam: [-2, -2.1, -1.9],
    growth: [-0.1, -0.12, -0.09],
  });
  assert.deepEqual(verdicts(fig4aTrends(fails)), ["fail", "fail", "fail"]);
  const mixed = fig4aCsv({ sam: [5, -5, 1], usam: [3, -4, 0.5], growth: [0.5, -0.6, 0.1] });
  assert.deepEqual(verdicts(fig4aTrends(mixed)), ["unresolved", "unresolved", "unresolved"]);
});

Deno.test("checkSmoke compares data.csv hashes with the lock and runs the trends", async () => {
  const out = await Deno.makeTempDir();
  try {
    const text = toCsv(["kind", "variant", "growth"], [
      { kind: "fit", variant: "sam", growth: 1.2 },
      { kind: "fit", variant: "ascent", growth: 1.5 },
    ]);
    await Deno.mkdir(join(out, "fig4b"));
    await Deno.writeTextFile(join(out, "fig4b", "data.csv"), text);
    const locked = { fig4b: sha256Hex(text) };
    const ok = await checkSmoke(out, locked, ["fig4b"]);
    assert.ok(allPass(ok));
    const stale = await checkSmoke(out, { fig4b: "0".repeat(64) }, ["fig4b"]);
    assert.equal(allPass(stale), false);
    assert.ok(allPass(stale, true), "relocking ignores the old hash");
    const missing = await checkSmoke(out, locked, ["fig4b", "fig3"]);
    assert.equal(missing[1].sha256, null);
    assert.equal(allPass(missing, true), false);
    // A figure computed on the native backend is checked against its own entry.
    const manifest = { backend: "native", native: { library: "oneDNN 2.6.3 (avx2)", threads: 1 } };
    await Deno.writeTextFile(join(out, "fig4b", "manifest.json"), JSON.stringify(manifest));
    const key = "fig4b@native oneDNN 2.6.3 (avx2)";
    const native = await checkSmoke(out, locked, ["fig4b"]);
    assert.equal(native[0].key, key);
    assert.equal(allPass(native), false, "the wasm entry does not lock a native figure");
    assert.ok(allPass(await checkSmoke(out, { [key]: sha256Hex(text) }, ["fig4b"])));
    assert.equal(allPass(await checkSmoke(out, { [key]: "0".repeat(64) }, ["fig4b"])), false);
    // Another instruction set's entry only: reported unlocked, decided by the trends.
    const other = await checkSmoke(out, { "fig4b@native oneDNN 2.6.3 (avx512_core)": "0" }, [
      "fig4b",
    ]);
    assert.ok(other[0].unlockedNative && allPass(other));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("smoke-check: unresolved passes, contradicted fails, identical AT files checked once", async () => {
  const out = await Deno.makeTempDir();
  try {
    const write = async (figure: string, text: string) => {
      await Deno.mkdir(join(out, figure), { recursive: true });
      await Deno.writeTextFile(join(out, figure, "data.csv"), text);
      return sha256Hex(text);
    };
    const csv = (late: Three, full: Three) => {
      const rows = atCsv({ st: [20, 22, 21], late, full });
      return toCsv(Object.keys(rows[0]), rows);
    };
    // Unresolved everywhere: passes, and says so.
    const split = csv([60, 15, 40], [60, 15, 40]);
    const lock = { fig6: await write("fig6", split), "table-at": await write("table-at", split) };
    const checks = await checkSmoke(out, lock, ["fig6", "table-at"]);
    assert.ok(allPass(checks));
    assert.equal(checks[1].checkedAs, "fig6");
    assert.deepEqual(checks[1].trends, []);
    const lines = report(checks);
    assert.ok(lines.some((l) => l.startsWith("  UNRESOLVED (not resolved at this scale) ")));
    assert.ok(lines.some((l) => /identical to fig6's .* not run twice/.test(l)));
    assert.match(lines[0], /guard the code path and the hash/);
    assert.match(lines.at(-1)!, /0 shown, 3 not resolved at this scale, 0 contradicted/);
    // A contradicted claim fails; a table with other numbers runs its own checks.
    const bad = csv([18, 20.5, 19.2], [10, 12.5, 11]);
    const lock2 = { fig6: lock.fig6, "table-at": await write("table-at", bad) };
    const again = await checkSmoke(out, lock2, ["fig6", "table-at"]);
    assert.equal(again[1].checkedAs, undefined);
    assert.deepEqual(verdicts(again[1].trends), ["fail", "fail", "fail"]);
    assert.equal(allPass(again), false);
    assert.ok(report(again).some((l) => l.startsWith("  FAIL (contradicted) ")));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("intervalCheck: a missing row or an interval touching the threshold is unresolved", () => {
  const claim = {
    figure: "f",
    claim: "c",
    what: "d",
    side: "above" as const,
    threshold: 0,
    method: "t" as const,
  };
  const missing = intervalCheck({ ...claim, row: undefined });
  assert.equal(missing.verdict, "unresolved");
  assert.match(missing.detail, /no paired row in data\.csv/);
  const row = (lo: string, hi: string) => ({ kind: "paired", n: "3", mean: "1", lo, hi });
  assert.equal(intervalCheck({ ...claim, row: row("0", "2") }).verdict, "unresolved");
  assert.equal(intervalCheck({ ...claim, row: row("0.5", "2") }).verdict, "pass");
  const below = intervalCheck({ ...claim, row: row("-2", "-0.5") });
  assert.deepEqual([below.verdict, below.pass], ["fail", false]);
  assert.equal(intervalCheck({ ...claim, side: "below", row: row("-2", "-0.5") }).verdict, "pass");
});
