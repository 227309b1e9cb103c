import assert from "node:assert/strict";
import { parseCsv, toCsv } from "../../core/csv.ts";
import {
  fig3Trends,
  fig4bTrends,
  fig4cTrends,
  fig5Trends,
  TRENDS,
} from "../../experiments/trends.ts";
import { allPass, checkSmoke } from "../../experiments/smoke_check.ts";
import { join } from "node:path";
import { sha256Hex } from "../../core/config.ts";

const rows = (columns: string[], values: Record<string, unknown>[]) =>
  parseCsv(toCsv(columns, values as Record<string, number | string>[]));
const SWITCH = ["kind", "proportion", "lambda_max", "lambda_max_std", "gap", "gap_std"];

Deno.test("fig3 trends: pass when a late switch is flat and close to SAM, fail otherwise", () => {
  const good = rows(SWITCH, [
    { kind: "mean", proportion: 0, lambda_max: 30, lambda_max_std: 2, gap: 1.0 },
    { kind: "mean", proportion: 0.125, lambda_max: 14, lambda_max_std: 1, gap: 0.2 },
    { kind: "mean", proportion: 1, lambda_max: 10, lambda_max_std: 1, gap: 0 },
  ]);
  assert.ok(fig3Trends(good).every((c) => c.pass), JSON.stringify(fig3Trends(good)));
  const bad = rows(SWITCH, [
    { kind: "mean", proportion: 0, lambda_max: 30, lambda_max_std: 25, gap: 0.1 },
    { kind: "mean", proportion: 0.125, lambda_max: 29, lambda_max_std: 1, gap: 0.9, gap_std: 0.2 },
    { kind: "mean", proportion: 1, lambda_max: 10, lambda_max_std: 1, gap: 0 },
  ]);
  assert.deepEqual(fig3Trends(bad).map((c) => c.pass), [false, false, false]);
});

Deno.test("fig5 trends: early SAM must stay nearer SGD's sharpness", () => {
  const make = (early: number) =>
    rows(SWITCH, [
      { kind: "mean", proportion: 0, lambda_max: 30 },
      { kind: "mean", proportion: 0.25, lambda_max: early },
      { kind: "mean", proportion: 1, lambda_max: 10 },
    ]);
  assert.equal(fig5Trends(make(27))[0].pass, true);
  assert.equal(fig5Trends(make(12))[0].pass, false);
});

Deno.test("fig4b trends read the fitted growth of both variants", () => {
  const make = (sam: number, ascent: number) =>
    rows(["kind", "variant", "growth"], [
      { kind: "fit", variant: "sam", growth: sam },
      { kind: "fit", variant: "ascent", growth: ascent },
    ]);
  assert.deepEqual(fig4bTrends(make(1.3, 1.1)).map((c) => c.pass), [true, true]);
  assert.deepEqual(fig4bTrends(make(0.9, 1.1)).map((c) => c.pass), [false, true]);
});

Deno.test("fig4c trends: a barrier or a flat SGD end fails", () => {
  const line = (loss: (l: number) => number, curv: (l: number) => number) =>
    rows(
      ["kind", "split", "lambda", "loss", "loss_std", "curvature"],
      Array.from({ length: 11 }, (_, i) => i / 10).map((lambda) => ({
        kind: "mean",
        split: "train",
        lambda,
        loss: loss(lambda),
        loss_std: 0.001,
        curvature: curv(lambda),
      })),
    );
  const valley = line((l) => 0.1 + 0.2 * l * l, (l) => 0.1 + l);
  assert.deepEqual(fig4cTrends(valley).map((c) => c.pass), [true, true]);
  const barrier = line((l) => 0.1 + Math.sin(Math.PI * l), (l) => 1 - l);
  assert.deepEqual(fig4cTrends(barrier).map((c) => c.pass), [false, false]);
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
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("AT trends are registered for fig6 and table-at and read the mean rows", () => {
  const columns = ["kind", "label", "proportion", "robust_acc", "robust_acc_std", "robust_gap"];
  const make = (late: number) =>
    rows(columns, [
      {
        kind: "mean",
        label: "ST",
        proportion: 0,
        robust_acc: 20,
        robust_acc_std: 2,
        robust_gap: 40,
      },
      { kind: "mean", label: "late", proportion: 0.2, robust_acc: late, robust_acc_std: 3 },
      {
        kind: "mean",
        label: "full",
        proportion: 1,
        robust_acc: 60,
        robust_acc_std: 2,
        robust_gap: 0,
      },
    ]);
  for (const figure of ["fig6", "table-at"]) {
    assert.deepEqual(TRENDS[figure](make(55)).map((c) => c.pass), [true, true, true]);
    assert.deepEqual(TRENDS[figure](make(30)).map((c) => c.pass), [true, true, false]);
    assert.deepEqual(TRENDS[figure](make(22)).map((c) => c.pass), [true, false, false]);
  }
});
