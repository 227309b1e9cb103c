import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../../core/config.ts";
import { sha256Hex } from "../../core/hash.ts";
import { rngKey } from "../../core/random.ts";
import { FIGURE_FILES, MANIFEST_FILE } from "../../core/store.ts";
import { expectedLossCurve } from "../../models/theory/second_moment.ts";
import {
  computeTheory,
  runTheory,
  THEORY_FIGURES,
  THEORY_SCALES,
  type TheoryConfig,
  theorySchema,
} from "../../experiments/theory.ts";
import { computeBand } from "../../experiments/theory/band.ts";
import { lsContext, runLsTrials } from "../../experiments/theory/ls_setup.ts";
import { computeP1, type EscapeEvidence, p1Check } from "../../experiments/theory/p1_escape.ts";
import {
  computeP2,
  type P2Cell,
  p2Check,
  valleyRhoBound,
} from "../../experiments/theory/p2_valley.ts";
import {
  computeP3,
  p3Check,
  type StabilityJudgement,
} from "../../experiments/theory/p3_stability.ts";
import {
  computeP4,
  p4Check,
  type P4MiniBatch,
  type P4Run,
} from "../../experiments/theory/p4_convergence.ts";
import { summaryRows } from "../../experiments/theory/summary.ts";
import { theoryTrends } from "../../experiments/trends.ts";

const SMOKE: TheoryConfig = THEORY_SCALES.smoke;

Deno.test("every named scale validates against the schema", () => {
  for (const [name, config] of Object.entries(THEORY_SCALES)) {
    assert.doesNotThrow(() => parseConfig(theorySchema, config), name);
  }
});

Deno.test("seeded trials average to the exact E[L̃] of the moment recursion (SGD, USAM shared and independent)", () => {
  const ctx = lsContext(0, SMOKE.data, { directions: 10 });
  // Where E[L̃] contracts (η = 0.1) the mean of 4000 trials settles; where it grows, its heavy
  // tail makes the sample mean lag (shared batch, η = 0.2: 0.78 of the exact value).
  const cases = [[0.2, 0, "shared"], [0.1, 0.25, "shared"], [0.2, 0.25, "independent"]] as const;
  for (const [eta, rho, batches] of cases) {
    const hyper = { eta, rho, batch: 2, batches };
    const steps = 10;
    const trials = 4000;
    const mc = runLsTrials(ctx.base, {
      ...hyper,
      steps,
      trials,
      key: (i) => rngKey(1, "test", "mc", i),
      cap: Infinity,
      curves: true,
    });
    const mean = mc.curves.reduce((a, c) => a + c[steps], 0) / trials;
    const exact = expectedLossCurve(ctx.base.spectrum, ctx.base.start, { ...hyper, steps });
    const ratio = mean / (exact[steps] / exact[0]);
    assert.ok(Math.abs(ratio - 1) < 0.1, `ρ = ${rho} ${batches}: mean/exact = ${ratio}`);
  }
});

let smokeResult: ReturnType<typeof computeTheory> | null = null;
function smoke() {
  smokeResult ??= computeTheory(SMOKE);
  return smokeResult;
}

Deno.test("smoke: all four claims pass, every control is detected, the numbers have their structure", () => {
  const { verdicts } = smoke();
  const by = Object.fromEntries(verdicts.map((v) => [v.claim, v]));
  for (const claim of ["P1", "P2", "P3", "P4"]) {
    assert.ok(by[claim].pass, by[claim].line);
    assert.ok(by[claim].control.detected, by[claim].control.line);
  }
  const p3 = by.P3.numbers as Record<string, number>;
  assert.ok(p3.violators > 0 && p3.stableViolators === 0);
  assert.ok(p3.gammaExactMin > 0 && p3.gammaExactMin <= p3.gammaSampledMin);
  assert.ok(
    p3.gammaSampledMin <= p3.gammaSampledMedian && p3.gammaSampledMedian <= p3.gammaExactMax,
  );
  assert.ok(p3.bandUsamExact < p3.bandSgdExact, "USAM's exact edge below SGD's");
  assert.ok(p3.bandUsamMax < p3.bandTarget && p3.bandTarget < p3.bandSgdExact);
  assert.ok(p3.bandSgdExact < p3.bandSgdMax, "SGD's exact edge lies inside its necessary bound");
  assert.ok(p3.bandUsamExact < p3.bandUsamExactIndependent, "one shared batch destabilizes more");
  const p1 = by.P1.numbers as Record<string, number>;
  assert.ok(p1.C > 1 && p1.sgdExactGrowth < 1);
  assert.ok(p1.exactGrowthFactor >= p1.C && p1.fittedMeanGrowth >= p1.C);
  assert.ok(Math.abs(p1.exactGrowthFit / p1.exactGrowthFactor - 1) < 0.1);
  assert.equal(by.P1.variants[0].pass, true, by.P1.variants[0].line);
  const p2 = by.P2.numbers as Record<string, unknown>;
  assert.ok((p2.rhoBoundSettings as number) > 0 && p2.rhoBoundSettingsLeaving === 0);
  assert.ok(Math.abs((p2.escapeFit as number) / (p2.escapePredicted as number) - 1) < 1e-3);
  const p4 = by.P4.numbers as Record<string, number>;
  assert.ok(p4.runsChecked > 0 && p4.aboveEnvelope === 0 && p4.unconverged === 0);
  assert.ok(p4.miniBatchGrowthUpper < 1);
  // The summary has a check and a control row per claim; the trend check reads them.
  const rows = summaryRows(verdicts).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]))
  );
  assert.deepEqual(rows.filter((r) => r.kind === "control").map((r) => r.verdict), [
    "detected",
    "detected",
    "detected",
    "detected",
  ]);
  assert.ok(theoryTrends(rows).every((c) => c.pass));
  const missed = rows.map((r) =>
    r.kind === "control" && r.claim === "P2" ? { ...r, verdict: "MISSED" } : r
  );
  assert.ok(theoryTrends(missed).some((c) => !c.pass), "a missed control fails the trend check");
});

const judgement = (
  eta: number,
  rho: number,
  violates: boolean,
  stable: boolean,
): StabilityJudgement => ({ batch: 1, eta, rho, violates, stable, unstable: !stable });

Deno.test("P3's check: PASS when violators diverge and USAM's edge is below SGD's; FAIL on each false claim", () => {
  const holds = [
    judgement(0.1, 0, false, true),
    judgement(0.1, 1, true, false),
    judgement(0.5, 0, false, false),
    judgement(0.5, 1, true, false),
  ];
  const edges = { usamExact: 2, sgdExact: 80, usamBound: 30 };
  assert.equal(p3Check(holds, edges).pass, true);
  // A violator that stays stable: the condition is not necessary.
  assert.equal(p3Check([...holds, judgement(0.1, 2, true, true)], edges).pass, false);
  // USAM stable where SGD is not: USAM's region is not inside SGD's.
  assert.equal(p3Check([...holds, judgement(0.5, 0.5, false, true)], edges).pass, false);
  // USAM's edge above SGD's, and an empty band.
  assert.equal(p3Check(holds, { ...edges, usamExact: 90 }).pass, false);
  assert.equal(p3Check(holds, { ...edges, usamBound: 85 }).pass, false);
});

const escape = (over: Partial<EscapeEvidence> = {}): EscapeEvidence => ({
  bound: 2,
  sgdGrowth: 0.9,
  curve: Float64Array.from({ length: 6 }, (_, t) => 3 ** t),
  fitMean: 2.5,
  sgdMeanEnd: 0.5,
  sweep: [{ growth: 3, bound: 2, sgdGrowth: 0.9 }],
  ...over,
});

Deno.test("P1's check: PASS when E[L̃_t] ≥ Cᵗ; FAIL when the growth falls below C or SGD escapes too", () => {
  assert.equal(p1Check(escape()).pass, true);
  const slow = Float64Array.from({ length: 6 }, (_, t) => 1.5 ** t);
  assert.equal(p1Check(escape({ curve: slow })).firstViolation, 1);
  assert.equal(p1Check(escape({ curve: slow })).pass, false);
  assert.equal(p1Check(escape({ fitMean: 1.9 })).pass, false);
  assert.equal(p1Check(escape({ sweep: [{ growth: 1.5, bound: 2, sgdGrowth: 0.9 }] })).pass, false);
  assert.equal(p1Check(escape({ sgdGrowth: 1.1 })).pass, false, "not an SGD-stable minimum");
  assert.equal(p1Check(escape({ sgdMeanEnd: 3 })).pass, false);
});

const VALLEY = { a: 1, b: 1 };
const cell = (eta: number, rho: number, inside: boolean): P2Cell => ({
  variant: "usam",
  eta,
  rho,
  maxAbs: inside ? 1 : 3,
  inside,
});

Deno.test("P2's check: the ρ bound through a is judged for ηa > 2b; a start leaving within it is a FAIL", () => {
  assert.equal(valleyRhoBound(VALLEY, 1.5, "usam"), Infinity);
  assert.ok(Math.abs(valleyRhoBound(VALLEY, 2.5, "usam")! - 1) < 1e-12);
  assert.ok(Math.abs(valleyRhoBound(VALLEY, 2.5, "sam")! - 0.5) < 1e-12);
  assert.equal(valleyRhoBound(VALLEY, 3.2, "usam"), null);
  const holds = [cell(1, 4, true), cell(2.5, 1, true), cell(2.5, 4, false)];
  assert.equal(p2Check(holds, VALLEY, true).pass, true, "a leave above the bound is allowed");
  assert.equal(p2Check([...holds, cell(2.5, 0.5, false)], VALLEY, true).pass, false);
  assert.equal(p2Check([...holds, cell(1.5, 3, false)], VALLEY, true).pass, false);
  assert.equal(p2Check([cell(1, 4, true)], VALLEY, true).pass, false, "ρ bound never exercised");
  assert.equal(p2Check(holds, VALLEY, false).pass, false, "headline did not escape and stay");
});

Deno.test("P2 on real runs: ρ within the bound keeps every start inside; far above it (the control) does not", () => {
  const base = { ...SMOKE.p2, etas: [2.5], rhos: [0, 0.5, 1], starts: 8, steps: 300 };
  const within = computeP2({ ...base, control: { eta: 2.5, rho: 0.5 } });
  assert.equal(within.verdict.pass, true, within.verdict.line);
  assert.equal(within.verdict.control.detected, false, "ρ = 0.5 at ηa = 2.5b is within the bound");
  const above = computeP2({ ...base, rhos: [0, 0.5, 1, 4] });
  assert.equal(above.verdict.pass, true, "ρ = 4 is above the bound: not judged");
  assert.equal(above.verdict.control.detected, true, above.verdict.control.line);
});

const run = (over: Partial<P4Run> = {}): P4Run => ({
  problem: "nonconvex",
  start: "x₀=1",
  etaBeta: 0.5,
  rhoBeta: 0.1,
  margin: 0.6,
  bound: 0.98,
  worst: 0.97,
  envelope: true,
  fitted: 0.5,
  steps: 100,
  converged: true,
  minCurvature: -1,
  ...over,
});
const MINI: P4MiniBatch = {
  eta: 0.1,
  rho: 0.1,
  growth: 0.97,
  growthUpper: 0.971,
  exactEnd: 1e-30,
  meanEnd: 1e-30,
};

Deno.test("P4's check: PASS on exponential convergence; FAIL when a run stalls, leaves the envelope or E[L̃] grows", () => {
  assert.equal(p4Check([run()], MINI, 1e-10).pass, true);
  assert.equal(p4Check([run(), run({ converged: false })], MINI, 1e-10).pass, false);
  assert.equal(p4Check([run({ envelope: false })], MINI, 1e-10).pass, false);
  assert.equal(p4Check([run()], { ...MINI, growthUpper: 1.001 }, 1e-10).pass, false);
  assert.equal(p4Check([run()], { ...MINI, meanEnd: 1e-5 }, 1e-10).pass, false);
  assert.equal(p4Check([run({ bound: null })], MINI, 1e-10).pass, false, "nothing judged");
});

Deno.test("P4 on real runs: shared-batch USAM at ηβ = 0.25, ρβ = 0.1, B = 2 does not contract E[L̃] and fails", () => {
  const ctx = lsContext(SMOKE.seed, SMOKE.data, { directions: 10 });
  const options = {
    ...SMOKE.p4,
    etaBeta: [0.5],
    rhoBeta: [0.1],
    starts: [2.2],
    maxSteps: 3000,
  };
  const fast = { ...options.miniBatch, trials: 4, steps: 400, drop: 1e-3 };
  const holds = computeP4(ctx, { ...options, miniBatch: fast }, { iterations: 600 });
  assert.equal(holds.verdict.pass, true, holds.verdict.line);
  assert.equal(holds.verdict.control.detected, true, holds.verdict.control.line);
  const grows = computeP4(ctx, { ...options, miniBatch: { ...fast, etaBeta: 0.25 } }, {
    iterations: 600,
  });
  assert.ok(grows.miniBatch.growth > 1, `growth ${grows.miniBatch.growth}`);
  assert.equal(grows.verdict.pass, false);
});

Deno.test("the checks can fail on real runs: an empty band fails P3 and P1, a stable headline fails P2", () => {
  const config = SMOKE;
  const ctx = lsContext(config.seed, config.data, { directions: 10 });
  // ρ/η small: USAM's bound lies above SGD's exact edge, so no minimum is in the band.
  const band = computeBand(ctx, {
    eta: 0.1,
    rho: 0.3,
    batch: 1,
    position: 0.5,
    sweepPoints: 2,
    iterations: 400,
    bisections: 12,
  });
  assert.equal(band.nonEmpty, false);
  assert.equal(
    computeP3(ctx, band, { ...config.p3, ...config.power, trials: 2 }).verdict.pass,
    false,
  );
  assert.equal(computeP1(ctx, band, config.p1).verdict.pass, false);
  // Below USAM's escape threshold at the minimum, the headline run does not escape.
  const p2 = computeP2({ ...config.p2, trajectory: { ...config.p2.trajectory, rho: 0.1 } });
  assert.equal(p2.verdict.pass, false);
});

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "late-sam-theory-" });
}

Deno.test("theory writes five figure folders, and a rerun gives byte-identical files", async () => {
  const [a, b] = [await tempDir(), await tempDir()];
  try {
    const first = await runTheory(["--scale", "smoke", "--out", a]);
    const second = await runTheory(["--scale", "smoke", "--out", b]);
    assert.ok(first && second && !first.reused && !second.reused);
    assert.equal(first.configHash, second.configHash);
    for (const figure of THEORY_FIGURES) {
      const manifest = JSON.parse(await Deno.readTextFile(join(a, figure, MANIFEST_FILE)));
      assert.equal(manifest.figure, figure);
      assert.equal(manifest.configHash, first.configHash);
      for (const name of FIGURE_FILES) {
        const bytesA = await Deno.readFile(join(a, figure, name));
        const bytesB = await Deno.readFile(join(b, figure, name));
        assert.ok(bytesA.length > 0, `${figure}/${name}`);
        assert.equal(sha256Hex(bytesA), sha256Hex(bytesB), `${figure}/${name} differs`);
        assert.equal(manifest.outputs[name], sha256Hex(bytesA));
      }
    }
    const summary = await Deno.readTextFile(join(a, "theory", "data.csv"));
    assert.match(summary, /^claim,kind,statement,verdict,measured,predicted,detail\n/);
    assert.equal(summary.match(/\nP[1-4],check,/g)?.length, 4);
    assert.equal(summary.match(/\nP[1-4],control,[^\n]*,detected,/g)?.length, 4);
    assert.match(await Deno.readTextFile(join(a, "theory-p3", "data.csv")), /\ngrid,1,0\.1,0,/);
    // Same config and code: reused; --force recomputes.
    assert.equal((await runTheory(["--scale", "smoke", "--out", a]))!.reused, true);
    assert.equal((await runTheory(["--scale", "smoke", "--out", a, "--force"]))!.reused, false);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

async function runCli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "experiments/theory.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("the theory command rejects bad flags with the field named and exit code 2", async () => {
  const bad = await runCli(["--p3.trials=-3"]);
  assert.equal(bad.code, 2);
  assert.match(bad.text, /--p3\.trials: Too small/);
  const under = await runCli(["--data.d", "10"]);
  assert.equal(under.code, 2);
  assert.match(under.text, /--data\.d: must exceed data\.n/);
  const fit = await runCli(["--p1.fit-to", "500"]);
  assert.equal(fit.code, 2);
  assert.match(fit.text, /--p1\.fit-to: must be at least/);
  const unknown = await runCli(["--bogus"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.text, /Unknown option '--bogus'/);
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.text, /Usage: deno task theory/);
  assert.match(help.text, /--p3\.batch-sizes VALUE \[1,2,4\]/);
});
