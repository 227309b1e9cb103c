/**
 * End-to-end tests of `deno task sharpness` and `deno task interpolate` on tiny configs: two
 * short Fashion-MNIST runs of the reference CNN (256 images) give the checkpoints.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { CliError } from "../../core/cli.ts";
import { ConfigError } from "../../core/config.ts";
import { sha256Hex } from "../../core/hash.ts";
import { CheckpointError } from "../../core/checkpoint.ts";
import { runFigure } from "../../core/figure.ts";
import { interpolateTask } from "../../experiments/interpolate.ts";
import { sharpnessTask } from "../../experiments/sharpness.ts";
import { trainTask } from "../../experiments/train.ts";
import { HAVE_FMNIST } from "../_helpers.ts";

const TRAIN = [
  "--scale",
  "smoke",
  "--train-size",
  "256",
  "--test-size",
  "128",
  "--batch-size",
  "64",
];

let fixture: Promise<{ root: string; sgd: string; sam: string }> | null = null;

/** Trains the two tiny checkpoints once per test file. */
function checkpoints() {
  fixture ??= (async () => {
    const root = await Deno.makeTempDir();
    await runFigure(trainTask, [...TRAIN, "--phases", "sgd:2", "--out", join(root, "sgd")]);
    await runFigure(trainTask, [...TRAIN, "--phases", "sgd:1,sam:1", "--out", join(root, "sam")]);
    return {
      root,
      sgd: join(root, "sgd", "train", "final.safetensors"),
      sam: join(root, "sam", "train", "final.safetensors"),
    };
  })();
  return fixture;
}

const SHARP = [
  "--scale",
  "smoke",
  "--train-size",
  "256",
  "--examples",
  "64",
  "--chunk",
  "24",
  "--iterations",
  "3",
  "--power-iterations",
  "2",
  "--probes",
  "2",
];

async function read(dir: string, name: string) {
  return await Deno.readFile(join(dir, name));
}

Deno.test({
  name: "sharpness writes the results layout, is bitwise reproducible, and tracks its checkpoint",
  ignore: !HAVE_FMNIST,
  sanitizeResources: false,
  fn: async () => {
    const { root, sgd } = await checkpoints();
    const [a, b] = [join(root, "sa"), join(root, "sb")];
    const before = tf.memory().numTensors;
    const first = await runFigure(sharpnessTask, [sgd, ...SHARP, "--out", a]);
    assert.equal(tf.memory().numTensors, before);
    await runFigure(sharpnessTask, [sgd, ...SHARP, "--out", b]);
    const dir = join(a, "sharpness");
    for (const f of ["data.csv", "spec.vl.json", "figure.svg", "figure.png"]) {
      assert.equal(
        sha256Hex(await read(dir, f)),
        sha256Hex(await read(join(b, "sharpness"), f)),
        f,
      );
    }
    const manifest = first!.manifest!;
    const summary = manifest.summary as Record<string, unknown>;
    assert.equal(manifest.inputs!.checkpoint.sha256, sha256Hex(await Deno.readFile(sgd)));
    assert.equal(summary.hvps, 3 + 2 + 2);
    assert.equal(summary.gradientEvaluations, 14);
    assert.equal(summary.examples, 64);
    assert.equal(summary.chunks, 3); // 24 + 24 + 16
    assert.equal((summary.eigenvalues as number[]).length, 2);
    assert.equal(summary.lambdaMax, (summary.eigenvalues as number[])[0]);
    const csv = new TextDecoder().decode(await read(dir, "data.csv"));
    assert.match(
      csv,
      /^method,step,index,value,residual,relative_residual,asymmetry\nlanczos,1,0,/,
    );
    // λ_max's flag is its relative residual against the tolerance (3 iterations: a cap).
    const relative = (summary.relativeResiduals as number[])[0];
    assert.equal(summary.lambdaMaxConverged, relative <= (summary.tolerance as number));
    assert.match(csv, /\npower,2,0,/);
    assert.match(csv, /\ntrace,2,0,/);
    // Same config, code and checkpoint: reused; a changed checkpoint file: recomputed.
    assert.equal((await runFigure(sharpnessTask, [sgd, ...SHARP, "--out", a]))!.reused, true);
    const copy = join(root, "copy.safetensors");
    await Deno.copyFile(sgd, copy);
    const c = join(root, "sc");
    await runFigure(sharpnessTask, [copy, ...SHARP, "--out", c]);
    assert.equal((await runFigure(sharpnessTask, [copy, ...SHARP, "--out", c]))!.reused, true);
    await Deno.copyFile((await checkpoints()).sam, copy);
    assert.equal((await runFigure(sharpnessTask, [copy, ...SHARP, "--out", c]))!.reused, false);
  },
});

Deno.test({
  name: "sharpness rejects bad values with the field named, and unreadable or foreign checkpoints",
  ignore: !HAVE_FMNIST,
  sanitizeResources: false,
  fn: async () => {
    const { root, sgd } = await checkpoints();
    const out = join(root, "bad");
    await assert.rejects(
      () => runFigure(sharpnessTask, [sgd, ...SHARP, "--epsilon=-1", "--out", out]),
      (e: unknown) => e instanceof ConfigError && /--epsilon:/.test(e.message),
    );
    await assert.rejects(
      () => runFigure(sharpnessTask, [sgd, ...SHARP, "--bn", "frozen", "--out", out]),
      (e: unknown) => e instanceof ConfigError && /--bn:/.test(e.message),
    );
    await assert.rejects(
      () => runFigure(sharpnessTask, [...SHARP, "--out", out]),
      /missing argument <checkpoint>/,
    );
    await assert.rejects(
      () => runFigure(sharpnessTask, [join(root, "none.safetensors"), ...SHARP, "--out", out]),
      (e: unknown) => e instanceof CliError && /cannot read checkpoint/.test(e.message),
    );
    await assert.rejects(
      () => runFigure(sharpnessTask, [sgd, ...SHARP, "--examples", "300", "--out", out]),
      (e: unknown) => e instanceof CliError && /--examples 300 exceeds the 256/.test(e.message),
    );
    await assert.rejects(
      () => runFigure(sharpnessTask, [sgd, ...SHARP, "--k", "4", "--out", out]),
      (e: unknown) =>
        e instanceof ConfigError && /--iterations: Lanczos needs at least k = 4/.test(e.message),
    );
    const bogus = join(root, "bogus.safetensors");
    await Deno.writeFile(bogus, new Uint8Array([1, 2, 3]));
    await assert.rejects(
      () => runFigure(sharpnessTask, [bogus, ...SHARP, "--out", out]),
      CheckpointError,
    );
  },
});

Deno.test({
  name: "interpolate writes loss and L″ along the line; its ends are the two checkpoints",
  ignore: !HAVE_FMNIST,
  sanitizeResources: false,
  fn: async () => {
    const { root, sgd, sam } = await checkpoints();
    const args = [sam, sgd, "--scale", "smoke", "--train-size", "128", "--test-size", "64"];
    const out = join(root, "line");
    const outcome = await runFigure(interpolateTask, [...args, "--out", out]);
    const again = await runFigure(interpolateTask, [...args, "--out", join(root, "line2")]);
    const dir = join(out, "interpolate");
    for (const f of ["data.csv", "spec.vl.json", "figure.svg", "figure.png"]) {
      assert.equal(
        sha256Hex(await read(dir, f)),
        sha256Hex(await read(join(again!.dir), f)),
        f,
      );
    }
    const csv = new TextDecoder().decode(await read(dir, "data.csv")).trim().split("\n");
    assert.equal(csv[0], "lambda,split,loss,acc,curvature");
    assert.equal(csv.length, 1 + 2 * 13); // λ = −0.1, 0, …, 1.1 for train and test
    const rows = csv.slice(1).map((l) => l.split(","));
    assert.equal(rows[0][0], "-0.1");
    assert.equal(rows[0][4], ""); // no λ − h below the grid
    assert.ok(Number(rows[1][4]) !== 0 && rows[1][4] !== ""); // L″ at λ = 0
    const summary = outcome!.manifest!.summary as Record<string, Record<string, number>>;
    assert.ok(summary.train.lossA > 0 && summary.train.lossB > 0);
    assert.equal(
      outcome!.manifest!.inputs!.checkpointB.sha256,
      sha256Hex(await Deno.readFile(sgd)),
    );
    await assert.rejects(
      () => runFigure(interpolateTask, [sam, "--out", out]),
      /missing argument <checkpoint-b>/,
    );
  },
});

Deno.test({
  name: "interpolate ends reproduce each checkpoint's own evaluation",
  ignore: !HAVE_FMNIST,
  sanitizeResources: false,
  fn: async () => {
    const { root, sgd } = await checkpoints();
    // A line from a checkpoint to itself is flat: the same loss at every λ, L″ = 0.
    const outcome = await runFigure(interpolateTask, [
      sgd,
      sgd,
      "--scale",
      "smoke",
      "--train-size",
      "128",
      "--test-size",
      "64",
      "--out",
      join(root, "flat"),
    ]);
    const csv = new TextDecoder().decode(await read(outcome!.dir, "data.csv")).trim().split("\n");
    const train = csv.slice(1).map((l) => l.split(",")).filter((r) => r[1] === "train");
    const losses = new Set(train.map((r) => r[2]));
    assert.equal(losses.size, 1, `losses ${[...losses]}`);
    for (const r of train) assert.ok(r[4] === "" || Number(r[4]) === 0);
    await Deno.remove(root, { recursive: true });
  },
});
