/**
 * Atomic, durable file writes: the one way the project replaces a file. The bytes go to a
 * temporary file in the same folder, which is flushed to disk (fsync) and renamed over the
 * target; then the folder itself is flushed, where the platform allows, so the rename survives
 * a crash. A reader sees the old file or the new one, never half of one, and a failed write
 * leaves no temporary behind. A failed write (a full disk, a read-only folder) is a
 * {@link FileWriteError} naming the file, reported in one line.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { basename, dirname, join } from "node:path";

/** A file could not be written; the message names it and the system's reason. */
export class FileWriteError extends Error {
  constructor(path: string, cause: unknown) {
    super(`cannot write ${path}: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = "FileWriteError";
  }
}

/**
 * A fresh temporary name next to `path`: hidden (leading dot) and containing `.tmp-`, so
 * folder listings can skip unfinished writes.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomUUID()}`);
}

/** Writes all of `data` to an open file (a single `write` may write less). */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}

/** Flushes a folder's entries (a completed rename) to disk; a no-op where folders can't be opened. */
export async function syncDir(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Windows and some file systems cannot open or fsync a folder: the rename still happened.
  } finally {
    handle?.close();
  }
}

/**
 * Renames a finished, already fsynced temporary file onto `dest` and flushes the folder.
 * (For writers that stream into {@link tempPathFor} themselves, e.g. downloads.)
 */
export async function commitTemp(tmp: string, dest: string): Promise<void> {
  await Deno.rename(tmp, dest);
  await syncDir(dirname(dest));
}

/**
 * Writes `data` (a string is UTF-8 encoded) to `path` atomically and durably: temporary file
 * in the same folder, fsync, rename, fsync of the folder. On failure the old file is kept and
 * the temporary removed.
 *
 * @throws {FileWriteError} naming `path` when it cannot be written.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = tempPathFor(path);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      await writeAll(file, bytes);
      await file.syncData();
    } finally {
      file.close();
    }
    await commitTemp(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw new FileWriteError(path, error);
  }
}

/** Whether `path` is an existing regular file (false for anything missing or unreadable). */
export async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}
