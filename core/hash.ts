/**
 * sha256, the one hash of the project: of strings and bytes, of files, and incrementally over
 * many pieces (code hashes, downloads). Every digest is lowercase hex unless stated.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** sha256 of a string (UTF-8) or bytes, in lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** sha256 of a string (UTF-8) or bytes, as the 32 raw digest bytes. */
export function sha256Digest(data: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** sha256 (hex) of a file's bytes. */
export async function fileSha256(path: string): Promise<string> {
  return sha256Hex(await Deno.readFile(path));
}

/** An incremental sha256: feed pieces with `update`, read the hex digest once with `hex`. */
export interface Sha256Stream {
  update(data: string | Uint8Array): Sha256Stream;
  hex(): string;
}

/** Starts an incremental sha256 (for hashing many files, or a download chunk by chunk). */
export function sha256Stream(): Sha256Stream {
  const hash = createHash("sha256");
  const stream: Sha256Stream = {
    update(data) {
      hash.update(data);
      return stream;
    },
    hex: () => hash.digest("hex"),
  };
  return stream;
}
