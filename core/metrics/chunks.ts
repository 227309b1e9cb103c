/**
 * A fixed evaluation subset as device-resident chunks.
 *
 * The Hessian of a metric is that of the mean loss over a fixed set of examples (the authors:
 * the first 5,000 unaugmented training images in chunks of 128, docs/paper.md#measurements). The
 * examples are
 * regrouped into chunks of a chosen size whatever batches they arrive in, uploaded once, and
 * reused by every gradient evaluation. With train-mode BatchNorm the chunk is also the batch
 * whose statistics normalize it, so the chunk size is part of the function being measured.
 *
 * Memory: the subset stays on the device, 4 bytes per input value (5,000 Fashion-MNIST images:
 * 16 MB; 5,000 CIFAR images: 61 MB).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch } from "../batch.ts";

/** Regroups host batches into chunks of `size` examples (the last one may be smaller). */
export function* rechunk(batches: Iterable<Batch>, size: number): Generator<Batch> {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  }
  let xs: Float32Array[] = [];
  let ys: Int32Array[] = [];
  let have = 0;
  let perExample = -1;
  const emit = (count: number): Batch => {
    const x = new Float32Array(count * perExample);
    const y = new Int32Array(count);
    let filled = 0;
    while (filled < count) {
      const take = Math.min(count - filled, ys[0].length);
      x.set(xs[0].subarray(0, take * perExample), filled * perExample);
      y.set(ys[0].subarray(0, take), filled);
      xs[0] = xs[0].subarray(take * perExample);
      ys[0] = ys[0].subarray(take);
      if (ys[0].length === 0) {
        xs = xs.slice(1);
        ys = ys.slice(1);
      }
      filled += take;
    }
    have -= count;
    return { x, y, size: count };
  };
  for (const batch of batches) {
    if (batch.size === 0) continue;
    const each = batch.x.length / batch.size;
    if (perExample < 0) perExample = each;
    if (each !== perExample || batch.y.length !== batch.size) {
      throw new RangeError(
        `rechunk: batch of ${batch.size} examples has ${batch.x.length} values and ` +
          `${batch.y.length} labels (expected ${perExample} values per example)`,
      );
    }
    xs.push(batch.x.subarray(0, batch.size * each));
    ys.push(batch.y.subarray(0, batch.size));
    have += batch.size;
    while (have >= size) yield emit(size);
  }
  if (have > 0) yield emit(have);
}

/** One chunk on the device. */
export interface DeviceChunk {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  size: number;
}

/** A fixed subset uploaded in chunks; `dispose` frees it. */
export interface DeviceSubset {
  chunks: DeviceChunk[];
  /** Total number of examples. */
  count: number;
  dispose(): void;
}

/**
 * Uploads `batches`, regrouped into chunks of `chunk` examples, as tensors of shape
 * [size, ...inputShape].
 *
 * @throws {RangeError} for an empty subset or an input that does not match `inputShape`.
 */
export function uploadSubset(
  batches: Iterable<Batch>,
  inputShape: readonly [number, number, number],
  chunk: number,
): DeviceSubset {
  const [h, w, c] = inputShape;
  const chunks: DeviceChunk[] = [];
  let count = 0;
  const dispose = () => {
    for (const ch of chunks) tf.dispose([ch.x, ch.y]);
    chunks.length = 0;
  };
  try {
    for (const b of rechunk(batches, chunk)) {
      if (b.x.length !== b.size * h * w * c) {
        throw new RangeError(
          `a chunk of ${b.size} examples has ${b.x.length} values; the model expects ` +
            `${h}×${w}×${c} per example`,
        );
      }
      chunks.push({
        x: tf.tensor4d(b.x, [b.size, h, w, c]),
        y: tf.tensor1d(b.y, "int32"),
        size: b.size,
      });
      count += b.size;
    }
  } catch (err) {
    dispose();
    throw err;
  }
  if (count === 0) throw new RangeError("the evaluation subset is empty");
  return { chunks, count, dispose };
}
