/**
 * Datasets as host arrays: uint8 NHWC images and uint8 labels for the train and test splits,
 * with the per-channel normalization constants and the sha256 of every file read.
 *
 * ## Normalization constants (per channel, for pixels scaled to [0, 1])
 *
 * - CIFAR-10 and CIFAR-100: exactly the authors' constants (docs/paper.md#settings).
 * - Fashion-MNIST: the exact mean and population standard deviation over all 47,040,000 pixels
 *   of the real training set (Debian's `dataset-fashion-mnist`, the upstream release), computed
 *   once with exact integer sums (see the comment at {@link NORMALIZATION}).
 * - MNIST: the customary 0.1307 / 0.3081 used by the PyTorch MNIST example
 *   (`transforms.Normalize((0.1307,), (0.3081,))`); no MNIST copy was reachable to recompute.
 *
 * ## Subsets
 *
 * `trainSize` / `testSize` select a fixed, stratified subset that does not depend on the run
 * seed: the indices are shuffled with the stream `(0, data/<name>/subset/<split>)`, split by
 * class (keeping that shuffled order), and taken round-robin over the classes 0, 1, …, K−1
 * (a class that runs out is skipped) until N are chosen; the chosen indices are then sorted back
 * into file order. Class counts therefore differ by at most one (lower labels get the
 * remainder) whenever every class has enough examples.
 *
 * @module
 */
import { basename } from "node:path";
import { createRng, type RngKey, rngKey } from "../core/random.ts";
import { concatCifar, parseCifar10, parseCifar100 } from "./cifar.ts";
import { checkImagesLabels, DataError, parseIdxImages, parseIdxLabels } from "./idx.ts";
import {
  type DataOrigin,
  resolveDataset,
  type ResolvedDataset,
  type ResolveOptions,
  SOURCES,
} from "./sources.ts";

/** The datasets this project can load. */
export const DATASET_NAMES = ["fashion-mnist", "mnist", "cifar10", "cifar100"] as const;

/** One of {@link DATASET_NAMES}. */
export type DatasetName = typeof DATASET_NAMES[number];

/** Whether `name` is one of {@link DATASET_NAMES}. */
export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

/** One split: `count` images (NHWC uint8) and their labels. */
export interface ImageSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** A loaded dataset. */
export interface Dataset {
  name: DatasetName;
  numClasses: number;
  /** [height, width, channels]. */
  imageShape: [number, number, number];
  /** Per-channel mean and standard deviation of pixels scaled to [0, 1]. */
  mean: number[];
  std: number[];
  train: ImageSplit;
  test: ImageSplit;
  /** File name → sha256 of every file read, for the run manifest. */
  files: Record<string, string>;
  /** The folder the files came from, and how it was found. */
  dir: string;
  origin: DataOrigin;
}

/** Options of {@link loadDataset}: where to look (see `sources.ts`) and subset sizes. */
export interface LoadOptions extends ResolveOptions {
  /** Keep a fixed stratified subset of this many training examples (default: all). */
  trainSize?: number;
  /** Keep a fixed stratified subset of this many test examples (default: all). */
  testSize?: number;
}

/**
 * Normalization constants per dataset, per channel, for pixels in [0, 1].
 *
 * Fashion-MNIST was computed from `/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz`
 * (sha256 b0564c3e…, 60,000 × 28 × 28 = 47,040,000 pixels) with exact integer sums:
 * mean = Σx / (255 n), std = sqrt(Σx² / (255² n) − mean²) (population std), by
 *
 *     python3 -c "import gzip, math; from fractions import Fraction as F
 *     d = gzip.open('train-images-idx3-ubyte.gz').read()[16:]; n = len(d)
 *     m = F(sum(d), 255 * n); v = F(sum(x * x for x in d), 255 * 255 * n) - m * m
 *     print(float(m), math.sqrt(v))"
 *
 * and checked again by `tests/data/datasets_test.ts` on the installed files.
 */
export const NORMALIZATION: Readonly<Record<DatasetName, { mean: number[]; std: number[] }>> = {
  "fashion-mnist": { mean: [0.2860405969887955], std: [0.3530242445149226] },
  // The PyTorch MNIST example's constants (examples/mnist/main.py), not recomputed here.
  mnist: { mean: [0.1307], std: [0.3081] },
  // docs/paper.md#settings (the authors' code).
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] },
  cifar100: {
    mean: [0.5070751592371323, 0.48654887331495095, 0.4409178433670343],
    std: [0.2673342858792401, 0.2564384629170883, 0.27615047132568404],
  },
};

/** What is known about a dataset before loading it. */
export interface DatasetInfo {
  numClasses: number;
  imageShape: [number, number, number];
  /** Examples in the full train and test splits. */
  trainCount: number;
  testCount: number;
}

const INFO: Readonly<Record<DatasetName, DatasetInfo>> = {
  "fashion-mnist": { numClasses: 10, imageShape: [28, 28, 1], trainCount: 60000, testCount: 10000 },
  mnist: { numClasses: 10, imageShape: [28, 28, 1], trainCount: 60000, testCount: 10000 },
  cifar10: { numClasses: 10, imageShape: [32, 32, 3], trainCount: 50000, testCount: 10000 },
  cifar100: { numClasses: 100, imageShape: [32, 32, 3], trainCount: 50000, testCount: 10000 },
};

/** Classes, image shape and split sizes of a dataset (without reading its files). */
export function datasetInfo(name: DatasetName): DatasetInfo {
  const info = INFO[name];
  return { ...info, imageShape: [...info.imageShape] };
}

/** The stream that picks the fixed subset of a split. */
export function subsetKey(name: string, split: "train" | "test"): RngKey {
  return rngKey(0, "data", name, "subset", split);
}

/**
 * The indices (ascending) of a stratified subset of `n` examples, as described in this
 * module's documentation.
 */
export function stratifiedSubset(
  labels: Uint8Array,
  n: number,
  numClasses: number,
  key: RngKey,
): Int32Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > labels.length) {
    throw new RangeError(`subset size must be an integer in 0…${labels.length}, got ${n}`);
  }
  const order = createRng(key).permutation(labels.length);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (const i of order) byClass[labels[i]].push(i);
  const chosen: number[] = [];
  for (let round = 0; chosen.length < n; round++) {
    for (let c = 0; c < numClasses && chosen.length < n; c++) {
      if (round < byClass[c].length) chosen.push(byClass[c][round]);
    }
  }
  return Int32Array.from(chosen).sort();
}

/** The examples of `split` at `indices`, in that order. */
export function selectExamples(
  split: ImageSplit,
  indices: ArrayLike<number>,
  imageBytes: number,
): ImageSplit {
  const count = indices.length;
  const images = new Uint8Array(count * imageBytes);
  const labels = new Uint8Array(count);
  for (let k = 0; k < count; k++) {
    const i = indices[k];
    images.set(split.images.subarray(i * imageBytes, (i + 1) * imageBytes), k * imageBytes);
    labels[k] = split.labels[i];
  }
  return { images, labels, count };
}

function subset(
  name: DatasetName,
  which: "train" | "test",
  split: ImageSplit,
  size: number | undefined,
): ImageSplit {
  if (size === undefined) return split;
  if (!Number.isSafeInteger(size) || size <= 0 || size > split.count) {
    throw new RangeError(
      `${which}Size must be an integer in 1…${split.count} for ${name}, got ${size}`,
    );
  }
  if (size === split.count) return split;
  const { numClasses, imageShape } = INFO[name];
  const indices = stratifiedSubset(split.labels, size, numClasses, subsetKey(name, which));
  return selectExamples(split, indices, imageShape[0] * imageShape[1] * imageShape[2]);
}

function idxSplit(
  resolved: ResolvedDataset,
  imagesName: string,
  labelsName: string,
  numClasses: number,
  shape: [number, number, number],
): ImageSplit {
  const imagesFile = resolved.files[imagesName];
  const labelsFile = resolved.files[labelsName];
  const images = parseIdxImages(imagesFile.data, imagesFile.path);
  if (images.rows !== shape[0] || images.cols !== shape[1]) {
    throw new DataError(
      `${imagesFile.path}: images are ${images.rows}×${images.cols}, expected ` +
        `${shape[0]}×${shape[1]}`,
      imagesFile.path,
    );
  }
  const labels = parseIdxLabels(labelsFile.data, labelsFile.path);
  checkImagesLabels(images, labels, imagesFile.path, labelsFile.path, numClasses);
  return { images: images.images, labels: labels.labels, count: images.count };
}

function parseSplits(name: DatasetName, resolved: ResolvedDataset): [ImageSplit, ImageSplit] {
  const { numClasses, imageShape } = INFO[name];
  const file = (f: string) => resolved.files[f];
  switch (name) {
    case "fashion-mnist":
    case "mnist":
      return [
        idxSplit(
          resolved,
          "train-images-idx3-ubyte.gz",
          "train-labels-idx1-ubyte.gz",
          numClasses,
          imageShape,
        ),
        idxSplit(
          resolved,
          "t10k-images-idx3-ubyte.gz",
          "t10k-labels-idx1-ubyte.gz",
          numClasses,
          imageShape,
        ),
      ];
    case "cifar10": {
      const batches = [1, 2, 3, 4, 5].map((i) => file(`data_batch_${i}.bin`));
      const train = concatCifar(batches.map((f) => parseCifar10(f.data, f.path)));
      const test = parseCifar10(file("test_batch.bin").data, file("test_batch.bin").path);
      return [train, test];
    }
    case "cifar100": {
      const train = parseCifar100(file("train.bin").data, file("train.bin").path);
      const test = parseCifar100(file("test.bin").data, file("test.bin").path);
      return [
        { images: train.images, labels: train.labels, count: train.count },
        { images: test.images, labels: test.labels, count: test.count },
      ];
    }
  }
}

/**
 * Loads a dataset: locates and verifies its files (see `sources.ts`: `dataDir`,
 * `LATE_SAM_DATA`, Debian's location, the cache, fetching), parses them, and keeps the fixed
 * subsets asked for.
 *
 * @throws {DataError} for missing, corrupt or malformed files (naming them).
 * @throws {RangeError} for an unknown name or a bad subset size.
 */
export async function loadDataset(name: string, options: LoadOptions = {}): Promise<Dataset> {
  if (!isDatasetName(name)) {
    throw new RangeError(`unknown dataset "${name}"; known: ${DATASET_NAMES.join(", ")}`);
  }
  const resolved = await resolveDataset(SOURCES[name], options);
  const [train, test] = parseSplits(name, resolved);
  const files: Record<string, string> = {};
  for (const f of Object.values(resolved.files)) files[basename(f.path)] = f.sha256;
  const { numClasses, imageShape } = INFO[name];
  return {
    name,
    numClasses,
    imageShape: [...imageShape],
    mean: [...NORMALIZATION[name].mean],
    std: [...NORMALIZATION[name].std],
    train: subset(name, "train", train, options.trainSize),
    test: subset(name, "test", test, options.testSize),
    files,
    dir: resolved.dir,
    origin: resolved.origin,
  };
}
