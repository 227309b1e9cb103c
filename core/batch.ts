/**
 * The contract between data pipelines and the training loop: host-side batches.
 *
 * Batches are plain typed arrays (images already augmented and normalized on the host, in
 * NHWC order), so a data pipeline is deterministic TypeScript and the training loop decides
 * when tensors are created and freed. This file holds types only; pipelines live in `data/`.
 *
 * @module
 */

/** One mini-batch. */
export interface Batch {
  /** Images, `size × height × width × channels` float32 values, NHWC. */
  x: Float32Array;
  /** Class labels, `size` int32 values. */
  y: Int32Array;
  /** Number of examples (the last batch of an epoch may be smaller). */
  size: number;
}
