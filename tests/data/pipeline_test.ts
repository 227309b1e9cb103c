import assert from "node:assert/strict";
import { createRng, deriveKey, rngKey } from "../../core/random.ts";
import type { Dataset } from "../../data/datasets.ts";
import {
  type AugmentDraw,
  augmentImage,
  type AugmentOptions,
  batchCount,
  CIFAR_AUGMENT,
  drawAugment,
  evalBatches,
  NO_AUGMENT,
  pixelTable,
  trainBatches,
  WRN_AUGMENT,
} from "../../data/pipeline.ts";
import { positionDataset } from "./_helpers.ts";

const SIZE = 3072;

/** All images of an epoch, concatenated, with their labels. */
function epoch(
  data: Dataset,
  augment: AugmentOptions,
  key = rngKey(0, "run", 0, "epoch", 0),
  batchSize = 128,
  normalize = true,
) {
  const batches = [...trainBatches(data, { key, batchSize, augment, normalize })];
  const count = batches.reduce((n, b) => n + b.size, 0);
  const x = new Float32Array(count * SIZE);
  const y = new Int32Array(count);
  let n = 0;
  for (const b of batches) {
    x.set(b.x, n * SIZE);
    y.set(b.y, n);
    n += b.size;
  }
  return { batches, x, y, count };
}

/** Raw pixel value (0…255) of a normalized float, per channel. */
function raw(data: Dataset, value: number, c: number): number {
  return Math.round((value * data.std[c] + data.mean[c]) * 255);
}

/** Image k's crop/flip as seen in its pixels (channel 0 = row + 1, channel 1 = column + 1). */
function inferGeometry(data: Dataset, x: Float32Array, k: number) {
  for (let h = 0; h < 32; h++) {
    for (let w = 0; w < 32; w++) {
      const o = k * SIZE + (h * 32 + w) * 3;
      if (x[o] === 0 && x[o + 1] === 0 && x[o + 2] === 0) continue; // cutout
      const r = raw(data, x[o], 0);
      if (r === 0) continue; // padding
      const c1 = raw(data, x[o + 1], 1);
      // Need a neighbour to tell the column direction.
      const o2 = o + 3;
      if (w === 31 || raw(data, x[o2], 0) === 0 || x[o2] === 0) continue;
      const flip = raw(data, x[o2 + 1], 1) < c1;
      const sw = c1 - 1;
      return { dy: r - 1 - h, dx: flip ? sw - (31 - w) : sw - w, flip };
    }
  }
  throw new Error(`image ${k}: no usable pixel`);
}

Deno.test("random crop: offsets in [-4, 4], all used; padding is raw 0 after normalization", () => {
  const data = positionDataset(600);
  const { x, count } = epoch(data, { crop: 4, flip: false, cutout: 0, cutoutProb: 0 });
  const table = pixelTable(data);
  const pad = [0, 1, 2].map((c) => Math.fround((0 / 255 - data.mean[c]) / data.std[c]));
  assert.deepEqual([table[0], table[256], table[512]], pad);
  const seen = new Set<string>();
  for (let k = 0; k < count; k++) {
    const { dy, dx, flip } = inferGeometry(data, x, k);
    assert.equal(flip, false);
    assert.ok(Math.abs(dy) <= 4 && Math.abs(dx) <= 4, `offsets ${dy}, ${dx}`);
    seen.add(`${dy},${dx}`);
    for (let h = 0; h < 32; h++) {
      for (let w = 0; w < 32; w++) {
        const o = k * SIZE + (h * 32 + w) * 3;
        const sh = h + dy;
        const sw = w + dx;
        if (sh < 0 || sh > 31 || sw < 0 || sw > 31) {
          assert.deepEqual([x[o], x[o + 1], x[o + 2]], pad);
        } else {
          assert.equal(raw(data, x[o], 0), sh + 1);
          assert.equal(raw(data, x[o + 1], 1), sw + 1);
        }
      }
    }
  }
  assert.equal(seen.size, 81);
});

Deno.test("horizontal flip mirrors columns with p = 0.5", () => {
  const data = positionDataset(2000);
  const { x, count } = epoch(data, { crop: 0, flip: true, cutout: 0, cutoutProb: 0 });
  let flipped = 0;
  for (let k = 0; k < count; k++) {
    const f = raw(data, x[k * SIZE + 1], 1) === 32;
    if (f) flipped++;
    for (let h = 0; h < 32; h += 5) {
      for (let w = 0; w < 32; w++) {
        const o = k * SIZE + (h * 32 + w) * 3;
        assert.equal(raw(data, x[o], 0), h + 1);
        assert.equal(raw(data, x[o + 1], 1), f ? 32 - w : w + 1);
      }
    }
  }
  assert.ok(flipped > 900 && flipped < 1100, `${flipped} of 2000 flipped`);
});

/** The zeroed box of image k (all channels exactly 0), or null; checks it is one rectangle. */
function cutoutBox(
  x: Float32Array,
  k: number,
): { r0: number; r1: number; c0: number; c1: number } | null {
  let r0 = 32, r1 = -1, c0 = 32, c1 = -1, zeros = 0;
  for (let h = 0; h < 32; h++) {
    for (let w = 0; w < 32; w++) {
      const o = k * SIZE + (h * 32 + w) * 3;
      const z = x[o] === 0 && x[o + 1] === 0 && x[o + 2] === 0;
      if (!z) {
        if (x[o] === 0 || x[o + 1] === 0 || x[o + 2] === 0) throw new Error("partly zero pixel");
        continue;
      }
      zeros++;
      r0 = Math.min(r0, h);
      r1 = Math.max(r1, h + 1);
      c0 = Math.min(c0, w);
      c1 = Math.max(c1, w + 1);
    }
  }
  if (zeros === 0) return null;
  assert.equal(zeros, (r1 - r0) * (c1 - c0), "zeros form one rectangle");
  return { r0, r1, c0, c1 };
}

Deno.test("cutout zeroes exactly the clipped 16×16 square, with p = 0.5", () => {
  const data = positionDataset(2000);
  const half = epoch(data, { crop: 0, flip: false, cutout: 16, cutoutProb: 0.5 });
  const always = epoch(data, { crop: 0, flip: false, cutout: 16, cutoutProb: 1 });
  let applied = 0;
  const rows = new Set<number>();
  const cols = new Set<number>();
  for (const { x, count } of [half, always]) {
    for (let k = 0; k < count; k++) {
      const box = cutoutBox(x, k);
      if (box === null) continue;
      if (x === half.x) applied++;
      const { r0, r1, c0, c1 } = box;
      // The square is 16 wide unless clipped by the border.
      assert.ok(r1 - r0 === 16 || r0 === 0 || r1 === 32, `rows ${r0}…${r1}`);
      assert.ok(c1 - c0 === 16 || c0 === 0 || c1 === 32, `cols ${c0}…${c1}`);
      assert.ok(r1 - r0 >= 8 && r1 - r0 <= 16 && c1 - c0 >= 8 && c1 - c0 <= 16);
      rows.add(r0 > 0 ? r0 : r1 - 16);
      cols.add(c0 > 0 ? c0 : c1 - 16);
      // Pixels outside the box are the untouched normalized image.
      const o = k * SIZE + ((r0 === 0 ? 31 : 0) * 32 + (c0 === 0 ? 31 : 0)) * 3;
      assert.ok(x[o] !== 0);
    }
  }
  assert.ok(applied > 900 && applied < 1100, `cutout applied to ${applied} of 2000`);
  // Every top-left corner from −8 to 23 (randint(−8, 24)) occurs, and nothing else.
  const range = Array.from({ length: 32 }, (_, i) => i - 8);
  assert.deepEqual([...rows].sort((a, b) => a - b), range);
  assert.deepEqual([...cols].sort((a, b) => a - b), range);
  for (let k = 0; k < always.count; k++) assert.notEqual(cutoutBox(always.x, k), null);
});

Deno.test("WRN augmentation follows the documented streams and draw order exactly", () => {
  const data = positionDataset(300);
  const key = rngKey(7, "run", 2, "epoch", 5);
  const { x, y, count } = epoch(data, WRN_AUGMENT, key, 64);
  const order = createRng(deriveKey(key, "shuffle")).permutation(300);
  const rng = createRng(deriveKey(key, "augment"));
  const table = pixelTable(data);
  const expected = new Float32Array(count * SIZE);
  const draws: AugmentDraw[] = [];
  for (let k = 0; k < count; k++) {
    const draw = drawAugment(rng, 32, 32, WRN_AUGMENT);
    draws.push(draw);
    augmentImage(data.train.images, order[k], [32, 32, 3], draw, table, expected, k * SIZE);
    assert.equal(y[k], data.train.labels[order[k]]);
  }
  assert.deepEqual(x, expected);
  // Cutout comes after padding and normalization: padded pixels inside the square are 0,
  // padded pixels outside it keep the padding value (raw 0 normalized).
  let checked = 0;
  for (let k = 0; k < count; k++) {
    const { dy, cutout } = draws[k];
    if (cutout === null || dy === 0) continue;
    const h = dy > 0 ? 31 : 0; // a padded row
    if (h < cutout.row || h >= cutout.row + 16) continue;
    checked++;
    for (let w = 0; w < 32; w++) {
      const inside: boolean = w >= cutout.col && w < cutout.col + 16;
      assert.equal(x[k * SIZE + (h * 32 + w) * 3], inside ? 0 : table[0]);
    }
  }
  assert.ok(checked > 10, `${checked} images with cutout over padding`);
});

Deno.test("determinism: same key gives identical batches; epochs differ; order is a permutation", () => {
  const data = positionDataset(200); // channel 2 = 1 + index: unique ids
  const key = rngKey(0, "run", 1, "epoch", 3);
  const a = epoch(data, WRN_AUGMENT, key, 64);
  const b = epoch(data, WRN_AUGMENT, rngKey(0, "run", 1, "epoch", 3), 64);
  assert.deepEqual(a.x, b.x);
  assert.deepEqual(a.y, b.y);
  assert.deepEqual(a.batches.map((x) => x.size), [64, 64, 64, 8]);
  assert.equal(batchCount(200, 64), 4);
  assert.equal(batchCount(50000, 128), 391);

  const ids = (e: ReturnType<typeof epoch>) => {
    const out: number[] = [];
    for (let k = 0; k < e.count; k++) out.push(Math.round(e.x[k * SIZE + 2] * 255) - 1);
    return out;
  };
  const plain = epoch(data, NO_AUGMENT, key, 64, false);
  const order = ids(plain);
  assert.deepEqual([...order].sort((p, q) => p - q), Array.from({ length: 200 }, (_, i) => i));
  assert.deepEqual(order, Array.from(createRng(deriveKey(key, "shuffle")).permutation(200)));
  assert.deepEqual(Array.from(plain.y), order.map((i) => i % 10));
  // The order does not depend on augmentation, batch size or normalization.
  const other = epoch(data, CIFAR_AUGMENT, key, 17, false);
  assert.deepEqual(Array.from(other.y), Array.from(plain.y));
  // Another epoch: another order and other augmentations.
  const next = epoch(data, NO_AUGMENT, rngKey(0, "run", 1, "epoch", 4), 64, false);
  assert.notDeepEqual(ids(next), order);
  assert.notDeepEqual(epoch(data, WRN_AUGMENT, rngKey(0, "run", 1, "epoch", 4), 64).x, a.x);
  // normalize: false leaves x / 255.
  const o = 5 * SIZE;
  assert.equal(plain.x[o], Math.fround(1 / 255));
});

Deno.test("evalBatches: first `limit` examples in order, unaugmented, last batch kept", () => {
  const data = positionDataset(200);
  const batches = [...evalBatches(data, "train", { batchSize: 64, limit: 150 })];
  assert.deepEqual(batches.map((b) => b.size), [64, 64, 22]);
  const table = pixelTable(data);
  let k = 0;
  for (const b of batches) {
    assert.equal(b.x.length, b.size * SIZE);
    for (let j = 0; j < b.size; j++, k++) {
      assert.equal(b.y[j], k % 10);
      for (const p of [0, 1000, 3071]) {
        assert.equal(b.x[j * SIZE + p], table[(p % 3) * 256 + data.train.images[k * SIZE + p]]);
      }
    }
  }
  assert.equal(k, 150);
  const all = [...evalBatches(data, "test", { batchSize: 128, normalize: false })];
  assert.deepEqual(all.map((b) => b.size), [128, 72]);
  assert.equal(all[1].x[71 * SIZE + 2], Math.fround(200 / 255));
  assert.throws(() => [...evalBatches(data, "test", { batchSize: 0 })], RangeError);
  assert.throws(() => [...evalBatches(data, "test", { batchSize: 8, limit: 201 })], RangeError);
  assert.throws(
    () => [
      ...trainBatches(data, {
        key: rngKey(0),
        batchSize: 8,
        augment: { ...NO_AUGMENT, cutoutProb: 2 },
      }),
    ],
    RangeError,
  );
});
