/**
 * λ_max's Lanczos convergence reaches the optimizer-switching `data.csv`: per run its
 * iterations, relative residual and flag; per proportion the count of unconverged seeds. The
 * sharpness task's convergence line marks an unconverged λ_max.
 */
import assert from "node:assert/strict";
import { parseCsv } from "../../core/csv.ts";
import type { SharpnessResult } from "../../core/metrics/mod.ts";
import { convergenceLine } from "../../experiments/sharpness.ts";
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
