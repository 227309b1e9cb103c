/**
 * λ_max's Lanczos convergence reaches the optimizer-switching `data.csv`: per run its
 * iterations, relative residual and flag; per proportion the count of unconverged seeds. The
 * sharpness task's convergence line marks an unconverged λ_max.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseCsv } from "../../core/csv.ts";
import { runFigure } from "../../core/figure.ts";
import { switchTask } from "../../experiments/switch.ts";
import { HAVE_FMNIST, quiet } from "../_helpers.ts";
import type { SharpnessResult } from "../../core/metrics/mod.ts";
import { convergenceLine } from "../../experiments/sharpness.ts";
import { sweepConvergenceLine } from "../../experiments/switching_chart.ts";
import {
  lambdaConvergenceOf,
  type MeasuredRun,
  type SwitchResult,
  switchTable,
} from "../../experiments/optimizer_switch.ts";

function run(seed: number, switchEpoch: number, lambda: number, converged: boolean): MeasuredRun {
  const measured = {
    eigenvalues: [lambda, lambda / 2],
    iterations: converged ? 17 : 10,
    relativeResiduals: [converged ? 4e-4 : 9.7e-3, 2e-2],
    convergedValues: [converged, false],
  };
  return {
    seed,
    switchEpoch,
    proportion: switchEpoch === 0 ? 1 : 0,
    focusEpochs: switchEpoch === 0 ? 4 : 0,
    id: `run-${seed}-${switchEpoch}`,
    last: { testAcc: 0.8, trainLoss: 0.1 },
    measured,
    testError: 20,
    trainLoss: 0.1,
    eigenvalues: measured.eigenvalues,
    lambdaConvergence: lambdaConvergenceOf(measured),
  } as unknown as MeasuredRun;
}

Deno.test("data.csv flags an unconverged λ_max per run and counts them per proportion", () => {
  const result = {
    switching: { focus: "then" },
    runs: [run(0, 0, 2.3, true), run(1, 0, 2.4, false), run(0, 4, 4.9, true)],
  } as unknown as SwitchResult;
  const rows = parseCsv(switchTable(result, 4));
  const runs = rows.filter((r) => r.kind === "run");
  assert.deepEqual(
    runs.map((r) => [r.lambda_iters, r.lambda_residual, r.lambda_converged]),
    [["17", "0.0004", "true"], ["10", "0.0097", "false"], ["17", "0.0004", "true"]],
  );
  const means = rows.filter((r) => r.kind === "mean");
  assert.deepEqual(
    means.map((r) => [r.proportion, r.lambda_unconverged]),
    [["0", "0"], ["1", "1"]],
  );
});

Deno.test("the sharpness task's convergence line marks an unconverged λ_max", () => {
  const result = (converged: boolean) =>
    ({
      lambdaMax: 4.95,
      lanczos: {
        iterations: converged ? 24 : 10,
        relativeResiduals: [converged ? 2e-6 : 9.7e-3],
        asymmetries: [0.24],
        convergedValues: [converged],
        tolerance: 1e-3,
      },
    }) as unknown as SharpnessResult;
  assert.match(convergenceLine(result(false)), /after 10 Lanczos .*: UNCONVERGED \(cap 10/);
  assert.match(convergenceLine(result(true)), /after 24 Lanczos .*: converged$/);
  assert.doesNotMatch(convergenceLine(result(true)), /UNCONVERGED/);
});

Deno.test({
  name: "a tiny switch sweep writes each run's λ_max convergence into data.csv",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const args = ["--scale", "smoke", "--train-size", "128", "--test-size", "64"];
      args.push("--epochs", "2", "--switches", "1", "--seeds", "0", "--workers", "1");
      args.push("--sharpness.examples", "64", "--sharpness.iterations", "2");
      await quiet(() => runFigure(switchTask, [...args, "--out", out]));
      const rows = parseCsv(await Deno.readTextFile(join(out, "switch", "data.csv")));
      const runs = rows.filter((r) => r.kind === "run");
      assert.equal(runs.length, 3);
      for (const r of runs) {
        // Two iterations: the cap stops Lanczos; the flag follows the residual.
        assert.equal(r.lambda_iters, "2");
        assert.equal(r.lambda_converged, String(Number(r.lambda_residual) <= 1e-3));
      }
      const means = rows.filter((r) => r.kind === "mean");
      for (const m of means) {
        const unconverged = runs.filter((r) =>
          r.proportion === m.proportion && r.lambda_converged === "false"
        ).length;
        assert.equal(m.lambda_unconverged, String(unconverged));
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("the switching chart's subtitle flags each unconverged λ_max and says when none is", () => {
  const measured = (seed: number, proportion: number, converged: boolean) =>
    ({
      seed,
      proportion,
      lambdaConvergence: { iterations: 40, relativeResidual: converged ? 1e-4 : 0.02, converged },
    }) as unknown as MeasuredRun;
  const settings = { tolerance: 1e-3, iterations: 40 };
  assert.match(
    sweepConvergenceLine([measured(0, 0, true), measured(1, 1, true)], settings),
    /^every λ_max converged \(relative residual ≤ 0.001 within 40 Lanczos iterations\)$/,
  );
  assert.match(
    sweepConvergenceLine([measured(0, 0, true), measured(1, 0.125, false)], settings),
    /^UNCONVERGED λ_max \(cap reached, a lower bound\) in 1 of 2 runs: seed 1 at 0.125/,
  );
});
