import assert from "node:assert/strict";
import { parseCsv, toCsv } from "../../core/csv.ts";
import {
  fig1Trends,
  fig3Trends,
  fig4cTrends,
  fig5Trends,
  noWorseThanSam,
  TRENDS,
} from "../../experiments/trends.ts";
import { allPass, checkSmoke } from "../../experiments/smoke_check.ts";
import { join } from "node:path";
import { sha256Hex } from "../../core/hash.ts";

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

Deno.test("the test-error check is one-sided: beating full SAM passes, falling behind fails", () => {
  assert.equal(noWorseThanSam(-2.6, -1.5, 0.7), true, "late better than SAM");
  assert.equal(noWorseThanSam(0.5, 1.0, 0.1), true, "late behind SAM but less than SGD");
  assert.equal(noWorseThanSam(1.5, 1.0, 0.1), false, "late further behind SAM than SGD");
  assert.equal(noWorseThanSam(0.5, -1.0, 0.1), false, "SGD ahead of SAM does not excuse a gap");
  assert.equal(noWorseThanSam(0.05, -1.0, 0.1), true, "within noise of SAM");
});

Deno.test("fig1 trends: falling error, and a late switch that beats SAM passes", () => {
  const make = (lateFinal: number) =>
    rows(
      ["kind", "curve", "epoch", "test_error", "test_error_std"],
      ["SGD", "SAM", "SGD→SAM"].flatMap((curve) => [
        { kind: "mean", curve, epoch: 1, test_error: 50, test_error_std: 1 },
        {
          kind: "mean",
          curve,
          epoch: 4,
          test_error: curve === "SGD" ? 25.5 : curve === "SAM" ? 27 : lateFinal,
          test_error_std: 0.5,
        },
      ]),
    );
  assert.deepEqual(fig1Trends(make(24.3)).map((c) => c.pass), [true, true]);
  assert.deepEqual(fig1Trends(make(29)).map((c) => c.pass), [true, false]);
  assert.deepEqual(fig1Trends(make(60)).map((c) => c.pass), [false, false]);
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
