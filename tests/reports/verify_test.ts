import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import { encodeCheckpoint } from "../../core/checkpoint.ts";
import { SweepStore } from "../../core/sweep/store.ts";
import { verifyStore } from "../../reports/verify.ts";
import { TWO_EPOCH_JOB, withTempDir } from "../_helpers.ts";
import { writeFigure } from "./_fixtures.ts";

await useBackend("cpu");

const job = TWO_EPOCH_JOB;

function checkpointBytes(): Uint8Array {
  const params = { "w/kernel": tf.tensor2d([[1, 2], [3, 4]]) };
  const bytes = encodeCheckpoint({ params, state: {}, momentum: null, metadata: { epoch: "1" } });
  tf.dispose(Object.values(params));
  return bytes;
}

/** A result root with a figure, a state, a measurement and resumable checkpoints, all intact. */
async function fixture(root: string) {
  const figure = await writeFigure({ root, name: "fig3", scale: "smoke" });
  const store = new SweepStore(join(root, "sweep"), "code");
  await store.writeState(job, checkpointBytes(), { records: [{ testAcc: 0.744 }], seconds: 1 });
  const measure = {
    kind: "measure" as const,
    id: "b".repeat(64),
    spec: {},
    inputs: [job.id],
    cost: 1,
  };
  await store.writeMeasure(measure, { value: 1 }, 1);
  await Deno.writeFile(store.partialPath("c".repeat(64)), checkpointBytes());
  await Deno.writeFile(join(figure, "last.safetensors"), checkpointBytes());
  return { figure, store, measure };
}

Deno.test("verify passes an intact store and names every damaged file", async () => {
  await withTempDir(async (root) => {
    const { figure, store, measure } = await fixture(root);
    const clean = await verifyStore(root);
    assert.deepEqual(clean.bad, []);
    assert.equal(clean.checked, 4 + 1 + 1 + 1 + 1 + 1); // 4 figure outputs, record, checkpoint, measure, partial, last

    // The probes' damage, one file each.
    const edit = async (path: string, from: string, to: string) =>
      await Deno.writeTextFile(path, (await Deno.readTextFile(path)).replace(from, to));
    await edit(store.stateRecordPath(job.id), '"testAcc": 0.744', '"testAcc": 0.844');
    await edit(store.measurePath(measure.id), '"value": 1', '"value": 2');
    await edit(join(figure, "data.csv"), "1.2345678", "1.2345679");
    const partial = await Deno.readFile(store.partialPath("c".repeat(64)));
    partial[partial.length - 1] ^= 0x40; // an exponent bit of the last weight
    await Deno.writeFile(store.partialPath("c".repeat(64)), partial);
    const last = await Deno.readFile(join(figure, "last.safetensors"));
    await Deno.writeFile(join(figure, "last.safetensors"), last.subarray(0, last.length - 4));

    const report = await verifyStore(root);
    assert.deepEqual(
      report.bad.map((b) => [b.file, b.problem.replace(/\d+/g, "N")]),
      [
        [join(figure, "data.csv"), "shaN differs from the manifest (edited or damaged)"],
        [
          join(figure, "last.safetensors"),
          "truncated (the header promises N data bytes, the file has N)",
        ],
        [store.measurePath(measure.id), "record digest mismatch"],
        [
          store.partialPath("c".repeat(64)),
          "digest mismatch, altered or damaged after writing",
        ],
        [store.stateRecordPath(job.id), "record digest mismatch"],
      ].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    );
  });
});

Deno.test("verify catches a checkpoint that no longer matches its record", async () => {
  await withTempDir(async (root) => {
    const { store } = await fixture(root);
    const bytes = await Deno.readFile(store.checkpointPath(job.id));
    bytes[bytes.length - 1] ^= 0x40;
    await Deno.writeFile(store.checkpointPath(job.id), bytes);
    assert.deepEqual((await verifyStore(root)).bad, [{
      file: store.checkpointPath(job.id),
      problem: "sha256 differs from its record's checkpointSha256",
    }]);
    await Deno.remove(store.checkpointPath(job.id));
    assert.equal((await verifyStore(root)).bad[0].problem, "missing (its record exists)");
    // A paused run's folder: no manifest yet, only its resume checkpoint.
    await Deno.mkdir(join(root, "train"));
    const last = join(root, "train", "last.safetensors");
    await Deno.writeFile(last, checkpointBytes().subarray(0, 20));
    assert.deepEqual((await verifyStore(root)).bad.map((b) => b.file), [
      store.checkpointPath(job.id),
      last,
    ]);
  });
});

Deno.test("deno task verify exits 1 naming the bad file, 0 when all is well", async () => {
  await withTempDir(async (root) => {
    const { store } = await fixture(root);
    const run = async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "reports/verify.ts", "--out", root],
        cwd: new URL("../..", import.meta.url),
      }).output();
      return { code: out.code, text: new TextDecoder().decode(out.stdout) };
    };
    const ok = await run();
    assert.equal(ok.code, 0);
    assert.match(ok.text, /verify: 9 files checked under .*, 0 bad\n$/);
    await Deno.writeTextFile(store.stateRecordPath(job.id), "{}");
    const bad = await run();
    assert.equal(bad.code, 1);
    assert.match(bad.text, /^BAD {2}.*states\/a{64}\.json: record has no digest\n/);
  });
});
