/**
 * Checkpoints in the safetensors format, readable from PyTorch (`safetensors.torch.load_file`)
 * and JAX (`safetensors.flax`).
 *
 * Layout: an 8-byte little-endian header length, a JSON header mapping each tensor name to
 * `{dtype, shape, data_offsets}` plus a `__metadata__` map of strings, then the raw
 * little-endian tensor bytes. Tensor names:
 *
 *     params/<name>           trainable parameters (e.g. params/stage1/unit0/conv1/kernel)
 *     state/<name>            non-trainable model state (BatchNorm running mean/var)
 *     optim/momentum/<name>   the SGD momentum buffer, when there is one
 *
 * Metadata (all strings): `format` = "late-sam/checkpoint/v1", `model`, `epoch` (the next
 * epoch to run), `optimizer` (the optimizer of the phase the buffer belongs to),
 * `optimizer_step`, `config_hash`, `seed`. The random cursor is the epoch: every draw of
 * epoch e comes from streams keyed by (seed, …/epoch/e/…), so nothing else needs saving.
 * Kernels keep tfjs layouts (conv [KH, KW, Cin, Cout], dense [in, out]).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tree } from "./tree.ts";
import { treeKeys } from "./tree.ts";

/** The format tag written into every checkpoint's metadata. */
export const CHECKPOINT_FORMAT = "late-sam/checkpoint/v1";

/** A damaged, truncated or mismatched checkpoint. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** What a checkpoint holds, in memory. */
export interface Checkpoint {
  params: Tree;
  state: Tree;
  /** The momentum buffer, or null (no momentum, or before the first step of a phase). */
  momentum: Tree | null;
  metadata: Record<string, string>;
}

const DTYPES: Record<string, { name: string; bytes: number }> = {
  float32: { name: "F32", bytes: 4 },
  int32: { name: "I32", bytes: 4 },
};

/** Serializes a checkpoint to safetensors bytes (reads the tensors' values). */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const entries: [string, tf.Tensor][] = [];
  const add = (prefix: string, tree: Tree | null) => {
    if (tree) { for (const k of treeKeys(tree)) entries.push([`${prefix}/${k}`, tree[k]]); }
  };
  add("params", checkpoint.params);
  add("state", checkpoint.state);
  add("optim/momentum", checkpoint.momentum);
  const header: Record<string, unknown> = {
    __metadata__: { ...checkpoint.metadata, format: CHECKPOINT_FORMAT },
  };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const dtype = DTYPES[t.dtype];
    if (!dtype) throw new CheckpointError(`cannot store tensor "${name}" of dtype ${t.dtype}`);
    const values = t.dataSync() as Float32Array | Int32Array;
    const bytes = new Uint8Array(
      values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
    );
    header[name] = {
      dtype: dtype.name,
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // align the data to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Parses safetensors bytes into tensors.
 *
 * @throws {CheckpointError} on a truncated file, a malformed header, offsets outside the data,
 *   an unknown dtype or a foreign format tag.
 */
export function decodeCheckpoint(bytes: Uint8Array, source = "checkpoint"): Checkpoint {
  if (bytes.length < 8) throw new CheckpointError(`${source}: too short to be a safetensors file`);
  const headerLength = Number(
    new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true),
  );
  if (headerLength <= 0 || 8 + headerLength > bytes.length) {
    throw new CheckpointError(
      `${source}: header length ${headerLength} exceeds the file (${bytes.length} bytes); truncated?`,
    );
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new CheckpointError(`${source}: the header is not valid JSON`);
  }
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `${source}: not a late-sam checkpoint (format ${metadata.format ?? "missing"})`,
    );
  }
  const data = bytes.subarray(8 + headerLength);
  const result: Checkpoint = { params: {}, state: {}, momentum: null, metadata };
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [begin, end] = entry.data_offsets;
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (!(entry.dtype === "F32" || entry.dtype === "I32")) {
      throw new CheckpointError(`${source}: tensor "${name}" has unsupported dtype ${entry.dtype}`);
    }
    if (begin < 0 || end > data.length || end - begin !== 4 * size) {
      throw new CheckpointError(
        `${source}: tensor "${name}" lies outside the data or has the wrong size; truncated?`,
      );
    }
    const buffer = data.slice(begin, end).buffer;
    const values = entry.dtype === "F32" ? new Float32Array(buffer) : new Int32Array(buffer);
    const tensor = tf.tensor(values, entry.shape, entry.dtype === "F32" ? "float32" : "int32");
    const slash = name.indexOf("/");
    const group = name.startsWith("optim/momentum/") ? "momentum" : name.slice(0, slash);
    const key = group === "momentum" ? name.slice("optim/momentum/".length) : name.slice(slash + 1);
    if (group === "params") result.params[key] = tensor;
    else if (group === "state") result.state[key] = tensor;
    else if (group === "momentum") (result.momentum ??= {})[key] = tensor;
    else {
      tensor.dispose();
      throw new CheckpointError(`${source}: unexpected tensor name "${name}"`);
    }
  }
  return result;
}

/**
 * Throws unless `tree` has exactly the names and shapes of `expected` (e.g. a checkpoint of
 * another model, or another dataset's classifier).
 */
export function assertMatchingTree(tree: Tree, expected: Tree, what: string): void {
  const have = treeKeys(tree);
  const want = treeKeys(expected);
  const missing = want.filter((k) => !(k in tree));
  const extra = have.filter((k) => !(k in expected));
  if (missing.length || extra.length) {
    throw new CheckpointError(
      `${what}: names differ (missing ${missing.slice(0, 3).join(", ") || "none"}; unexpected ${
        extra.slice(0, 3).join(", ") || "none"
      })`,
    );
  }
  for (const k of want) {
    if (tree[k].shape.join("x") !== expected[k].shape.join("x")) {
      throw new CheckpointError(
        `${what}: "${k}" has shape [${tree[k].shape}] but the model expects [${expected[k].shape}]`,
      );
    }
  }
}
