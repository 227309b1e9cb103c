/**
 * The IDX file format of MNIST and Fashion-MNIST, gzip-compressed or raw, and `DataError`, the
 * error every part of `data/` throws for a missing, corrupt or malformed dataset file.
 *
 * An IDX file is a 4-byte big-endian magic `0x0000TTDD` (TT = element type, 0x08 for unsigned
 * bytes; DD = number of dimensions), DD big-endian uint32 dimension sizes, then the elements in
 * row-major order. Images are `0x00000803` ([N, rows, cols]) and labels `0x00000801` ([N]).
 *
 * @module
 */
import { gunzipSync } from "node:zlib";

/** A dataset file that is missing, corrupt, truncated or malformed. The message names the file. */
export class DataError extends Error {
  /** The file concerned, when there is one. */
  readonly file?: string;
  constructor(message: string, file?: string) {
    super(message);
    this.name = "DataError";
    this.file = file;
  }
}

/** Magic number of an IDX file of unsigned-byte images, [N, rows, cols]. */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of unsigned-byte labels, [N]. */
export const IDX_LABELS_MAGIC = 0x00000801;

/** Images parsed from an IDX file: `count × rows × cols` bytes, row-major. */
export interface IdxImages {
  images: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

/** Labels parsed from an IDX file. */
export interface IdxLabels {
  labels: Uint8Array;
  count: number;
}

/** Whether `bytes` start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** `bytes` decompressed if they are gzip, else unchanged. `file` names the file in errors. */
export function maybeGunzip(bytes: Uint8Array, file: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError(`${file}: corrupt or truncated gzip data (${reason})`, file);
  }
}

function hex8(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/**
 * Parses an unsigned-byte IDX file with the given magic (gzip or raw).
 *
 * @throws {DataError} naming `file` for a wrong magic, a truncated header, a zero dimension, or
 * a data length that differs from the product of the dimensions.
 */
export function parseIdx(
  bytes: Uint8Array,
  file: string,
  magic: number,
): { dims: number[]; data: Uint8Array } {
  const raw = maybeGunzip(bytes, file);
  if (raw.length < 4) {
    throw new DataError(`${file}: truncated IDX file (${raw.length} bytes, no header)`, file);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const got = view.getUint32(0, false);
  if (got !== magic) {
    const kind = magic === IDX_IMAGES_MAGIC ? "images" : magic === IDX_LABELS_MAGIC ? "labels" : "";
    throw new DataError(
      `${file}: wrong magic number ${hex8(got)}, expected ${hex8(magic)}` +
        (kind ? ` (IDX ${kind}); is this the right file?` : ""),
      file,
    );
  }
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (raw.length < headerBytes) {
    throw new DataError(
      `${file}: truncated IDX header (${raw.length} bytes, need ${headerBytes})`,
      file,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  if (dims.slice(1).some((d) => d === 0)) {
    throw new DataError(`${file}: IDX dimension of size 0 in [${dims.join(", ")}]`, file);
  }
  const expected = dims.reduce((a, b) => a * b, 1);
  const have = raw.length - headerBytes;
  if (have < expected) {
    throw new DataError(
      `${file}: truncated: header says [${dims.join(", ")}] = ${expected} bytes of data, ` +
        `file has ${have}`,
      file,
    );
  }
  if (have > expected) {
    throw new DataError(
      `${file}: ${have - expected} unexpected bytes after the ${expected} bytes of data ` +
        `for [${dims.join(", ")}]`,
      file,
    );
  }
  return { dims, data: raw.subarray(headerBytes) };
}

/** Parses an IDX images file (magic 0x00000803, gzip or raw). @throws {DataError} */
export function parseIdxImages(bytes: Uint8Array, file: string): IdxImages {
  const { dims, data } = parseIdx(bytes, file, IDX_IMAGES_MAGIC);
  return { images: data, count: dims[0], rows: dims[1], cols: dims[2] };
}

/** Parses an IDX labels file (magic 0x00000801, gzip or raw). @throws {DataError} */
export function parseIdxLabels(bytes: Uint8Array, file: string): IdxLabels {
  const { dims, data } = parseIdx(bytes, file, IDX_LABELS_MAGIC);
  return { labels: data, count: dims[0] };
}

/** Reads and parses an IDX images file. @throws {DataError} */
export async function readIdxImages(path: string): Promise<IdxImages> {
  return parseIdxImages(await readDataFile(path), path);
}

/** Reads and parses an IDX labels file. @throws {DataError} */
export async function readIdxLabels(path: string): Promise<IdxLabels> {
  return parseIdxLabels(await readDataFile(path), path);
}

/**
 * Checks that an images file and a labels file describe the same number of examples and that
 * every label is below `numClasses` (when given).
 *
 * @throws {DataError} naming both files.
 */
export function checkImagesLabels(
  images: { count: number },
  labels: IdxLabels,
  imagesFile: string,
  labelsFile: string,
  numClasses?: number,
): void {
  if (images.count !== labels.count) {
    throw new DataError(
      `count mismatch: ${imagesFile} has ${images.count} images but ${labelsFile} has ` +
        `${labels.count} labels`,
      labelsFile,
    );
  }
  if (numClasses !== undefined) {
    const i = labels.labels.findIndex((y) => y >= numClasses);
    if (i >= 0) {
      throw new DataError(
        `${labelsFile}: label ${labels.labels[i]} at index ${i} is outside 0…${numClasses - 1}`,
        labelsFile,
      );
    }
  }
}

async function readDataFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError(`${path}: cannot read (${reason})`, path);
  }
}
