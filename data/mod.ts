/**
 * Datasets and batches: IDX and CIFAR readers, dataset sources (local folders, `LATE_SAM_DATA`,
 * Debian's packages, a user cache, fetching with sha256 verification), loading with fixed
 * subsets, and deterministic shuffling, augmentation and normalization.
 *
 * @example
 * ```ts
 * import { CIFAR_AUGMENT, loadDataset, trainBatches } from "./mod.ts";
 * import { rngKey } from "../core/random.ts";
 * const data = await loadDataset("fashion-mnist", { trainSize: 5000 });
 * for (const batch of trainBatches(data, {
 *   key: rngKey(0, "run", 0, "epoch", 0),
 *   batchSize: 128,
 *   augment: CIFAR_AUGMENT,
 * })) {
 *   console.log(batch.size);
 * }
 * ```
 *
 * @module
 */
export * from "./idx.ts";
export * from "./cifar.ts";
export * from "./sources.ts";
export * from "./datasets.ts";
export * from "./pipeline.ts";
