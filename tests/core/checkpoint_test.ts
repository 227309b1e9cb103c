import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import {
  CHECKPOINT_FORMAT,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  verifyCheckpoint,
} from "../../core/checkpoint.ts";
import { disposeRun, initRun, loadRun, saveRun } from "../../core/train.ts";
import { treeDispose, treeToArrays } from "../../core/tree.ts";
import { tinyModel } from "./train_helpers.ts";

await useBackend("cpu");

function sample() {
  return {
    params: {
      "a/kernel": tf.tensor2d([[1, 2, 3], [4, 5, 6]]),
      "b/bias": tf.tensor1d([0.5, -0.25]),
    },
    state: { "a/bn/mean": tf.tensor1d([7, 8]) },
    momentum: { "a/kernel": tf.zeros([2, 3]), "b/bias": tf.ones([2]) },
    metadata: { model: "x", epoch: "3" },
  };
}

Deno.test("checkpoints follow the safetensors layout: u64 header length, JSON header, data", () => {
  const ckpt = sample();
  const bytes = encodeCheckpoint(ckpt);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, "data starts 8-byte aligned");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.equal(header.__metadata__.format, CHECKPOINT_FORMAT);
  assert.equal(header.__metadata__.epoch, "3");
  assert.deepEqual(header["params/a/kernel"], {
    dtype: "F32",
    shape: [2, 3],
    data_offsets: [0, 24],
  });
  assert.deepEqual(header["state/a/bn/mean"].shape, [2]);
  assert.ok("optim/momentum/b/bias" in header);
  const data = bytes.subarray(8 + n);
  const [b, e] = header["params/b/bias"].data_offsets;
  assert.deepEqual(Array.from(new Float32Array(data.slice(b, e).buffer)), [0.5, -0.25]);
  treeDispose(ckpt.params, ckpt.state, ckpt.momentum);
});

Deno.test("a checkpoint round-trips bit for bit", () => {
  const ckpt = sample();
  const back = decodeCheckpoint(encodeCheckpoint(ckpt));
  assert.deepEqual(treeToArrays(back.params), treeToArrays(ckpt.params));
  assert.deepEqual(treeToArrays(back.state), treeToArrays(ckpt.state));
  assert.deepEqual(treeToArrays(back.momentum!), treeToArrays(ckpt.momentum));
  assert.equal(back.metadata.model, "x");
  assert.deepEqual(encodeCheckpoint(back), encodeCheckpoint(ckpt));
  treeDispose(ckpt.params, ckpt.state, ckpt.momentum, back.params, back.state, back.momentum!);
});

Deno.test("damaged files are CheckpointErrors, not crashes", () => {
  const ckpt = sample();
  const bytes = encodeCheckpoint(ckpt);
  treeDispose(ckpt.params, ckpt.state, ckpt.momentum);
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, 5)), CheckpointError);
  assert.throws(
    () => decodeCheckpoint(bytes.subarray(0, bytes.length - 4)),
    /outside the data|truncated/,
  );
  const garbled = bytes.slice();
  garbled[9] = 0x7b; // break the JSON
  garbled[10] = 0x7b;
  assert.throws(() => decodeCheckpoint(garbled), /not valid JSON/);
  const foreign = new Uint8Array(16);
  new DataView(foreign.buffer).setBigUint64(0, 2n, true);
  foreign.set(new TextEncoder().encode("{}"), 8);
  assert.throws(() => decodeCheckpoint(foreign), /not a late-sam checkpoint/);
});

Deno.test("loading a checkpoint of another model, or a missing file, is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "run.safetensors");
    const run = initRun(tinyModel(3), 0);
    await saveRun(path, run, { model: "tiny", seed: 0, configHash: "h" });
    const loaded = await loadRun(path, tinyModel(3));
    assert.deepEqual(treeToArrays(loaded.run.params), treeToArrays(run.params));
    assert.equal(loaded.metadata.config_hash, "h");
    disposeRun(loaded.run);
    // Same name, other shapes (4 classes instead of 3).
    await assert.rejects(() => loadRun(path, tinyModel(4)), /"dense\/bias" has shape \[3\]/);
    await assert.rejects(
      () => loadRun(join(dir, "missing.safetensors"), tinyModel(3)),
      /cannot read checkpoint/,
    );
    disposeRun(run);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The checkpoint's bytes with one bit flipped at `offset` from the end. */
function flipBit(bytes: Uint8Array, fromEnd: number, bit: number): Uint8Array {
  const out = bytes.slice();
  out[out.length - fromEnd] ^= 1 << bit;
  return out;
}

Deno.test("a flipped exponent bit or a truncated file fails the digest; intact files pass", () => {
  const ckpt = sample();
  const bytes = encodeCheckpoint(ckpt);
  treeDispose(ckpt.params, ckpt.state, ckpt.momentum);
  assert.match(verifyCheckpoint(bytes).metadata.digest, /^[0-9a-f]{64}$/);
  // The last float's most significant byte holds the sign and 7 exponent bits (little-endian).
  assert.throws(
    () => decodeCheckpoint(flipBit(bytes, 1, 6), "ckpt"),
    (e: Error) => e instanceof CheckpointError && /^ckpt: digest mismatch/.test(e.message),
  );
  assert.throws(
    () => verifyCheckpoint(bytes.subarray(0, bytes.length - 4), "ckpt"),
    /^CheckpointError: ckpt: truncated \(the header promises \d+ data bytes, the file has \d+\)$/,
  );
  // A changed metadata value (the epoch to resume from) is caught too.
  const at = new TextDecoder("latin1").decode(bytes).indexOf('"epoch":"3"') + '"epoch":"'.length;
  assert.ok(at > '"epoch":"'.length);
  const edited = bytes.slice();
  edited[at] = "4".charCodeAt(0);
  assert.throws(() => verifyCheckpoint(edited, "ckpt"), /ckpt: digest mismatch/);
});
