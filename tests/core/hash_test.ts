import assert from "node:assert/strict";
import { join } from "node:path";
import { fileSha256, sha256Digest, sha256Hex, sha256Stream } from "../../core/hash.ts";

const ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

Deno.test("sha256 of strings, bytes, streams and files agree with the standard vectors", async () => {
  assert.equal(sha256Hex("abc"), ABC);
  assert.equal(sha256Hex(new TextEncoder().encode("abc")), ABC);
  assert.equal(
    sha256Hex(""),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(sha256Stream().update("a").update(new Uint8Array([98, 99])).hex(), ABC);
  const digest = sha256Digest("abc");
  assert.equal(digest.length, 32);
  assert.equal([...digest].map((b) => b.toString(16).padStart(2, "0")).join(""), ABC);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "f"), "abc");
    assert.equal(await fileSha256(join(dir, "f")), ABC);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
