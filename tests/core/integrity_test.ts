import assert from "node:assert/strict";
import { join } from "node:path";
import {
  digestProblem,
  IntegrityError,
  moveAside,
  reportCorrupt,
  seal,
  setStrictIntegrity,
} from "../../core/integrity.ts";
import { captureErrors, withTempDir } from "../_helpers.ts";

Deno.test("a sealed record passes; any edited value, a lost digest or a non-object fails", () => {
  const record = seal({ id: "s", records: [{ testAcc: 0.744 }], seconds: 1.5 });
  assert.equal(digestProblem(record), null);
  // Key order and whitespace do not matter, values do.
  assert.equal(digestProblem(JSON.parse(JSON.stringify(record, null, 3))), null);
  const reordered = Object.fromEntries(Object.entries(record).reverse());
  assert.equal(digestProblem(reordered), null);
  const edited = { ...record, records: [{ testAcc: 0.844 }] };
  assert.equal(digestProblem(edited), "record digest mismatch");
  const { digest: _, ...bare } = record;
  assert.equal(digestProblem(bare), "record has no digest");
  assert.equal(digestProblem([1]), "not a JSON object");
  assert.equal(digestProblem(null), "not a JSON object");
});

Deno.test("reportCorrupt says one line and moves the files aside; --strict throws, moves nothing", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a.json");
    await Deno.writeTextFile(file, "bad");
    const { lines } = await captureErrors(() =>
      reportCorrupt("state abc", "record digest mismatch", [file, join(dir, "absent")])
    );
    assert.deepEqual(lines, ["state abc: record digest mismatch — recomputing"]);
    assert.equal(await Deno.readTextFile(`${file}.corrupt`), "bad");
    await assert.rejects(() => Deno.stat(file), Deno.errors.NotFound);
    assert.equal(await moveAside(file), false); // already gone: nothing to move

    await Deno.writeTextFile(file, "bad again");
    setStrictIntegrity(true);
    try {
      await assert.rejects(
        () => reportCorrupt("state abc", "record digest mismatch", [file]),
        (e: Error) =>
          e instanceof IntegrityError &&
          e.message === "state abc: record digest mismatch (--strict)",
      );
    } finally {
      setStrictIntegrity(false);
    }
    assert.equal(await Deno.readTextFile(file), "bad again");
  });
});
