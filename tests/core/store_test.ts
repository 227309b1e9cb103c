import assert from "node:assert/strict";
import { join } from "node:path";
import { fileSha256, sha256Hex } from "../../core/hash.ts";
import { writeFileAtomic } from "../../core/atomic.ts";
import { isComplete, MANIFEST_FILE, writeOutputs } from "../../core/store.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("writeOutputs returns the sha256 of each file as written", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "fig");
    const hashes = await writeOutputs(out, {
      "data.csv": "a,b\n1,2\n",
      "figure.png": new Uint8Array([9]),
    });
    assert.equal(hashes["data.csv"], sha256Hex("a,b\n1,2\n"));
    assert.equal(hashes["figure.png"], await fileSha256(join(out, "figure.png")));
  });
});

Deno.test("a result is complete only with a matching config hash and intact outputs", async () => {
  await withTempDir(async (dir) => {
    const outputs = await writeOutputs(dir, { "data.csv": "x\n1\n" });
    assert.equal(await isComplete(dir, { configHash: "abc" }), false); // no manifest yet
    await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify({ configHash: "abc", outputs }));
    assert.equal(await isComplete(dir, { configHash: "abc" }), true);
    assert.equal(await isComplete(dir, { configHash: "other" }), false);
    assert.equal(await isComplete(dir, { configHash: "abc", codeHash: "x" }), false);
    await Deno.writeTextFile(join(dir, "data.csv"), "x\n2\n"); // tampered
    assert.equal(await isComplete(dir, { configHash: "abc" }), false);
    await Deno.remove(join(dir, "data.csv")); // missing
    assert.equal(await isComplete(dir, { configHash: "abc" }), false);
    await Deno.writeTextFile(join(dir, MANIFEST_FILE), "{not json"); // corrupt manifest
    assert.equal(await isComplete(dir, { configHash: "abc" }), false);
  });
});
