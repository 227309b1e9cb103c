import assert from "node:assert/strict";
import { concatCifar, parseCifar10, parseCifar100 } from "../../data/cifar.ts";
import { DataError } from "../../data/idx.ts";
import { cifarPixel, cifarRecords } from "./_helpers.ts";

function assertHwc(images: Uint8Array, count: number, firstIndex = 0): void {
  assert.equal(images.length, count * 3072);
  for (let i = 0; i < count; i++) {
    for (const [h, w] of [[0, 0], [0, 31], [5, 17], [31, 0], [31, 31]]) {
      for (let c = 0; c < 3; c++) {
        assert.equal(images[i * 3072 + (h * 32 + w) * 3 + c], cifarPixel(firstIndex + i, c, h, w));
      }
    }
  }
}

Deno.test("CIFAR-10 records parse to NHWC images and labels", () => {
  const parsed = parseCifar10(cifarRecords([[3], [9], [0]]), "data_batch_1.bin");
  assert.equal(parsed.count, 3);
  assert.deepEqual(Array.from(parsed.labels), [3, 9, 0]);
  assertHwc(parsed.images, 3);
  // Exhaustive check of one image against the CHW definition.
  for (let h = 0; h < 32; h++) {
    for (let w = 0; w < 32; w++) {
      for (let c = 0; c < 3; c++) {
        assert.equal(parsed.images[3072 + (h * 32 + w) * 3 + c], cifarPixel(1, c, h, w));
      }
    }
  }
});

Deno.test("CIFAR-100 records parse fine and coarse labels", () => {
  const parsed = parseCifar100(cifarRecords([[4, 99], [19, 0]]), "train.bin");
  assert.equal(parsed.count, 2);
  assert.deepEqual(Array.from(parsed.labels), [99, 0]);
  assert.deepEqual(Array.from(parsed.coarseLabels), [4, 19]);
  assertHwc(parsed.images, 2);
});

Deno.test("CIFAR record size and label range are validated, naming the file", () => {
  const good = cifarRecords([[1], [2]]);
  for (const bad of [good.subarray(0, good.length - 1), new Uint8Array(0)]) {
    assert.throws(
      () => parseCifar10(bad, "data_batch_3.bin"),
      (e: unknown) =>
        e instanceof DataError && e.message.startsWith("data_batch_3.bin:") &&
        /3073-byte records/.test(e.message),
    );
  }
  // A CIFAR-100 file read as CIFAR-10 has the wrong record size.
  assert.throws(() => parseCifar10(cifarRecords([[1, 2]]), "x.bin"), DataError);
  assert.throws(
    () => parseCifar10(cifarRecords([[1], [10]]), "test_batch.bin"),
    (e: unknown) => e instanceof DataError && /label 10 in record 1/.test(e.message),
  );
  assert.throws(
    () => parseCifar100(cifarRecords([[20, 1]]), "test.bin"),
    (e: unknown) => e instanceof DataError && /coarse label 20/.test(e.message),
  );
  assert.throws(
    () => parseCifar100(cifarRecords([[2, 100]]), "test.bin"),
    (e: unknown) => e instanceof DataError && /fine label 100/.test(e.message),
  );
});

Deno.test("concatCifar keeps batch order", () => {
  const a = parseCifar10(cifarRecords([[1], [2]], 0), "a");
  const b = parseCifar10(cifarRecords([[3]], 2), "b");
  const all = concatCifar([a, b]);
  assert.equal(all.count, 3);
  assert.deepEqual(Array.from(all.labels), [1, 2, 3]);
  assertHwc(all.images, 3);
});
