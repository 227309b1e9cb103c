import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../../core/config.ts";
import { sha256Hex } from "../../core/hash.ts";
import { runFigure } from "../../core/figure.ts";
import { FIGURE_FILES, MANIFEST_FILE } from "../../core/store.ts";
import { escapeFitCurve, escapeWindow, fitEscapeRate } from "../../experiments/escape.ts";
import {
  computeFig4a,
  fig4a,
  FIG4A_SCALES,
  type Fig4aConfig,
  fig4aSchema,
} from "../../experiments/fig4a.ts";

/** A few-second version of the smoke config. */
const tiny: Fig4aConfig = parseConfig(fig4aSchema, {
  ...FIG4A_SCALES.smoke,
  escape: { ...FIG4A_SCALES.smoke.escape, trials: 8, steps: 60 },
});

const TINY_FLAGS = ["--scale", "smoke", "--escape.trials", "8", "--escape.steps", "60"];

Deno.test("every named scale validates against the schema", () => {
  for (const [name, config] of Object.entries(FIG4A_SCALES)) {
    assert.doesNotThrow(() => parseConfig(fig4aSchema, config), name);
  }
});

Deno.test("the escape fit recovers a known exponential and its window", () => {
  const curve = Array.from({ length: 30 }, (_, t) => 1e-10 * 2.5 ** t);
  const n = escapeWindow(curve, 1e-4);
  assert.equal(n, 16); // 1e-10·2.5^15 ≈ 9.3e-5 < 1e-4 ≤ 1e-10·2.5^16
  const fit = fitEscapeRate(curve, n);
  assert.ok(Math.abs((fit.growth as number) - 2.5) < 1e-9);
  assert.ok(Math.abs((fit.intercept as number) - Math.log(1e-10)) < 1e-9);
  assert.equal(fitEscapeRate(curve, 2).growth, null);
  const line = escapeFitCurve(fit);
  assert.equal(line.length, n);
  assert.ok(Math.abs(line[5].loss / curve[5] - 1) < 1e-9);
  assert.deepEqual(escapeFitCurve(fitEscapeRate(curve, 2)), []);
});

Deno.test("without noise, USAM's fitted escape rate equals the linear-stability prediction", async () => {
  // σ = 0: every trial is the same deterministic GD/USAM run, and near the minimum the
  // linearization is exact, so fit and prediction agree up to float32 rounding.
  const result = await computeFig4a({ ...tiny, sigma: 0, escape: { ...tiny.escape, trials: 2 } });
  const usam = result.escapes.find((e) => e.optimizer === "usam")!;
  const predicted = result.predictedGrowth.usam.mean;
  assert.ok(usam.fit.steps >= 5, `window ${usam.fit.steps}`);
  assert.ok(
    Math.abs((usam.fit.growth as number) / predicted - 1) < 0.01,
    `fit ${usam.fit.growth} vs predicted ${predicted}`,
  );
});

Deno.test("smoke trend: SGD settles where it is stable but USAM is not; SAM ends flattest", async () => {
  const result = await computeFig4a(tiny);
  assert.ok(result.sgdSettled);
  assert.ok(result.predictedGrowth.sgd.mean < 1, "SGD is linearly stable at its end point");
  assert.ok(result.predictedGrowth.usam.mean > 1, "USAM is unstable there");
  const [usam, sam] = ["usam", "sam"].map((o) => result.escapes.find((e) => e.optimizer === o)!);
  assert.ok((usam.fitTypical.growth as number) > 1.2, "USAM escapes exponentially");
  assert.ok(usam.meanLoss[usam.fit.steps] > 1e3 * usam.meanLoss[0]);
  // Both end in the same valley (v near 0) at flatter minima than SGD's.
  for (const e of [usam, sam]) {
    assert.equal(e.diverged, 0);
    assert.ok(e.meanEndSharpness < result.sgdEnd.sharpness, `${e.optimizer} ends flatter`);
    assert.ok(Math.abs(e.end.v) < 0.5);
  }
  assert.ok(sam.meanEndSharpness < usam.meanEndSharpness);
});

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "late-sam-fig4a-" });
}

Deno.test("fig4a writes the five files, and a rerun gives byte-identical data and figures", async () => {
  const [a, b] = [await tempDir(), await tempDir()];
  try {
    const first = await runFigure(fig4a, [...TINY_FLAGS, "--out", a]);
    const second = await runFigure(fig4a, [...TINY_FLAGS, "--out", b]);
    assert.ok(first && second && !first.reused && !second.reused);
    for (const name of [...FIGURE_FILES, MANIFEST_FILE]) {
      assert.ok((await Deno.stat(join(a, "fig4a", name))).size > 0, name);
    }
    for (const name of FIGURE_FILES) {
      const bytesA = await Deno.readFile(join(a, "fig4a", name));
      const bytesB = await Deno.readFile(join(b, "fig4a", name));
      if (name === "data.csv" && sha256Hex(bytesA) !== sha256Hex(bytesB)) {
        const [la, lb] = [bytesA, bytesB].map((b) => new TextDecoder().decode(b).split("\n"));
        const i = la.findIndex((line, k) => line !== lb[k]);
        assert.fail(`data.csv differs between runs at line ${i + 1}:\n${la[i]}\n${lb[i]}`);
      }
      assert.equal(sha256Hex(bytesA), sha256Hex(bytesB), `${name} differs between runs`);
      assert.equal(first.manifest!.outputs[name], sha256Hex(bytesA), `${name} hash in manifest`);
    }
    const manifest = JSON.parse(await Deno.readTextFile(join(a, "fig4a", MANIFEST_FILE)));
    assert.equal(manifest.configHash, first.configHash);
    assert.equal(manifest.config.escape.trials, 8);
    assert.match(manifest.codeHash, /^[0-9a-f]{64}$/);
    assert.ok(manifest.environment.versions.tfjs);
    const csv = await Deno.readTextFile(join(a, "fig4a", "data.csv"));
    assert.match(csv, /^kind,optimizer,step,u,v,loss,/);
    assert.match(csv, /\nendpoint,sgd,/);
    assert.match(csv, /\nrate,usam,/);
    // Per-trial comparisons with their intervals (docs/statistics.md).
    assert.match(csv, /\npaired,sam,[^\n]*,8,sharpness_drop,/);
    assert.match(csv, /\npaired,usam,[^\n]*,log_growth,/);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("a completed result is reused unless --force, and recomputed when tampered", async () => {
  const dir = await tempDir();
  try {
    const args = [...TINY_FLAGS, "--escape.trials", "3", "--out", dir];
    assert.equal((await runFigure(fig4a, args))!.reused, false);
    assert.equal((await runFigure(fig4a, args))!.reused, true);
    assert.equal((await runFigure(fig4a, [...args, "--force"]))!.reused, false);
    await Deno.writeTextFile(join(dir, "fig4a", "data.csv"), "tampered\n");
    assert.equal((await runFigure(fig4a, args))!.reused, false);
    assert.notEqual(await Deno.readTextFile(join(dir, "fig4a", "data.csv")), "tampered\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function runCli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "experiments/fig4a.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("the fig4a command rejects bad flags with the field named and exit code 2", async () => {
  const bad = await runCli(["--escape.trials=-3"]);
  assert.equal(bad.code, 2);
  assert.match(bad.text, /--escape\.trials: Too small/);
  const unknown = await runCli(["--bogus"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.text, /Unknown option '--bogus'/);
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.text, /Usage: deno task fig4a/);
  assert.match(help.text, /--valley\.sharpness VALUE \{quadratic\|cosh\}/);
});
