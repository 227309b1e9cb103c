/**
 * Loading a checkpoint for measurement: the checkpoint's metadata names its model, the
 * dataset gives the classes and input shape, and `runFromCheckpoint` checks that every
 * tensor fits that model.
 *
 * @module
 */
import { CheckpointError, decodeCheckpoint } from "../core/checkpoint.ts";
import type { Model } from "../core/model.ts";
import { runFromCheckpoint, type TrainState } from "../core/train.ts";
import type { Dataset } from "../data/mod.ts";
import { createModel, isModelName, MODEL_NAMES } from "../models/mod.ts";

/** A checkpoint turned back into a model and its state. */
export interface LoadedCheckpoint {
  model: Model;
  run: TrainState;
  metadata: Record<string, string>;
}

/**
 * Reads `path`, builds the model its metadata names for `data`'s classes and image shape,
 * and loads the state into it.
 *
 * @throws {CheckpointError} when the file is missing or damaged, names no known model, or
 *   does not fit that model on this dataset (e.g. another dataset's classifier).
 */
export async function loadCheckpointFor(
  path: string,
  data: Pick<Dataset, "numClasses" | "imageShape" | "name">,
): Promise<LoadedCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(err as Error).message}`);
  }
  const checkpoint = decodeCheckpoint(bytes, path);
  const name = checkpoint.metadata.model ?? "";
  if (!isModelName(name)) {
    throw new CheckpointError(
      `${path}: metadata names model "${name}", not one of ${MODEL_NAMES.join(", ")}`,
    );
  }
  const model = createModel(name, { numClasses: data.numClasses, inputShape: data.imageShape });
  try {
    return { model, run: runFromCheckpoint(checkpoint, model), metadata: checkpoint.metadata };
  } catch (err) {
    if (err instanceof CheckpointError) {
      throw new CheckpointError(`${path} on ${data.name}: ${err.message}`);
    }
    throw err;
  }
}
