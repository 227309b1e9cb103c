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
import { computeP1 } from "../../experiments/theory/p1_escape.ts";
import { computeP2 } from "../../experiments/theory/p2_valley.ts";
import { computeP3 } from "../../experiments/theory/p3_stability.ts";

const SMOKE: TheoryConfig = THEORY_SCALES.smoke;

Deno.test("every named scale validates against the schema", () => {
  for (const [name, config] of Object.entries(THEORY_SCALES)) {
    assert.doesNotThrow(() => parseConfig(theorySchema, config), name);
  }
});

Deno.test("seeded trials average to the exact E[L̃] of the moment recursion (SGD and USAM)", () => {
  const ctx = lsContext(0, SMOKE.data, { directions: 10 });
  for (const rho of [0, 0.25]) {
    const hyper = { eta: 0.2, rho, batch: 2 };
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
    assert.ok(Math.abs(ratio - 1) < 0.1, `ρ = ${rho}: mean/exact = ${ratio}`);
  }
});

let smokeResult: ReturnType<typeof computeTheory> | null = null;
function smoke() {
  smokeResult ??= computeTheory(SMOKE);
  return smokeResult;
}

Deno.test("smoke: all four claims pass with the expected structure of their numbers", () => {
  const { verdicts } = smoke();
  const by = Object.fromEntries(verdicts.map((v) => [v.claim, v]));
  for (const claim of ["P1", "P2", "P3", "P4"]) assert.ok(by[claim].pass, by[claim].line);
  const p3 = by.P3.numbers as Record<string, number>;
  assert.ok(p3.violators > 0 && p3.stableViolators === 0);
  assert.ok(p3.gammaExactMin > 0 && p3.gammaExactMin <= p3.gammaSampledMin);
  assert.ok(
    p3.gammaSampledMin <= p3.gammaSampledMedian && p3.gammaSampledMedian <= p3.gammaExactMax,
  );
  assert.ok(p3.bandUsamMax < p3.bandTarget && p3.bandTarget < p3.bandSgdExact);
  assert.ok(p3.bandSgdExact < p3.bandSgdMax, "SGD's exact edge lies inside its necessary bound");
  const p1 = by.P1.numbers as Record<string, number>;
  assert.ok(p1.C > 1 && p1.sgdExactGrowth < 1);
  assert.ok(p1.exactGrowthFactor >= p1.C && p1.fittedMeanGrowth >= p1.C);
  assert.ok(Math.abs(p1.exactGrowthFit / p1.exactGrowthFactor - 1) < 0.1);
  const p2 = by.P2.numbers as Record<string, unknown>;
  assert.equal(p2.boundHolds, true);
  assert.ok(Math.abs((p2.escapeFit as number) / (p2.escapePredicted as number) - 1) < 1e-3);
  const p4 = by.P4.numbers as Record<string, number>;
  assert.ok(p4.runsChecked > 0 && p4.boundViolations === 0 && p4.unconverged === 0);
});

Deno.test("the checks can fail: an empty band fails P3 and P1, a stable headline fails P2", () => {
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
    assert.match(summary, /^claim,statement,verdict,measured,predicted,detail\n/);
    assert.equal(summary.match(/\nP[1-4],/g)?.length, 4);
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
