/** Builders for small dataset files in the real formats, shared by the data tests. */
import { gzipSync } from "node:zlib";
import { sha256Hex } from "../../core/hash.ts";
import type { Dataset } from "../../data/datasets.ts";

/** An IDX ubyte file: magic 0x000008DD, big-endian dims, then `data`. */
export function idxBytes(dims: number[], data: Uint8Array, gzip = true): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x800 + dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const raw = new Uint8Array(header.length + data.length);
  raw.set(header);
  raw.set(data, header.length);
  return gzip ? new Uint8Array(gzipSync(raw)) : raw;
}

/** A deterministic pixel value for image i at byte j. */
export function pixel(i: number, j: number): number {
  return (i * 31 + j * 7) % 256;
}

/** `count` 28×28 images with pixels `pixel(i, j)`. */
export function mnistImages(count: number): Uint8Array {
  const out = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) for (let j = 0; j < 784; j++) out[i * 784 + j] = pixel(i, j);
  return out;
}

/** Writes the four MNIST-style files into `dir`. */
export async function writeMnistFiles(
  dir: string,
  trainLabels: Uint8Array,
  testLabels: Uint8Array,
  gzip = true,
): Promise<void> {
  const ext = gzip ? ".gz" : "";
  const write = (name: string, bytes: Uint8Array) => Deno.writeFile(`${dir}/${name}${ext}`, bytes);
  await Deno.mkdir(dir, { recursive: true });
  await write(
    "train-images-idx3-ubyte",
    idxBytes([trainLabels.length, 28, 28], mnistImages(trainLabels.length), gzip),
  );
  await write("train-labels-idx1-ubyte", idxBytes([trainLabels.length], trainLabels, gzip));
  await write(
    "t10k-images-idx3-ubyte",
    idxBytes([testLabels.length, 28, 28], mnistImages(testLabels.length), gzip),
  );
  await write("t10k-labels-idx1-ubyte", idxBytes([testLabels.length], testLabels, gzip));
}

/** Value of CIFAR image i, channel c, row h, column w (as stored, before any conversion). */
export function cifarPixel(i: number, c: number, h: number, w: number): number {
  return (i * 13 + c * 101 + h * 7 + w * 3) % 256;
}

/** CIFAR records: `prefix` label bytes per record, then 3072 CHW bytes from `cifarPixel`. */
export function cifarRecords(labels: number[][], firstIndex = 0): Uint8Array {
  const rec = labels[0].length + 3072;
  const out = new Uint8Array(labels.length * rec);
  labels.forEach((ls, k) => {
    const base = k * rec;
    out.set(ls, base);
    for (let c = 0; c < 3; c++) {
      for (let h = 0; h < 32; h++) {
        for (let w = 0; w < 32; w++) {
          out[base + ls.length + c * 1024 + h * 32 + w] = cifarPixel(firstIndex + k, c, h, w);
        }
      }
    }
  });
  return out;
}

/** A ustar archive of `files` (path → contents), gzip-compressed. */
export function tarGz(files: Record<string, Uint8Array>): Uint8Array {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const [name, data] of Object.entries(files)) {
    const h = new Uint8Array(512);
    h.set(enc.encode(name), 0);
    h.set(enc.encode("0000644\0"), 100);
    h.set(enc.encode("0000000\0"), 108);
    h.set(enc.encode("0000000\0"), 116);
    h.set(enc.encode(data.length.toString(8).padStart(11, "0") + "\0"), 124);
    h.set(enc.encode("00000000000\0"), 136);
    h[156] = 0x30;
    h.set(enc.encode("ustar\0"), 257);
    h.set(enc.encode("00"), 263);
    h.fill(0x20, 148, 156);
    const sum = h.reduce((a, b) => a + b, 0);
    h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const tar = new Uint8Array(total);
  let off = 0;
  for (const b of blocks) {
    tar.set(b, off);
    off += b.length;
  }
  return new Uint8Array(gzipSync(tar));
}

/** sha256 (hex) of bytes: `core/hash.ts`'s, under the name the data tests use. */
export const sha256: (data: Uint8Array) => string = sha256Hex;

/**
 * An in-memory 32×32×3 dataset whose pixels identify their origin: channel 0 = row + 1,
 * channel 1 = column + 1, channel 2 = 1 + (image index mod 255). No pixel is 0.
 */
export function positionDataset(count: number): Dataset {
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 10;
    for (let h = 0; h < 32; h++) {
      for (let w = 0; w < 32; w++) {
        const o = i * 3072 + (h * 32 + w) * 3;
        images[o] = h + 1;
        images[o + 1] = w + 1;
        images[o + 2] = 1 + (i % 255);
      }
    }
  }
  const split = { images, labels, count };
  return {
    name: "cifar10",
    numClasses: 10,
    imageShape: [32, 32, 3],
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.2023, 0.1994, 0.2010],
    train: split,
    test: split,
    files: {},
    dir: "",
    origin: "data-dir",
  };
}
