/**
 * Batches for training and evaluation: shuffling, augmentation, normalization.
 *
 * Training batches of one epoch are a pure function of the dataset and the epoch's key:
 *
 * - order: `createRng(deriveKey(key, "shuffle")).permutation(count)`, a full permutation each
 *   epoch; batches of `batchSize` in that order, the last partial batch kept;
 * - augmentation: one stream `deriveKey(key, "augment")`, drawn image by image in batch order,
 *   per image in this fixed order, each draw only when that augmentation is on:
 *   1. crop row offset `dy = int(2p + 1) − p`, 2. crop column offset `dx = int(2p + 1) − p`
 *      (p = `crop`, the padding),
 *   3. flip `uniform() < 0.5`,
 *   4. cutout coin `uniform() < cutoutProb`, 5. cutout row `int(H) − ⌊s/2⌋`,
 *      6. cutout column `int(W) − ⌊s/2⌋` (s = `cutout`; 5 and 6 are drawn even when the coin
 *      says no, so every image consumes the same draws).
 *
 * The image is then built as the authors' torchvision pipeline does (docs/paper.md#settings):
 * output pixel
 * (h, w) = input (h + dy, w' + dx) with w' = W − 1 − w when flipped, else w, and raw pixel 0
 * outside the image (RandomCrop's zero padding of raw pixels, then RandomHorizontalFlip); then
 * `(x/255 − mean_c)/std_c` (ToTensor, Normalize); then, when the coin says so, the rows
 * [max(0, row), min(H, row + s)) × columns [max(0, col), min(W, col + s)) are set to 0 in every
 * channel (Cutout after normalization; the authors' `left` is the row, `top` the column). Values are
 * computed in float64 and rounded once to float32.
 *
 * Two runs that share an epoch key see the same order and the same augmentation.
 *
 * @module
 */
import type { Batch } from "../core/batch.ts";
import { createRng, deriveKey, type Rng, type RngKey } from "../core/random.ts";
import type { Dataset } from "./datasets.ts";

/** Training augmentation. */
export interface AugmentOptions {
  /** RandomCrop padding in pixels (0 = off): offsets in [−crop, crop]. */
  crop: number;
  /** RandomHorizontalFlip with p = 0.5. */
  flip: boolean;
  /** Cutout square side (0 = off), applied after normalization. */
  cutout: number;
  /** Probability that Cutout is applied to an image. */
  cutoutProb: number;
}

/** No augmentation (the authors' `randomize=False`). */
export const NO_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  crop: 0,
  flip: false,
  cutout: 0,
  cutoutProb: 0,
});

/** RandomCrop(32, padding=4) and horizontal flip (ResNet, VGG). */
export const CIFAR_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  crop: 4,
  flip: true,
  cutout: 0,
  cutoutProb: 0,
});

/** CIFAR augmentation plus Cutout 16 with p = 0.5 (WideResNet). */
export const WRN_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  crop: 4,
  flip: true,
  cutout: 16,
  cutoutProb: 0.5,
});

/** The random choices for one image. */
export interface AugmentDraw {
  dy: number;
  dx: number;
  flip: boolean;
  /** Top-left corner and side of the Cutout square (may lie partly outside), or null. */
  cutout: { row: number; col: number; size: number } | null;
}

/** Options of {@link trainBatches}. */
export interface TrainBatchOptions {
  /** The epoch's key; the streams used are its `shuffle` and `augment` children. */
  key: RngKey;
  batchSize: number;
  augment: AugmentOptions;
  /** Normalize with the dataset's mean/std (default true); false leaves x/255. */
  normalize?: boolean;
}

/** Options of {@link evalBatches}. */
export interface EvalBatchOptions {
  batchSize: number;
  /** Normalize with the dataset's mean/std (default true); false leaves x/255. */
  normalize?: boolean;
  /** Use only the first `limit` examples of the split. */
  limit?: number;
}

function checkAugment(a: AugmentOptions, height: number, width: number): void {
  if (!Number.isSafeInteger(a.crop) || a.crop < 0) {
    throw new RangeError(`augment.crop must be a non-negative integer, got ${a.crop}`);
  }
  if (!Number.isSafeInteger(a.cutout) || a.cutout < 0 || a.cutout > Math.min(height, width)) {
    throw new RangeError(`augment.cutout must be an integer in 0…${height}, got ${a.cutout}`);
  }
  if (!(a.cutoutProb >= 0 && a.cutoutProb <= 1)) {
    throw new RangeError(`augment.cutoutProb must be in [0, 1], got ${a.cutoutProb}`);
  }
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
}

/** Draws one image's augmentation from `rng`, in the documented order. */
export function drawAugment(
  rng: Rng,
  height: number,
  width: number,
  augment: AugmentOptions,
): AugmentDraw {
  let dy = 0;
  let dx = 0;
  if (augment.crop > 0) {
    dy = rng.int(2 * augment.crop + 1) - augment.crop;
    dx = rng.int(2 * augment.crop + 1) - augment.crop;
  }
  const flip = augment.flip ? rng.uniform() < 0.5 : false;
  let cutout: AugmentDraw["cutout"] = null;
  if (augment.cutout > 0) {
    const apply = rng.uniform() < augment.cutoutProb;
    const half = Math.floor(augment.cutout / 2);
    const row = rng.int(height) - half;
    const col = rng.int(width) - half;
    if (apply) cutout = { row, col, size: augment.cutout };
  }
  return { dy, dx, flip, cutout };
}

/**
 * The float32 value of raw pixel v in channel c, at `table[c * 256 + v]`: `(v/255 − mean_c) /
 * std_c`, or `v/255` without normalization.
 */
export function pixelTable(data: Pick<Dataset, "mean" | "std">, normalize = true): Float32Array {
  const channels = data.mean.length;
  const table = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    for (let v = 0; v < 256; v++) {
      table[c * 256 + v] = normalize ? (v / 255 - data.mean[c]) / data.std[c] : v / 255;
    }
  }
  return table;
}

/**
 * Writes one augmented, normalized image: source image `index` of `images` (HWC uint8) into
 * `out` at `outOffset`, following `draw`: crop, flip, normalize, then Cutout (see the module
 * documentation).
 */
export function augmentImage(
  images: Uint8Array,
  index: number,
  shape: readonly [number, number, number],
  draw: AugmentDraw,
  table: Float32Array,
  out: Float32Array,
  outOffset: number,
): void {
  const [H, W, C] = shape;
  const base = index * H * W * C;
  for (let h = 0; h < H; h++) {
    const sh = h + draw.dy;
    for (let w = 0; w < W; w++) {
      const sw = (draw.flip ? W - 1 - w : w) + draw.dx;
      const o = outOffset + (h * W + w) * C;
      if (sh < 0 || sh >= H || sw < 0 || sw >= W) {
        for (let c = 0; c < C; c++) out[o + c] = table[c * 256]; // zero padding, raw pixel 0
      } else {
        const s = base + (sh * W + sw) * C;
        for (let c = 0; c < C; c++) out[o + c] = table[c * 256 + images[s + c]];
      }
    }
  }
  if (draw.cutout !== null) {
    applyCutout(out, outOffset, shape, draw.cutout.row, draw.cutout.col, draw.cutout.size);
  }
}

/** Sets rows [max(0,row), min(H,row+size)) × cols [max(0,col), min(W,col+size)) to 0. */
export function applyCutout(
  out: Float32Array,
  outOffset: number,
  shape: readonly [number, number, number],
  row: number,
  col: number,
  size: number,
): void {
  const [H, W, C] = shape;
  const r0 = Math.max(0, row);
  const r1 = Math.min(H, row + size);
  const c0 = Math.max(0, col);
  const c1 = Math.min(W, col + size);
  for (let h = r0; h < r1; h++) {
    out.fill(0, outOffset + (h * W + c0) * C, outOffset + (h * W + c1) * C);
  }
}

/**
 * The training batches of one epoch (see the module documentation for the exact streams and
 * draw order). Each batch owns fresh arrays.
 */
export function* trainBatches(data: Dataset, options: TrainBatchOptions): Generator<Batch> {
  checkBatchSize(options.batchSize);
  const shape = data.imageShape;
  checkAugment(options.augment, shape[0], shape[1]);
  const split = data.train;
  const imageSize = shape[0] * shape[1] * shape[2];
  const table = pixelTable(data, options.normalize ?? true);
  const order = createRng(deriveKey(options.key, "shuffle")).permutation(split.count);
  const rng = createRng(deriveKey(options.key, "augment"));
  const augment = { ...options.augment };
  for (let start = 0; start < split.count; start += options.batchSize) {
    const size = Math.min(options.batchSize, split.count - start);
    const x = new Float32Array(size * imageSize);
    const y = new Int32Array(size);
    for (let k = 0; k < size; k++) {
      const index = order[start + k];
      const draw = drawAugment(rng, shape[0], shape[1], augment);
      augmentImage(split.images, index, shape, draw, table, x, k * imageSize);
      y[k] = split.labels[index];
    }
    yield { x, y, size };
  }
}

/**
 * Evaluation batches of a split, in file order, without shuffling or augmentation: the first
 * `limit` examples (all by default), e.g. the first 5000 unaugmented training images for
 * sharpness (docs/paper.md#measurements). The last partial batch is kept.
 */
export function* evalBatches(
  data: Dataset,
  split: "train" | "test",
  options: EvalBatchOptions,
): Generator<Batch> {
  checkBatchSize(options.batchSize);
  const source = data[split];
  const limit = options.limit ?? source.count;
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > source.count) {
    throw new RangeError(`limit must be an integer in 0…${source.count}, got ${limit}`);
  }
  const shape = data.imageShape;
  const imageSize = shape[0] * shape[1] * shape[2];
  const table = pixelTable(data, options.normalize ?? true);
  const channels = shape[2];
  for (let start = 0; start < limit; start += options.batchSize) {
    const size = Math.min(options.batchSize, limit - start);
    const x = new Float32Array(size * imageSize);
    const pixels = source.images.subarray(start * imageSize, (start + size) * imageSize);
    for (let i = 0; i < pixels.length; i++) x[i] = table[(i % channels) * 256 + pixels[i]];
    yield { x, y: Int32Array.from(source.labels.subarray(start, start + size)), size };
  }
}

/** Number of batches of an epoch of `count` examples (the last partial batch counted). */
export function batchCount(count: number, batchSize: number): number {
  return Math.ceil(count / batchSize);
}
