import assert from "node:assert/strict";
import { join } from "node:path";
import { DataError } from "../../data/idx.ts";
import {
  DATA_ENV,
  type DatasetSource,
  defaultCacheRoot,
  type Download,
  downloadFile,
  resolveDataset,
  SOURCES,
} from "../../data/sources.ts";
import { sha256, tarGz } from "./_helpers.ts";

const enc = new TextEncoder();
const A = enc.encode("ok: file a\n");
const B = enc.encode("ok: file b, a little longer\n");

/** A two-file dataset; hashes known when `known`, and a check that files start with "ok". */
function source(known: boolean, downloads: Download[] = [], debian = false): DatasetSource {
  const spec = (name: string, data: Uint8Array) => ({
    name,
    bytes: known ? data.length : null,
    sha256: known ? sha256(data) : null,
    check: (bytes: Uint8Array, file: string) => {
      if (new TextDecoder().decode(bytes.subarray(0, 2)) !== "ok") {
        throw new DataError(`${file}: not ok`, file);
      }
    },
  });
  return {
    name: "toy",
    title: "Toy",
    files: [spec("a.bin", A), spec("b.bin", B)],
    subdirs: ["toy-bin"],
    debian: debian ? { package: "dataset-toy", dir: "/nonexistent/toy" } : undefined,
    downloads,
    homepage: "https://example.invalid/toy",
  };
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "late-sam-sources-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function writeFiles(dir: string, tag: string, a = A, b = B): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(join(dir, "a.bin"), enc.encode(new TextDecoder().decode(a) + tag));
  await Deno.writeFile(join(dir, "b.bin"), b);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

async function withServer(
  routes: Record<string, Uint8Array>,
  fn: (base: string, hits: string[]) => Promise<void>,
): Promise<void> {
  const hits: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    hits.push(path);
    const body = routes[path];
    return body ? new Response(body.slice()) : new Response("not found", { status: 404 });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, hits);
  } finally {
    await server.shutdown();
  }
}

Deno.test("resolution order: dataDir > LATE_SAM_DATA > Debian path > cache", async () => {
  await withTemp(async (tmp) => {
    const dirs = {
      dataDir: join(tmp, "explicit"),
      env: join(tmp, "envroot", "toy"), // a root with a <name>/ subfolder
      debian: join(tmp, "debian"),
      cache: join(tmp, "cache", "toy"),
    };
    for (const [tag, dir] of Object.entries(dirs)) await writeFiles(dir, tag);
    const src = source(false);
    const base = {
      env: { [DATA_ENV]: join(tmp, "envroot") },
      debianDir: dirs.debian,
      cacheDir: join(tmp, "cache"),
      fetch: false,
    };
    const origins: string[] = [];
    const tagOf = (r: Awaited<ReturnType<typeof resolveDataset>>) =>
      new TextDecoder().decode(r.files["a.bin"].data).split("\n")[1];

    let r = await resolveDataset(src, { ...base, dataDir: dirs.dataDir });
    origins.push(`${r.origin}:${tagOf(r)}`);
    r = await resolveDataset(src, base);
    origins.push(`${r.origin}:${tagOf(r)}`);
    assert.equal(r.dir, dirs.env);
    r = await resolveDataset(src, { ...base, env: {} });
    origins.push(`${r.origin}:${tagOf(r)}`);
    r = await resolveDataset(src, { ...base, env: {}, debianDir: null });
    origins.push(`${r.origin}:${tagOf(r)}`);
    assert.deepEqual(origins, ["data-dir:dataDir", "env:env", "debian:debian", "cache:cache"]);
    assert.equal(r.files["a.bin"].verified, "parse");
    assert.equal(r.files["b.bin"].sha256, sha256(B));

    // The cache root also comes from XDG_CACHE_HOME when not given.
    await writeFiles(join(tmp, "xdg", "late-sam", "datasets", "toy"), "xdg");
    r = await resolveDataset(src, { env: { XDG_CACHE_HOME: join(tmp, "xdg") }, debianDir: null });
    assert.equal(`${r.origin}:${tagOf(r)}`, "cache:xdg");

    // LATE_SAM_DATA without this dataset falls through; an explicit dataDir does not.
    r = await resolveDataset(src, { ...base, env: { [DATA_ENV]: join(tmp, "nothing") } });
    assert.equal(r.origin, "debian");
    await assert.rejects(
      () => resolveDataset(src, { ...base, dataDir: join(tmp, "nothing") }),
      (e: unknown) =>
        e instanceof DataError && /--data-dir .*nothing does not hold/.test(e.message),
    );
    // The archive's own folder name is found below a data root.
    await writeFiles(join(tmp, "root2", "toy-bin"), "sub");
    r = await resolveDataset(src, { ...base, dataDir: join(tmp, "root2") });
    assert.equal(tagOf(r), "sub");
  });
});

Deno.test("defaultCacheRoot: XDG_CACHE_HOME, else ~/.cache, else none", () => {
  assert.equal(defaultCacheRoot({ XDG_CACHE_HOME: "/x", HOME: "/h" }), "/x/late-sam/datasets");
  assert.equal(defaultCacheRoot({ HOME: "/h" }), "/h/.cache/late-sam/datasets");
  assert.equal(
    defaultCacheRoot({ XDG_CACHE_HOME: "relative", HOME: "/h" }),
    "/h/.cache/late-sam/datasets",
  );
  assert.equal(defaultCacheRoot({}), null);
});

Deno.test("checksum mismatch and truncation are 'corrupt or truncated' errors naming the file", async () => {
  await withTemp(async (tmp) => {
    const src = source(true);
    const dir = join(tmp, "d");
    await Deno.mkdir(dir);
    await Deno.writeFile(join(dir, "a.bin"), A);
    // Same size, different content: caught by sha256.
    const flipped = B.slice();
    flipped[5] ^= 1;
    await Deno.writeFile(join(dir, "b.bin"), flipped);
    await assert.rejects(
      () => resolveDataset(src, { dataDir: dir, env: {}, fetch: false }),
      (e: unknown) => {
        assert.ok(e instanceof DataError);
        assert.ok(e.message.startsWith(join(dir, "b.bin")), e.message);
        assert.ok(
          e.message.includes(
            `corrupt or truncated: expected sha256 ${sha256(B)} (${B.length} bytes), got ` +
              `${sha256(flipped)} (${B.length} bytes); delete it and re-fetch`,
          ),
          e.message,
        );
        return true;
      },
    );
    // Truncated: the size differs.
    await Deno.writeFile(join(dir, "b.bin"), B.subarray(0, 7));
    await assert.rejects(
      () => resolveDataset(src, { dataDir: dir, env: {}, fetch: false }),
      (e: unknown) =>
        e instanceof DataError && e.file === join(dir, "b.bin") &&
        /corrupt or truncated: .* got \S+ \(7 bytes\)/.test(e.message),
    );
    // A copy with a file missing is reported, not skipped.
    await Deno.remove(join(dir, "b.bin"));
    await assert.rejects(
      () => resolveDataset(src, { dataDir: dir, env: {}, fetch: false }),
      (e: unknown) =>
        e instanceof DataError && /only some of the files; missing: b\.bin/.test(e.message),
    );
  });
});

Deno.test("when every route fails the error lists every way to get the data", async () => {
  await withTemp(async (tmp) => {
    const src = source(true, [{
      url: "http://127.0.0.1:9/a.bin",
      bytes: null,
      sha256: null,
      file: "a.bin",
    }], true);
    await assert.rejects(
      () => resolveDataset(src, { env: {}, cacheDir: join(tmp, "cache"), fetch: false }),
      (e: unknown) => {
        assert.ok(e instanceof DataError);
        for (
          const part of [
            "Toy (toy) not found",
            `$${DATA_ENV}: not set`,
            "/nonexistent/toy: absent",
            "fetching: disabled",
            "sudo apt-get install dataset-toy",
            "download a.bin, b.bin from http://127.0.0.1:9/",
            "--data-dir DIR",
            `set ${DATA_ENV}=DIR`,
          ]
        ) assert.ok(e.message.includes(part), `missing "${part}" in:\n${e.message}`);
        return true;
      },
    );
    // Fashion-MNIST's message names its Debian package and upstream URL.
    await assert.rejects(
      () =>
        resolveDataset(SOURCES["fashion-mnist"], {
          env: {},
          debianDir: null,
          cacheDir: join(tmp, "cache"),
          fetch: false,
        }),
      (e: unknown) =>
        e instanceof DataError && e.message.includes("apt-get install dataset-fashion-mnist") &&
        e.message.includes("fashion-mnist.s3-website"),
    );
  });
});

Deno.test("HTTP fetch into the cache: verified, atomic, then served from the cache", async () => {
  await withServer({ "/a.bin": A, "/b.bin": B }, async (base, hits) => {
    await withTemp(async (tmp) => {
      const downloads = ["a.bin", "b.bin"].map((f) => ({
        url: `${base}/${f}`,
        bytes: null,
        sha256: null,
        file: f,
      }));
      const src = source(true, downloads);
      const cache = join(tmp, "cache");
      const lines: string[] = [];
      const r = await resolveDataset(src, { env: {}, cacheDir: cache, log: (l) => lines.push(l) });
      assert.equal(r.origin, "fetched-url");
      assert.equal(r.dir, join(cache, "toy"));
      assert.deepEqual(await listDir(r.dir), ["a.bin", "b.bin"]); // no temporary files left
      assert.deepEqual(await Deno.readFile(join(r.dir, "a.bin")), A);
      assert.equal(r.files["b.bin"].sha256, sha256(B));
      assert.equal(r.files["b.bin"].verified, "sha256");
      assert.deepEqual(hits, ["/a.bin", "/b.bin"]);
      assert.equal(lines.length, 2);
      const again = await resolveDataset(src, { env: {}, cacheDir: cache });
      assert.equal(again.origin, "cache");
      assert.equal(hits.length, 2);
    });
  });
});

Deno.test("a download with the wrong sha256 leaves nothing in the cache", async () => {
  const evil = enc.encode("ok: file b, a little LONGER\n"); // same size as B, other bytes
  await withServer({ "/a.bin": A, "/b.bin": evil, "/short": B.subarray(0, 5) }, async (base) => {
    await withTemp(async (tmp) => {
      const src = source(true, [
        { url: `${base}/b.bin`, bytes: null, sha256: null, file: "b.bin" },
        { url: `${base}/a.bin`, bytes: null, sha256: null, file: "a.bin" },
      ]);
      const cache = join(tmp, "cache");
      await assert.rejects(
        () => resolveDataset(src, { env: {}, cacheDir: cache }),
        (e: unknown) =>
          e instanceof DataError && e.message.includes(`expected sha256 ${sha256(B)}`) &&
          e.message.includes(`got ${sha256(evil)}`) && e.message.includes(`${base}/b.bin`),
      );
      assert.deepEqual(await listDir(join(cache, "toy")), ["a.bin"]); // only the good file

      // downloadFile itself: a hash or size mismatch writes nothing at the destination.
      const dest = join(tmp, "one", "b.bin");
      await Deno.mkdir(join(tmp, "one"));
      await assert.rejects(
        () => downloadFile(`${base}/short`, dest, { bytes: B.length, sha256: sha256(B) }),
        /download corrupt or truncated/,
      );
      await assert.rejects(() => downloadFile(`${base}/missing`, dest), /HTTP 404/);
      assert.deepEqual(await listDir(join(tmp, "one")), []);
      const ok = await downloadFile(`${base}/b.bin`, dest, { bytes: null, sha256: sha256(evil) });
      assert.equal(ok.sha256, sha256(evil));
      assert.deepEqual(await listDir(join(tmp, "one")), ["b.bin"]);
    });
  });
});

Deno.test("unknown-hash downloads are checked by parsing; mirrors are tried in order", async () => {
  await withServer(
    { "/m2/a.bin": A, "/m2/b.bin": B, "/bad/a.bin": enc.encode("garbage") },
    async (base, hits) => {
      await withTemp(async (tmp) => {
        const cache = join(tmp, "cache");
        const mirrors = ["m1", "bad", "m2"].flatMap((m) =>
          ["a.bin", "b.bin"].map((f) => ({
            url: `${base}/${m}/${f}`,
            bytes: null,
            sha256: null,
            file: f,
          }))
        );
        const r = await resolveDataset(source(false, mirrors), { env: {}, cacheDir: cache });
        assert.equal(r.origin, "fetched-url");
        assert.deepEqual(r.files["a.bin"].data, A);
        assert.equal(r.files["a.bin"].verified, "parse");
        assert.deepEqual(hits, [
          "/m1/a.bin",
          "/m1/b.bin",
          "/bad/a.bin",
          "/bad/b.bin",
          "/m2/a.bin",
          "/m2/b.bin",
        ]);
        assert.deepEqual(await listDir(join(cache, "toy")), ["a.bin", "b.bin"]);
      });
    },
  );
});

Deno.test("a .tar.gz download is extracted member by member into the cache", async () => {
  const archive = tarGz({
    "toy-bin/a.bin": A,
    "toy-bin/b.bin": B,
    "toy-bin/readme": enc.encode("x"),
  });
  await withServer({ "/toy.tar.gz": archive }, async (base) => {
    await withTemp(async (tmp) => {
      const download = {
        url: `${base}/toy.tar.gz`,
        bytes: archive.length,
        sha256: sha256(archive),
        members: { "toy-bin/a.bin": "a.bin", "toy-bin/b.bin": "b.bin" },
      };
      const cache = join(tmp, "cache");
      const r = await resolveDataset(source(true, [download]), { env: {}, cacheDir: cache });
      assert.equal(r.origin, "fetched-url");
      assert.deepEqual(await listDir(join(cache, "toy")), ["a.bin", "b.bin"]);
      assert.deepEqual(r.files["b.bin"].data, B);

      // An archive lacking a member writes nothing.
      const cache2 = join(tmp, "cache2");
      const missing = {
        ...download,
        sha256: null,
        bytes: null,
        members: { ...download.members, "toy-bin/c": "a.bin" },
      };
      delete (missing.members as Record<string, string>)["toy-bin/a.bin"];
      await assert.rejects(
        () => resolveDataset(source(true, [missing]), { env: {}, cacheDir: cache2 }),
        /archive has no member toy-bin\/c/,
      );
      assert.deepEqual(await listDir(join(cache2, "toy")), []);
    });
  });
});

Deno.test("the Fashion-MNIST table holds the documented sizes and sha256 sums (docs/data.md)", () => {
  const table = Object.fromEntries(
    SOURCES["fashion-mnist"].files.map((f) => [f.name, [f.bytes, f.sha256]]),
  );
  assert.deepEqual(table, {
    "train-images-idx3-ubyte.gz": [
      26421856,
      "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    ],
    "train-labels-idx1-ubyte.gz": [
      29491,
      "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    ],
    "t10k-images-idx3-ubyte.gz": [
      4422079,
      "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    ],
    "t10k-labels-idx1-ubyte.gz": [
      5125,
      "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    ],
  });
  for (const name of ["mnist", "cifar10", "cifar100"]) {
    assert.ok(SOURCES[name].files.every((f) => f.sha256 === null), `${name}: no unverified hash`);
  }
});
