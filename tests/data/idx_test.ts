import assert from "node:assert/strict";
import {
  checkImagesLabels,
  DataError,
  parseIdxImages,
  parseIdxLabels,
  readIdxImages,
  readIdxLabels,
} from "../../data/idx.ts";
import { idxBytes, mnistImages, pixel } from "./_helpers.ts";

function assertDataError(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${e}`);
    assert.ok(e.message.includes(file), `message names ${file}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("IDX images and labels round-trip, gzip and raw", async () => {
  const images = mnistImages(5);
  const labels = Uint8Array.from([3, 1, 4, 1, 5]);
  for (const gzip of [true, false]) {
    const im = parseIdxImages(idxBytes([5, 28, 28], images, gzip), "im");
    assert.equal(im.count, 5);
    assert.equal(im.rows, 28);
    assert.equal(im.cols, 28);
    assert.deepEqual(im.images, images);
    assert.equal(im.images[2 * 784 + 100], pixel(2, 100));
    const lb = parseIdxLabels(idxBytes([5], labels, gzip), "lb");
    assert.deepEqual(lb.labels, labels);
    assert.equal(lb.count, 5);
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/i.gz`, idxBytes([2, 3, 4], new Uint8Array(24).fill(9)));
    await Deno.writeFile(`${dir}/l`, idxBytes([2], Uint8Array.from([7, 8]), false));
    const im = await readIdxImages(`${dir}/i.gz`);
    assert.deepEqual([im.count, im.rows, im.cols], [2, 3, 4]);
    assert.deepEqual(Array.from((await readIdxLabels(`${dir}/l`)).labels), [7, 8]);
    await assert.rejects(() => readIdxImages(`${dir}/absent.gz`), DataError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a labels file parsed as images is a wrong-magic error naming the file", () => {
  const labels = idxBytes([3], Uint8Array.from([0, 1, 2]));
  assertDataError(
    () => parseIdxImages(labels, "train-labels-idx1-ubyte.gz"),
    "train-labels-idx1-ubyte.gz",
    /wrong magic number 0x00000801, expected 0x00000803/,
  );
  const garbage = new TextEncoder().encode("<html>not found</html>");
  assertDataError(() => parseIdxLabels(garbage, "l.gz"), "l.gz", /wrong magic/);
});

Deno.test("truncated IDX data, header, or gzip stream are errors naming the file", () => {
  const full = idxBytes([4, 28, 28], mnistImages(4), false);
  assertDataError(
    () => parseIdxImages(full.subarray(0, full.length - 1), "a-idx3"),
    "a-idx3",
    /truncated: header says \[4, 28, 28\] = 3136 bytes of data, file has 3135/,
  );
  assertDataError(() => parseIdxImages(full.subarray(0, 10), "b-idx3"), "b-idx3", /truncated/);
  assertDataError(() => parseIdxImages(full.subarray(0, 2), "c-idx3"), "c-idx3", /truncated/);
  const gz = idxBytes([4, 28, 28], mnistImages(4));
  assertDataError(
    () => parseIdxImages(gz.subarray(0, gz.length - 20), "d.gz"),
    "d.gz",
    /corrupt or truncated gzip/,
  );
  const extra = new Uint8Array(full.length + 3);
  extra.set(full);
  assertDataError(() => parseIdxImages(extra, "e-idx3"), "e-idx3", /3 unexpected bytes/);
});

Deno.test("images/labels count mismatch and out-of-range labels name the files", () => {
  const images = parseIdxImages(idxBytes([3, 28, 28], mnistImages(3)), "img.gz");
  const labels = parseIdxLabels(idxBytes([2], Uint8Array.from([0, 1])), "lab.gz");
  assert.throws(
    () => checkImagesLabels(images, labels, "img.gz", "lab.gz"),
    (e: unknown) =>
      e instanceof DataError && /img\.gz has 3 images but lab\.gz has 2 labels/.test(e.message),
  );
  const bad = parseIdxLabels(idxBytes([3], Uint8Array.from([0, 10, 1])), "lab.gz");
  assert.throws(
    () => checkImagesLabels(images, bad, "img.gz", "lab.gz", 10),
    (e: unknown) => e instanceof DataError && /lab\.gz: label 10 at index 1/.test(e.message),
  );
  checkImagesLabels(
    images,
    parseIdxLabels(idxBytes([3], Uint8Array.from([9, 0, 1])), "l"),
    "i",
    "l",
    10,
  );
});
