/**
 * The CIFAR-10 and CIFAR-100 binary formats ("binary version" archives of
 * https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * - CIFAR-10 (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`): records of 3073 bytes,
 *   1 label byte (0…9) then 3072 image bytes.
 * - CIFAR-100 (`train.bin`, `test.bin`): records of 3074 bytes, a coarse label (0…19), a fine
 *   label (0…99), then 3072 image bytes.
 *
 * Image bytes are channel-major (CHW): 1024 red, 1024 green, 1024 blue values, each 32×32
 * row-major. The parsers return images in NHWC order (`[N, 32, 32, 3]`), as the models expect.
 *
 * @module
 */
import { DataError } from "./idx.ts";

/** Side of a CIFAR image. */
export const CIFAR_SIZE = 32;
/** Bytes of one CIFAR image (3 × 32 × 32). */
export const CIFAR_IMAGE_BYTES = 3072;
/** Bytes of one CIFAR-10 record (label + image). */
export const CIFAR10_RECORD_BYTES = 3073;
/** Bytes of one CIFAR-100 record (coarse label + fine label + image). */
export const CIFAR100_RECORD_BYTES = 3074;

/** Images (NHWC uint8, `[count, 32, 32, 3]`) and labels parsed from CIFAR files. */
export interface CifarImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** CIFAR-100 images with both label sets; `labels` are the fine labels (0…99). */
export interface Cifar100Images extends CifarImages {
  coarseLabels: Uint8Array;
}

/**
 * Copies one 32×32×3 image from CHW order (`src` at `srcOffset`) to HWC order (`dst` at
 * `dstOffset`).
 */
export function chwToHwc(
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
): void {
  const plane = CIFAR_SIZE * CIFAR_SIZE;
  for (let p = 0; p < plane; p++) {
    const o = dstOffset + 3 * p;
    dst[o] = src[srcOffset + p];
    dst[o + 1] = src[srcOffset + plane + p];
    dst[o + 2] = src[srcOffset + 2 * plane + p];
  }
}

function recordCount(bytes: Uint8Array, file: string, recordBytes: number): number {
  if (bytes.length === 0 || bytes.length % recordBytes !== 0) {
    const whole = Math.floor(bytes.length / recordBytes);
    throw new DataError(
      `${file}: ${bytes.length} bytes is not a whole number of ${recordBytes}-byte records ` +
        `(${whole} records + ${bytes.length - whole * recordBytes} bytes; truncated or not a ` +
        `CIFAR-${recordBytes === CIFAR10_RECORD_BYTES ? "10" : "100"} binary file?)`,
      file,
    );
  }
  return bytes.length / recordBytes;
}

function badLabel(file: string, what: string, value: number, record: number, max: number): never {
  throw new DataError(
    `${file}: ${what} ${value} in record ${record} is outside 0…${max - 1} ` +
      `(corrupt, or the wrong CIFAR variant?)`,
    file,
  );
}

/** Parses a CIFAR-10 binary batch file. @throws {DataError} naming `file`. */
export function parseCifar10(bytes: Uint8Array, file: string): CifarImages {
  const count = recordCount(bytes, file, CIFAR10_RECORD_BYTES);
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const r = i * CIFAR10_RECORD_BYTES;
    const y = bytes[r];
    if (y >= 10) badLabel(file, "label", y, i, 10);
    labels[i] = y;
    chwToHwc(bytes, r + 1, images, i * CIFAR_IMAGE_BYTES);
  }
  return { images, labels, count };
}

/** Parses a CIFAR-100 binary file (`train.bin` or `test.bin`). @throws {DataError} naming `file`. */
export function parseCifar100(bytes: Uint8Array, file: string): Cifar100Images {
  const count = recordCount(bytes, file, CIFAR100_RECORD_BYTES);
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  const coarseLabels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const r = i * CIFAR100_RECORD_BYTES;
    const coarse = bytes[r];
    const fine = bytes[r + 1];
    if (coarse >= 20) badLabel(file, "coarse label", coarse, i, 20);
    if (fine >= 100) badLabel(file, "fine label", fine, i, 100);
    coarseLabels[i] = coarse;
    labels[i] = fine;
    chwToHwc(bytes, r + 2, images, i * CIFAR_IMAGE_BYTES);
  }
  return { images, labels, coarseLabels, count };
}

/** Concatenates parsed CIFAR files (e.g. the five CIFAR-10 training batches) in order. */
export function concatCifar(parts: readonly CifarImages[]): CifarImages {
  const count = parts.reduce((n, p) => n + p.count, 0);
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const part of parts) {
    images.set(part.images, n * CIFAR_IMAGE_BYTES);
    labels.set(part.labels, n);
    n += part.count;
  }
  return { images, labels, count };
}
