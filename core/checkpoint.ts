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
 * `optimizer_step`, `config_hash`, `seed`, and `digest`: the sha256 of the header without it
 * (tensor names, shapes, offsets, the other metadata) followed by the tensor bytes, so a flipped
 * bit anywhere is caught on reading. The random cursor is the epoch: every draw of
 * epoch e comes from streams keyed by (seed, …/epoch/e/…), so nothing else needs saving.
 * Kernels keep tfjs layouts (conv [KH, KW, Cin, Cout], dense [in, out]).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { sha256Stream } from "./hash.ts";
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
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  // The digest goes last into the metadata, so deleting it restores the hashed header exactly.
  (header.__metadata__ as Record<string, string>).digest = contentDigest(header, data);
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // align the data to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

/** sha256 of a header (its `digest` metadata left out) and the tensor bytes. */
function contentDigest(header: Record<string, unknown>, data: Uint8Array): string {
  const { digest: _, ...metadata } = (header.__metadata__ ?? {}) as Record<string, string>;
  const json = JSON.stringify({ ...header, __metadata__: metadata });
  return sha256Stream().update(json).update(data).hex();
}

type TensorEntry = { dtype: string; shape: number[]; data_offsets: [number, number] };

/**
 * Checks safetensors bytes without building tensors: the header parses, is a late-sam
 * checkpoint, the data is as long as the header promises, and the digest matches (when the file
 * has one: files written before digests, or by other tools, have none). Returns the parsed
 * header, metadata and tensor bytes.
 *
 * @throws {CheckpointError} naming `source` and what is wrong.
 */
export function verifyCheckpoint(bytes: Uint8Array, source = "checkpoint"): {
  header: Record<string, TensorEntry>;
  metadata: Record<string, string>;
  data: Uint8Array;
} {
  if (bytes.length < 8) throw new CheckpointError(`${source}: too short to be a safetensors file`);
  const headerLength = Number(
    new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true),
  );
  if (headerLength <= 0 || 8 + headerLength > bytes.length) {
    throw new CheckpointError(
      `${source}: header length ${headerLength} exceeds the file (${bytes.length} bytes); truncated?`,
    );
  }
  let header: Record<string, TensorEntry>;
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
  const promised = Object.entries(header).reduce(
    (most, [name, entry]) =>
      name === "__metadata__" ? most : Math.max(most, Number(entry?.data_offsets?.[1]) || 0),
    0,
  );
  if (promised > data.length) {
    throw new CheckpointError(
      `${source}: truncated (the header promises ${promised} data bytes, the file has ${data.length})`,
    );
  }
  // Files written before digests existed (or by other tools) carry none and are read as they are.
  if (metadata.digest !== undefined && metadata.digest !== contentDigest(header, data)) {
    throw new CheckpointError(
      `${source}: digest mismatch, altered or damaged after writing`,
    );
  }
  return { header, metadata, data };
}

/**
 * Parses safetensors bytes into tensors, after {@link verifyCheckpoint}.
 *
 * @throws {CheckpointError} on a truncated file, a malformed header, a digest that does not
 *   match the content, offsets outside the data, an unknown dtype or a foreign format tag.
 */
export function decodeCheckpoint(bytes: Uint8Array, source = "checkpoint"): Checkpoint {
  const { header, metadata, data } = verifyCheckpoint(bytes, source);
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
