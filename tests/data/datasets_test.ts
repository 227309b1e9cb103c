import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DATASET_NAMES,
  loadDataset,
  NORMALIZATION,
  stratifiedSubset,
  subsetKey,
} from "../../data/datasets.ts";
import { DataError } from "../../data/idx.ts";
import {
  cifarPixel,
  cifarRecords,
  idxBytes,
  mnistImages,
  pixel,
  sha256,
  writeMnistFiles,
} from "./_helpers.ts";

const DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";
const hasDebian = (() => {
  try {
    return Deno.statSync(DEBIAN_DIR).isDirectory;
  } catch {
    return false;
  }
})();

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "late-sam-datasets-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const isolated = { env: {}, debianDir: null, fetch: false } as const;

Deno.test("MNIST-format files load from --data-dir, gzip or raw, with their sha256", async () => {
  await withTemp(async (tmp) => {
    const trainLabels = Uint8Array.from({ length: 30 }, (_, i) => (i * 7) % 10);
    const testLabels = Uint8Array.from([1, 2, 3, 4, 5]);
    await writeMnistFiles(join(tmp, "mnist"), trainLabels, testLabels);
    const data = await loadDataset("mnist", { ...isolated, dataDir: tmp });
    assert.equal(data.origin, "data-dir");
    assert.equal(data.dir, join(tmp, "mnist"));
    assert.deepEqual(data.imageShape, [28, 28, 1]);
    assert.equal(data.numClasses, 10);
    assert.deepEqual([data.mean, data.std], [[0.1307], [0.3081]]);
    assert.equal(data.train.count, 30);
    assert.equal(data.test.count, 5);
    assert.deepEqual(data.train.labels, trainLabels);
    assert.equal(data.train.images[7 * 784 + 300], pixel(7, 300));
    const name = "train-images-idx3-ubyte.gz";
    assert.equal(data.files[name], sha256(await Deno.readFile(join(tmp, "mnist", name))));
    assert.equal(Object.keys(data.files).length, 4);

    const raw = join(tmp, "raw");
    await writeMnistFiles(raw, trainLabels, testLabels, false);
    const fromRaw = await loadDataset("mnist", { ...isolated, dataDir: raw });
    assert.deepEqual(fromRaw.train.images, data.train.images);
    assert.ok("t10k-labels-idx1-ubyte" in fromRaw.files);
  });
});

Deno.test("malformed MNIST-format files are DataErrors naming the file", async () => {
  await withTemp(async (tmp) => {
    await writeMnistFiles(tmp, new Uint8Array(10), new Uint8Array(4));
    await Deno.writeFile(join(tmp, "t10k-labels-idx1-ubyte.gz"), idxBytes([3], new Uint8Array(3)));
    await assert.rejects(
      () => loadDataset("mnist", { ...isolated, dataDir: tmp }),
      (e: unknown) =>
        e instanceof DataError &&
        /t10k-images.* has 4 images but .*t10k-labels.* has 3/.test(e.message),
    );
    await Deno.writeFile(
      join(tmp, "t10k-images-idx3-ubyte.gz"),
      idxBytes([3, 32, 32], new Uint8Array(3 * 1024)),
    );
    await assert.rejects(
      () => loadDataset("mnist", { ...isolated, dataDir: tmp }),
      /t10k-images-idx3-ubyte\.gz: images are 32×32, expected 28×28/,
    );
    // Fashion-MNIST's hashes are known: a file that is not the real one is rejected at once.
    await assert.rejects(
      () => loadDataset("fashion-mnist", { ...isolated, dataDir: tmp }),
      (e: unknown) =>
        e instanceof DataError && e.message.includes("corrupt or truncated: expected sha256") &&
        e.message.includes("delete it and re-fetch"),
    );
  });
});

Deno.test("CIFAR-10 and CIFAR-100 binary files load as NHWC with the authors' constants", async () => {
  await withTemp(async (tmp) => {
    const c10 = join(tmp, "cifar-10-batches-bin");
    await Deno.mkdir(c10);
    for (let b = 1; b <= 5; b++) {
      await Deno.writeFile(
        join(c10, `data_batch_${b}.bin`),
        cifarRecords([[b], [b + 4]], 2 * (b - 1)),
      );
    }
    await Deno.writeFile(join(c10, "test_batch.bin"), cifarRecords([[7]], 100));
    const d10 = await loadDataset("cifar10", { ...isolated, dataDir: tmp });
    assert.equal(d10.dir, c10);
    assert.deepEqual(d10.imageShape, [32, 32, 3]);
    assert.equal(d10.train.count, 10);
    assert.deepEqual(Array.from(d10.train.labels), [1, 5, 2, 6, 3, 7, 4, 8, 5, 9]);
    assert.equal(d10.train.images[9 * 3072 + (4 * 32 + 30) * 3 + 2], cifarPixel(9, 2, 4, 30));
    assert.equal(d10.test.images[(31 * 32 + 1) * 3], cifarPixel(100, 0, 31, 1));
    assert.deepEqual(d10.mean, [0.4914, 0.4822, 0.4465]);
    assert.deepEqual(d10.std, [0.2023, 0.1994, 0.2010]);
    assert.equal(Object.keys(d10.files).length, 6);

    const c100 = join(tmp, "c100");
    await Deno.mkdir(c100);
    await Deno.writeFile(join(c100, "train.bin"), cifarRecords([[3, 42], [19, 99], [0, 0]]));
    await Deno.writeFile(join(c100, "test.bin"), cifarRecords([[1, 1]]));
    const d100 = await loadDataset("cifar100", { ...isolated, dataDir: c100 });
    assert.equal(d100.numClasses, 100);
    assert.deepEqual(Array.from(d100.train.labels), [42, 99, 0]);
    assert.deepEqual(d100.mean, NORMALIZATION.cifar100.mean);
    assert.deepEqual(d100.std, [0.2673342858792401, 0.2564384629170883, 0.27615047132568404]);

    await Deno.writeFile(join(c100, "test.bin"), cifarRecords([[1, 1]]).subarray(0, 3000));
    await assert.rejects(
      () => loadDataset("cifar100", { ...isolated, dataDir: c100 }),
      (e: unknown) => e instanceof DataError && e.message.startsWith(join(c100, "test.bin")),
    );
  });
});

Deno.test("subsets are stratified, fixed, and kept in file order", async () => {
  // Unbalanced labels: class c has 5 + 3c examples.
  const labels = Uint8Array.from(
    Array.from({ length: 10 }, (_, c) => Array(5 + 3 * c).fill(c)).flat(),
  );
  const shuffled = Uint8Array.from(labels.map((_, i) => labels[(i * 38) % labels.length]));
  const idx = stratifiedSubset(shuffled, 43, 10, subsetKey("mnist", "train"));
  assert.equal(idx.length, 43);
  assert.deepEqual(Array.from(idx), Array.from(idx).sort((a, b) => a - b));
  assert.equal(new Set(idx).size, 43);
  const counts = Array(10).fill(0);
  for (const i of idx) counts[shuffled[i]]++;
  assert.deepEqual(counts, [5, 5, 5, 4, 4, 4, 4, 4, 4, 4]);
  assert.deepEqual(idx, stratifiedSubset(shuffled, 43, 10, subsetKey("mnist", "train")));
  // Classes that run out (0: 5 examples, 1: 8) are skipped; the others stay within one.
  const big = stratifiedSubset(shuffled, 100, 10, subsetKey("mnist", "train"));
  const bigCounts = Array(10).fill(0);
  for (const i of big) bigCounts[shuffled[i]]++;
  assert.deepEqual(bigCounts, [5, 8, 11, 11, 11, 11, 11, 11, 11, 10]);

  await withTemp(async (tmp) => {
    await writeMnistFiles(tmp, shuffled, Uint8Array.from({ length: 20 }, (_, i) => i % 10));
    const a = await loadDataset("mnist", {
      ...isolated,
      dataDir: tmp,
      trainSize: 43,
      testSize: 10,
    });
    assert.equal(a.train.count, 43);
    assert.deepEqual(Array.from(a.train.labels), Array.from(idx).map((i) => shuffled[i]));
    // Images follow their labels, in file order.
    const all = mnistImages(shuffled.length);
    for (let k = 0; k < 43; k++) {
      assert.deepEqual(
        a.train.images.subarray(k * 784, (k + 1) * 784),
        all.subarray(idx[k] * 784, (idx[k] + 1) * 784),
      );
    }
    assert.deepEqual(Array.from(a.test.labels).sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await assert.rejects(
      () => loadDataset("mnist", { ...isolated, dataDir: tmp, trainSize: 1000 }),
      RangeError,
    );
  });
  await assert.rejects(() => loadDataset("imagenet", isolated), /unknown dataset "imagenet"/);
  assert.deepEqual([...DATASET_NAMES], ["fashion-mnist", "mnist", "cifar10", "cifar100"]);
});

Deno.test({
  name: "real Fashion-MNIST from Debian: 60000/10000, balanced, the documented sha256, exact stats",
  ignore: !hasDebian,
  fn: async () => {
    const t0 = performance.now();
    const data = await loadDataset("fashion-mnist", { env: {}, fetch: false });
    const ms = performance.now() - t0;
    assert.equal(data.origin, "debian");
    assert.equal(data.train.count, 60000);
    assert.equal(data.test.count, 10000);
    assert.equal(data.train.images.length, 60000 * 784);
    for (const [split, per] of [[data.train, 6000], [data.test, 1000]] as const) {
      const counts = Array(10).fill(0);
      for (const y of split.labels) counts[y]++;
      assert.deepEqual(counts, Array(10).fill(per));
    }
    assert.deepEqual(data.files, {
      "train-images-idx3-ubyte.gz":
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
      "train-labels-idx1-ubyte.gz":
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
      "t10k-images-idx3-ubyte.gz":
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
      "t10k-labels-idx1-ubyte.gz":
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    });
    // The hard-coded constants are the exact statistics of these pixels.
    let sum = 0;
    let sumSq = 0;
    for (const v of data.train.images) {
      sum += v;
      sumSq += v * v;
    }
    const n = data.train.images.length;
    const mean = sum / (255 * n);
    const std = Math.sqrt(sumSq / (255 * 255 * n) - mean * mean);
    assert.ok(Math.abs(mean - data.mean[0]) < 1e-12, `${mean}`);
    assert.ok(Math.abs(std - data.std[0]) < 1e-12, `${std}`);
    assert.ok(ms < 3000, `loading took ${ms} ms`);
  },
});
