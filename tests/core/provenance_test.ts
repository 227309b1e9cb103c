import assert from "node:assert/strict";
import { join } from "node:path";
import {
  collectEnvironment,
  type Manifest,
  manifestJson,
  moduleGraphHash,
  sourceHash,
} from "../../core/provenance.ts";

Deno.test("the environment records commit, dirty flag, lock hash and versions", async () => {
  const env = await collectEnvironment();
  assert.match(env.denoLockSha256 ?? "", /^[0-9a-f]{64}$/);
  assert.equal(env.versions.deno, Deno.version.deno);
  assert.equal(env.versions.tfjs, "4.22.0");
  if (env.git.commit !== null) {
    assert.match(env.git.commit, /^[0-9a-f]{40}$/);
    assert.equal(typeof env.git.dirty, "boolean");
  }
});

Deno.test("outside a git checkout the commit is null rather than an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const env = await collectEnvironment(dir);
    assert.deepEqual(env.git, { commit: null, dirty: null });
    assert.equal(env.denoLockSha256, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the code hash changes with any source file and ignores other folders", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "core"));
    await Deno.mkdir(join(root, "results"));
    await Deno.writeTextFile(join(root, "core", "a.ts"), "export const a = 1;\n");
    await Deno.writeTextFile(join(root, "deno.lock"), "{}");
    const h1 = await sourceHash(root);
    await Deno.writeTextFile(join(root, "results", "x.csv"), "1\n");
    assert.equal(await sourceHash(root), h1);
    await Deno.writeTextFile(join(root, "core", "a.ts"), "export const a = 2;\n");
    const h2 = await sourceHash(root);
    assert.notEqual(h2, h1);
    await Deno.rename(join(root, "core", "a.ts"), join(root, "core", "b.ts"));
    assert.notEqual(await sourceHash(root), h2); // renames count
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("manifests serialize as indented JSON with a trailing newline", () => {
  const m = { figure: "x", outputs: { "a.csv": "00" } } as unknown as Manifest;
  const text = manifestJson(m);
  assert.ok(text.endsWith("}\n"));
  assert.deepEqual(JSON.parse(text), m);
});

Deno.test("moduleGraphHash follows imports: files outside the graph do not count", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(root, "entry.ts"),
      'import { a } from "./a.ts";\nconsole.log(a);\n',
    );
    await Deno.writeTextFile(join(root, "a.ts"), "export const a = 1;\n");
    await Deno.writeTextFile(join(root, "other.ts"), "export const b = 1;\n");
    const h1 = await moduleGraphHash("entry.ts", root);
    await Deno.writeTextFile(join(root, "other.ts"), "export const b = 2;\n");
    assert.equal(await moduleGraphHash("entry.ts", root), h1);
    await Deno.writeTextFile(join(root, "a.ts"), "export const a = 2;\n");
    const h2 = await moduleGraphHash("entry.ts", root);
    assert.notEqual(h2, h1);
    // A C source beside a module (loaded through FFI) counts; one in another folder does not.
    await Deno.writeTextFile(join(root, "shim.c"), "int f(void) { return 1; }\n");
    const h3 = await moduleGraphHash("entry.ts", root);
    assert.notEqual(h3, h2);
    await Deno.mkdir(join(root, "elsewhere"));
    await Deno.writeTextFile(join(root, "elsewhere", "x.c"), "int g(void) { return 1; }\n");
    assert.equal(await moduleGraphHash("entry.ts", root), h3);
    await assert.rejects(moduleGraphHash("missing.ts", root), /deno info missing.ts failed/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
