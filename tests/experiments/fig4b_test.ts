import assert from "node:assert/strict";
import { parseCsv, toCsv } from "../../core/csv.ts";
import { excessWindow, fitExcessGrowth, lossExcess } from "../../experiments/escape.ts";
import {
  aboveMargin,
  belowMargin,
  escapeContrasts,
  escapeVerdicts,
  heavyBallRadius,
  linearRegimeEnd,
  predictEscapeRate,
  ratioVerdict,
} from "../../experiments/escape_rate.ts";
import { fig4bTrends } from "../../experiments/trends.ts";
import { pairedDifference } from "../../core/stats.ts";
import {
  analyzeFig4b,
  FIG4B_SCALES,
  FIG4B_VARIANTS,
  type Fig4bResult,
  fig4bTask,
} from "../../experiments/fig4b.ts";

/** |x_t|^(1/t) of the heavy-ball recursion after many steps: the measured radius. */
function simulatedRadius(gain: number, momentum: number): number {
  let [prev, x] = [1, 1 - gain]; // torch's first step: buf = g, so x₁ = (1 − a)x₀
  let logScale = 0;
  const steps = 4000;
  for (let t = 1; t < steps; t++) {
    [prev, x] = [x, (1 + momentum - gain) * x - momentum * prev];
    const m = Math.max(Math.abs(x), Math.abs(prev));
    logScale += Math.log(m);
    [prev, x] = [prev / m, x / m];
  }
  return Math.exp(logScale / steps);
}

Deno.test("heavyBallRadius is the growth of the simulated recursion, edge at 2(1 + β)", () => {
  for (const [gain, momentum] of [[0.3, 0.9], [3.9, 0.9], [0.05, 0.5], [2.5, 0], [1, 0.9]]) {
    const r = heavyBallRadius(gain, momentum);
    assert.ok(Math.abs(simulatedRadius(gain, momentum) - r) < 2e-3, `a ${gain}, β ${momentum}`);
  }
  assert.equal(heavyBallRadius(0.5, 0), 0.5);
  assert.ok(heavyBallRadius(3.79, 0.9) < 1 && heavyBallRadius(3.81, 0.9) > 1);
});

Deno.test("predictEscapeRate: SGD and SAM through the heavy ball, ascent only (1 + ρλ/σ)²", () => {
  const inputs = { lambda: 5, gradNorm: 0.25, lr: 0.05, rho: 0.1, momentum: 0, weightDecay: 0 };
  // SGD: |1 − ηλ|² ; SAM: USAM with ρ/σ = 0.4, a = ηλ(1 + 2) = 0.75.
  assert.ok(Math.abs(predictEscapeRate("sgd", inputs).growth - 0.75 ** 2) < 1e-12);
  assert.ok(Math.abs(predictEscapeRate("sam", inputs).gain - 0.75) < 1e-12);
  assert.ok(Math.abs(predictEscapeRate("sam", inputs).growth - 0.25 ** 2) < 1e-12);
  assert.ok(Math.abs(predictEscapeRate("ascent", inputs).growth - 9) < 1e-12);
  // A tiny gradient norm (near an exact minimum) makes SAM unstable: the effective radius grows.
  const exact = predictEscapeRate("sam", { ...inputs, gradNorm: 1e-3, momentum: 0.9 });
  assert.ok(exact.growth > 1, `SAM at σ → 0: ×${exact.growth}`);
  assert.ok(predictEscapeRate("sgd", { ...inputs, momentum: 0.9 }).growth < 1);
});

Deno.test("the excess fit window runs from step 1 to the first step at the fraction of the max", () => {
  const geometric = [0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.2, 0.21, 0.2];
  assert.deepEqual(excessWindow(geometric, 0.5), { from: 1, to: 5 });
  const fit = fitExcessGrowth(geometric, { fraction: 0.5, minPoints: 3 });
  assert.ok(Math.abs(fit.growth! - 2) < 1e-9, `growth ${fit.growth}`);
  assert.equal(fit.points, 5);
  // Saturating at once: no geometric phase to fit.
  const jump = fitExcessGrowth([0, 0.1, 0.11, 0.1, 0.12], { fraction: 0.5, minPoints: 3 });
  assert.equal(jump.growth, null);
  assert.deepEqual([jump.from, jump.to], [1, 1]);
  // Never rising (the control): the empty window.
  assert.deepEqual(excessWindow([0, -0.01, -0.02], 0.5), { from: 1, to: 0 });
  assert.equal(fitExcessGrowth([0, -0.01, -0.02], { fraction: 0.5, minPoints: 3 }).growth, null);
  assert.deepEqual(lossExcess([0.3, 0.4, 0.2]).map((e) => +e.toFixed(12)), [0, 0.1, -0.1]);
});

Deno.test("margin verdicts: above, below, straddling and too few trials", () => {
  const interval = (values: number[]) => pairedDifference(values, values.map(() => 0));
  assert.equal(aboveMargin(interval([1, 1.1, 0.9, 1.05]), 0.5), "pass");
  assert.equal(aboveMargin(interval([0.1, 0.12, 0.08]), 0.5), "fail");
  assert.equal(aboveMargin(interval([0, 1, 0.2, 0.9]), 0.5), "unresolved");
  assert.equal(aboveMargin(interval([2]), 0.5), "unresolved");
  assert.equal(belowMargin(interval([0.1, 0.12, 0.08]), 0.5), "pass");
  assert.equal(belowMargin(interval([1, 1.1, 0.9, 1.05]), 0.5), "fail");
  const c = escapeContrasts({ sgd: [0, 0, 0], sam: [1, 1.2, 1.1], ascent: [0, 0.01, 0] });
  assert.deepEqual(escapeVerdicts(c, 0.1), { sgd: "pass", sam: "pass", ascent: "fail" });
});

Deno.test("ratioVerdict: same side of 1 and the band; unresolved without a fit", () => {
  assert.equal(ratioVerdict(1.5, 1.4, 2), "pass");
  assert.equal(ratioVerdict(1.05, 4, 2), "fail");
  assert.equal(ratioVerdict(9, 4, 2), "fail");
  assert.equal(ratioVerdict(1.5, 0.9, 2), "fail", "growth where none is predicted");
  assert.equal(ratioVerdict(0.95, 0.9, 2), "pass");
  assert.equal(ratioVerdict(null, 4, 2), "unresolved");
});

Deno.test("the linear regime ends at the first step whose gradient norm exceeds 2σ", () => {
  assert.equal(linearRegimeEnd([0.1, 0.15, 0.19, 0.25, 0.3, NaN]), 3);
  assert.equal(linearRegimeEnd([0.1, 0.12, 0.11, NaN]), 3);
  assert.equal(linearRegimeEnd([0.3, 1.3, 2.9]), 1);
  // The window stops there even while the excess still grows.
  const excess = [0, 0.01, 0.02, 0.04, 0.08, 0.16];
  assert.deepEqual(excessWindow(excess, 0.5, 3), { from: 1, to: 3 });
  assert.equal(fitExcessGrowth(excess, { fraction: 0.5, minPoints: 3 }, 2).growth, null);
});

const COLUMNS = ["kind", "variant", "trial", "step", "loss", "growth", "predicted"];
const FIT_COLUMNS = [...COLUMNS, "band", "margin"];

/** data.csv rows of `trials` trials: each rule's loss curve per trial from `curve`. */
function escapeRows(
  curve: (variant: string, trial: number, step: number) => number,
  fits: Record<string, { growth: number | ""; predicted: number }>,
  trials = 6,
) {
  const rows: Record<string, string | number>[] = [];
  for (const variant of ["sgd", "sam", "ascent"]) {
    for (let trial = 0; trial < trials; trial++) {
      for (let step = 0; step <= 5; step++) {
        rows.push({ kind: "trial", variant, trial, step, loss: curve(variant, trial, step) });
      }
    }
  }
  for (const [variant, fit] of Object.entries(fits)) rows.push({ kind: "fit", variant, ...fit });
  for (const variant of ["sgd", "sam", "ascent"]) {
    rows.push({ kind: "paired", variant, margin: 0.005 });
  }
  for (const row of rows) row.band ??= 2;
  return parseCsv(toCsv(FIT_COLUMNS, rows));
}

const L0 = 0.05;
const noise = (trial: number) => 1e-4 * ((trial * 7) % 5 - 2);
const GOOD_FITS = {
  sam: { growth: 1.3, predicted: 1.2 },
  ascent: { growth: "" as const, predicted: 16 },
};

Deno.test("fig4b trends pass when SAM and ascent escape and the SGD control does not", () => {
  const rows = escapeRows((variant, trial, step) => {
    if (step === 0) return L0;
    if (variant === "sgd") return L0 - 0.001 + noise(trial);
    if (variant === "sam") return L0 + 0.003 * 1.3 ** step + noise(trial);
    return L0 + 0.05 * step * step + noise(trial);
  }, GOOD_FITS);
  const checks = fig4bTrends(rows);
  assert.deepEqual(
    checks.map((c) => c.verdict),
    ["pass", "pass", "pass", "pass", "unresolved"],
    JSON.stringify(checks, null, 1),
  );
  assert.ok(checks.every((c) => c.pass));
});

Deno.test("fig4b trends fail when SGD escapes as fast as SAM", () => {
  const rows = escapeRows((variant, trial, step) => {
    if (step === 0) return L0;
    if (variant === "ascent") return L0 + 0.05 * step * step + noise(trial);
    return L0 + 0.003 * 1.3 ** step + noise(trial) + (variant === "sam" ? 1e-5 : 0);
  }, GOOD_FITS);
  const checks = fig4bTrends(rows);
  assert.equal(checks[0].verdict, "fail", checks[0].detail);
  assert.equal(checks[2].verdict, "fail", checks[2].detail);
  assert.equal(checks[0].pass, false);
});

Deno.test("fig4b trends fail when SAM does not grow, and on a prediction far off", () => {
  const rows = escapeRows((variant, trial, step) => {
    if (step === 0) return L0;
    if (variant === "ascent") return L0 + 0.05 * step * step + noise(trial);
    return L0 - 0.001 + noise(trial);
  }, { ...GOOD_FITS, sam: { growth: 1.02, predicted: 3 } });
  const checks = fig4bTrends(rows);
  assert.equal(checks[0].verdict, "fail", checks[0].detail);
  assert.equal(checks[3].verdict, "fail", checks[3].detail);
  assert.deepEqual(checks.map((c) => c.pass), [false, true, true, false, true]);
});

Deno.test("fig4b's table feeds its trends: a synthetic escape passes end to end", () => {
  const config = FIG4B_SCALES.smoke;
  const steps = 6;
  const trials = FIG4B_VARIANTS.flatMap((variant) =>
    Array.from({ length: 5 }, (_, trial) => ({
      trial,
      variant,
      // SAM grows ×1.5 per step from a small first excess; SGD stays; ascent grows fast.
      losses: Array.from({ length: steps + 1 }, (_, t) =>
        t === 0
          ? L0
          : variant === "sgd"
          ? L0 - 0.001 + noise(trial)
          : variant === "sam"
          ? L0 + 0.002 * 1.5 ** t + noise(trial)
          : L0 + 0.05 * t * t + noise(trial)),
      gradNorms: Array.from({ length: steps }, (_, t) =>
        0.3 * (variant === "ascent" ? t + 1 : 1)),
    }))
  );
  const result = {
    trials,
    sharpness: { eigenvalues: [5, 4], residuals: [1e-4, 2e-4], iterations: 12, converged: true },
    sgdTrainLoss: L0,
    sgdTestError: 20,
    escapeLr: 0.05,
  } as unknown as Fig4bResult;
  const a = analyzeFig4b(result, config);
  assert.ok(Math.abs(a.fits.sam.growth! - 1.5) < 0.02, `SAM growth ${a.fits.sam.growth}`);
  assert.equal(a.fits.sgd.growth, null);
  assert.equal(a.lambdaMax, 5);
  assert.equal(a.gradNorm, 0.3);
  assert.equal(a.predictions.ascent.growth, (1 + (0.15 * 5) / 0.3) ** 2);
  const rows = parseCsv(fig4bTask.table(result, config));
  const checks = fig4bTrends(rows);
  assert.deepEqual(checks.slice(0, 3).map((c) => c.verdict), ["pass", "pass", "pass"]);
  // The prediction for SAM (×0.9: no growth) is far from the fitted ×1.5: the check says so.
  assert.equal(checks[3].verdict, "fail", checks[3].detail);
  assert.equal(rows.filter((r) => r.kind === "hessian").length, 2);
});
