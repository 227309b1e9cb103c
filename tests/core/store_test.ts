import assert from "node:assert/strict";
import { join } from "node:path";
import { fileSha256, sha256Hex } from "../../core/hash.ts";
import { writeFileAtomic } from "../../core/atomic.ts";
import { isComplete, MANIFEST_FILE, writeOutputs } from "../../core/store.ts";
import { captureErrors, withTempDir } from "../_helpers.ts";
import { IntegrityError, setStrictIntegrity } from "../../core/integrity.ts";

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
    const said = await captureErrors(() => isComplete(dir, { configHash: "abc" }));
    assert.equal(said.value, false);
    assert.deepEqual(said.lines, [
      `${
        join(dir, "data.csv")
      }: sha256 differs from the manifest (edited or damaged) — recomputing`,
    ]);
    // Moved aside, not deleted: the edited bytes stay for inspection.
    assert.equal(await Deno.readTextFile(join(dir, "data.csv.corrupt")), "x\n2\n");
    const missing = await captureErrors(() => isComplete(dir, { configHash: "abc" }));
    assert.equal(missing.value, false);
    assert.deepEqual(missing.lines, [`${join(dir, "data.csv")}: missing — recomputing`]);
    await Deno.writeTextFile(join(dir, MANIFEST_FILE), "{not json"); // corrupt manifest
    assert.equal(await isComplete(dir, { configHash: "abc" }), false);
  });
});

Deno.test("under --strict an edited output is an error and stays in place", async () => {
  await withTempDir(async (dir) => {
    const outputs = await writeOutputs(dir, { "data.csv": "x\n1\n" });
    await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify({ configHash: "abc", outputs }));
    await Deno.writeTextFile(join(dir, "data.csv"), "x\n2\n");
    setStrictIntegrity(true);
    try {
      await assert.rejects(
        () => isComplete(dir, { configHash: "abc" }),
        (e: Error) => e instanceof IntegrityError && e.message.includes("data.csv: sha256 differs"),
      );
    } finally {
      setStrictIntegrity(false);
    }
    assert.equal(await Deno.readTextFile(join(dir, "data.csv")), "x\n2\n");
  });
});
