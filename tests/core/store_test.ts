import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256Hex } from "../../core/config.ts";
import {
  fileSha256,
  isComplete,
  MANIFEST_FILE,
  writeFileAtomic,
  writeOutputs,
} from "../../core/store.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("atomic writes leave no temporary files and replace whole contents", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "a.txt");
    await writeFileAtomic(path, "first version, longer");
    await writeFileAtomic(path, "second");
    assert.equal(await Deno.readTextFile(path), "second");
    await writeFileAtomic(join(dir, "b.bin"), new Uint8Array([1, 2, 3]));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["a.txt", "b.bin"]);
  });
});

Deno.test("a failed atomic write keeps the old file and cleans up", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "a.txt");
    await writeFileAtomic(path, "kept");
    // Renaming a file onto a non-empty directory fails after the temp file was written.
    const blocked = join(dir, "blocked");
    await Deno.mkdir(join(blocked, "inner"), { recursive: true });
    await assert.rejects(() => writeFileAtomic(blocked, "x"));
    assert.equal(await Deno.readTextFile(path), "kept");
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["a.txt", "blocked"]);
  });
});

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
