import assert from "node:assert/strict";
import { join } from "node:path";
import {
  commitTemp,
  FileWriteError,
  syncDir,
  tempPathFor,
  writeFileAtomic,
} from "../../core/atomic.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("writeFileAtomic replaces whole contents, strings and bytes, leaving no temporary", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "a.txt");
    await writeFileAtomic(path, "first version, longer");
    await writeFileAtomic(path, "second");
    assert.equal(await Deno.readTextFile(path), "second");
    const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
    await writeFileAtomic(join(dir, "b.bin"), big);
    assert.deepEqual(await Deno.readFile(join(dir, "b.bin")), big);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.txt", "b.bin"]);
  });
});

Deno.test("a failed atomic write keeps the old file and removes its temporary", async () => {
  await withTempDir(async (dir) => {
    await writeFileAtomic(join(dir, "a.txt"), "kept");
    await Deno.mkdir(join(dir, "blocked", "inner"), { recursive: true });
    await assert.rejects(() => writeFileAtomic(join(dir, "blocked"), "x"));
    await assert.rejects(() => writeFileAtomic(join(dir, "missing", "f"), "x"));
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "kept");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.txt", "blocked"]);
  });
});

Deno.test("temporaries are hidden siblings; commitTemp renames one into place", async () => {
  await withTempDir(async (dir) => {
    const tmp = tempPathFor(join(dir, "x.bin"));
    assert.ok(tmp.startsWith(join(dir, ".x.bin.tmp-")));
    assert.notEqual(tmp, tempPathFor(join(dir, "x.bin")));
    await Deno.writeTextFile(tmp, "done");
    await commitTemp(tmp, join(dir, "x.bin"));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["x.bin"]);
    await syncDir(join(dir, "no-such-folder")); // never throws
  });
});

Deno.test("a failed write names the file it could not write", async () => {
  await withTempDir(async (dir) => {
    const target = join(dir, "missing", "data.csv");
    await assert.rejects(
      () => writeFileAtomic(target, "x"),
      (e: Error) =>
        e instanceof FileWriteError && e.name === "FileWriteError" &&
        e.message.startsWith(`cannot write ${target}: `) && e.cause instanceof Deno.errors.NotFound,
    );
  });
});
