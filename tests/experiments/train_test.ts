import { resolveBackend } from "../../core/backend.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../core/config.ts";
import { sha256Hex } from "../../core/hash.ts";
import { runFigure, RunPaused } from "../../core/figure.ts";
import { trainTask } from "../../experiments/train.ts";
import { captureErrors, HAVE_FMNIST, quiet } from "../_helpers.ts";
import { IntegrityError, setStrictIntegrity } from "../../core/integrity.ts";

// Two tiny epochs (SGD then SAM) of the reference CNN on 256 Fashion-MNIST images, on wasm.
const TINY = [
  "--scale",
  "smoke",
  "--train-size",
  "256",
  "--test-size",
  "128",
  "--batch-size",
  "64",
];

async function hashes(dir: string, names: string[]) {
  return Object.fromEntries(
    await Promise.all(
      names.map(async (n) => [n, sha256Hex(await Deno.readFile(join(dir, "train", n)))]),
    ),
  );
}

Deno.test({
  name: "train writes the results layout and a final checkpoint; reruns are bitwise identical",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      const first = await runFigure(trainTask, [...TINY, "--out", a]);
      await runFigure(trainTask, [...TINY, "--out", b]);
      const files = ["data.csv", "spec.vl.json", "figure.svg", "figure.png", "final.safetensors"];
      assert.deepEqual(await hashes(a, files), await hashes(b, files));
      const manifest = first!.manifest!;
      // The default backend, auto, is recorded as the backend that ran.
      assert.equal(manifest.backend, resolveBackend("auto"));
      assert.equal(
        manifest.datasets["train-images-idx3-ubyte.gz"],
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
      );
      assert.ok("final.safetensors" in manifest.outputs);
      const csv = await Deno.readTextFile(join(a, "train", "data.csv"));
      assert.match(
        csv,
        /^epoch,optimizer,lr,train_loss,train_acc,test_loss,test_acc\n0,sgd,0\.05,/,
      );
      assert.match(csv, /\n1,sam,0\.05,/);
    } finally {
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  },
});

Deno.test({
  name: "an interrupted run resumes from its checkpoint to bitwise the same final weights",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const [straight, pieces] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      await runFigure(trainTask, [...TINY, "--out", straight]);
      await assert.rejects(
        () => runFigure(trainTask, [...TINY, "--out", pieces, "--stop-after", "1"]),
        RunPaused,
      );
      assert.ok((await Deno.stat(join(pieces, "train", "last.safetensors"))).size > 0);
      const resumed = await runFigure(trainTask, [...TINY, "--out", pieces]);
      assert.equal((resumed!.manifest!.summary as Record<string, unknown>).resumedFromEpoch, 1);
      const files = ["data.csv", "final.safetensors"];
      assert.deepEqual(await hashes(pieces, files), await hashes(straight, files));
      await assert.rejects(() => Deno.stat(join(pieces, "train", "last.safetensors"))); // cleaned up
    } finally {
      await Deno.remove(straight, { recursive: true });
      await Deno.remove(pieces, { recursive: true });
    }
  },
});

Deno.test("train rejects a bad phase list with the field named", async () => {
  await assert.rejects(
    () => runFigure(trainTask, [...TINY, "--phases", "sgd:2,adam:1", "--out", "/nonexistent"]),
    (err: unknown) =>
      err instanceof ConfigError && /--phases: bad phase "adam:1"/.test(err.message),
  );
});

Deno.test("train rejects an `at` phase without PGD settings, naming --pgd", async () => {
  await assert.rejects(
    () => runFigure(trainTask, [...TINY, "--phases", "sgd:1,at:1", "--out", "/nonexistent"]),
    (err: unknown) =>
      err instanceof ConfigError &&
      /--pgd: an `at` phase needs --pgd\.\* settings/.test(err.message),
  );
});

Deno.test({
  name: "train --scale at runs ST→AT and logs robust metrics below the clean ones",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const args = [
        "--scale",
        "at",
        "--train-size",
        "128",
        "--test-size",
        "64",
        "--batch-size",
        "64",
        "--phases",
        "sgd:1,at:1",
        "--pgd.steps",
        "2",
        "--robust-eval.examples",
        "64",
        "--out",
        out,
      ];
      const outcome = await quiet(() => runFigure(trainTask, args));
      const csv = await Deno.readTextFile(join(out, "train", "data.csv"));
      assert.match(
        csv,
        /^epoch,optimizer,lr,train_loss,train_acc,test_loss,test_acc,robust_loss,robust_acc\n/,
      );
      const rows = csv.trim().split("\n").slice(1).map((l) => l.split(","));
      assert.deepEqual(rows.map((r) => r[1]), ["sgd", "at"]);
      for (const r of rows) {
        assert.ok(Number(r[8]) <= Number(r[6]), `robust ${r[8]} > clean ${r[6]}`);
      }
      const seeds = outcome!.manifest!.seeds as { streams: Record<string, string> };
      assert.equal(seeds.streams.attack, "0:epoch/<e>/attack/<step>");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

/** Flips a high exponent bit of the checkpoint's last float32 (little-endian: its last byte). */
async function flipExponentBit(path: string): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[bytes.length - 1] ^= 0x40;
  await Deno.writeFile(path, bytes);
}

Deno.test({
  name: "a damaged resume checkpoint is named; the previous good one is used, never silently none",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const [straight, pieces] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    const three = [...TINY, "--phases", "sgd:2,sam:1"];
    const dir = join(pieces, "train");
    try {
      await quiet(() => runFigure(trainTask, [...three, "--out", straight]));
      await assert.rejects(
        () => quiet(() => runFigure(trainTask, [...three, "--out", pieces, "--stop-after", "2"])),
        RunPaused,
      );
      await flipExponentBit(join(dir, "last.safetensors"));
      // --strict refuses to go on, and moves nothing.
      await assert.rejects(
        () => quiet(() => runFigure(trainTask, [...three, "--out", pieces, "--strict"])),
        (e: Error) =>
          e instanceof IntegrityError &&
          /^checkpoint .*last\.safetensors is corrupt \(digest mismatch/.test(e.message),
      );
      setStrictIntegrity(false);
      const { value: resumed, lines } = await quiet(() =>
        captureErrors(() => runFigure(trainTask, [...three, "--out", pieces]))
      );
      assert.equal((resumed!.manifest!.summary as Record<string, unknown>).resumedFromEpoch, 1);
      assert.ok(
        lines.some((l) =>
          l === `train: checkpoint ${join(dir, "last.safetensors")} is corrupt (digest mismatch, ` +
              `altered or damaged after writing); starting from epoch 1 of the last good one ` +
              `(${join(dir, "previous.safetensors")})`
        ),
        lines.join("\n"),
      );
      const files = ["data.csv", "final.safetensors"];
      assert.deepEqual(await hashes(pieces, files), await hashes(straight, files));
      assert.ok(await Deno.stat(join(dir, "last.safetensors.corrupt"))); // moved aside
    } finally {
      setStrictIntegrity(false);
      await Deno.remove(straight, { recursive: true });
      await Deno.remove(pieces, { recursive: true });
    }
  },
});

Deno.test({
  name: "a truncated resume checkpoint with none before it says it starts from epoch 0",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const out = await Deno.makeTempDir();
    const last = join(out, "train", "last.safetensors");
    try {
      await assert.rejects(
        () => quiet(() => runFigure(trainTask, [...TINY, "--out", out, "--stop-after", "1"])),
        RunPaused,
      );
      const bytes = await Deno.readFile(last);
      await Deno.writeFile(last, bytes.subarray(0, bytes.length - 1000));
      const { value: resumed, lines } = await quiet(() =>
        captureErrors(() => runFigure(trainTask, [...TINY, "--out", out]))
      );
      assert.equal((resumed!.manifest!.summary as Record<string, unknown>).resumedFromEpoch, 0);
      assert.ok(
        lines.some((l) =>
          /^train: checkpoint .*last\.safetensors is corrupt \(truncated \(the header promises \d+ data bytes, the file has \d+\)\); no good checkpoint is left; starting from epoch 0$/
            .test(l)
        ),
        lines.join("\n"),
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
