/**
 * Integrity of stored bytes: the digest a stored JSON record carries of its own content, and
 * what the store does when a digest does not match. A damaged entry is reported in one line
 * naming it, moved aside (renamed to `<name>.corrupt`, never deleted, so it can be inspected)
 * and recomputed; under `--strict` the report is an {@link IntegrityError} instead (exit 1),
 * and nothing is moved.
 *
 * @module
 */
import { configHash } from "./config.ts";

/** A stored entry failed its digest check under `--strict`. */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IntegrityError";
  }
}

/** The suffix a damaged file is renamed with. */
export const CORRUPT_SUFFIX = ".corrupt";

let strict = false;

/** Makes every later integrity failure fatal (`--strict`) or a recompute (the default). */
export function setStrictIntegrity(value: boolean): void {
  strict = value;
}

/** Whether integrity failures are fatal (`--strict`). */
export function strictIntegrity(): boolean {
  return strict;
}

/** A record with the digest of its own content. */
export type Sealed<T> = T & { digest: string };

/**
 * The digest of a record: sha256 of its canonical JSON without its `digest` field, so key
 * order and whitespace do not matter but every value does.
 */
export function recordDigest(record: object): string {
  const { digest: _, ...content } = record as Record<string, unknown>;
  return configHash(content);
}

/** The record with its digest added (written with it, in the same atomic write). */
export function seal<T extends object>(record: T): Sealed<T> {
  return { ...record, digest: recordDigest(record) };
}

/** Why a parsed record fails its digest, or null when it matches. */
export function digestProblem(record: unknown): string | null {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    return "not a JSON object";
  }
  const digest = (record as { digest?: unknown }).digest;
  if (typeof digest !== "string") return "record has no digest";
  return recordDigest(record) === digest ? null : "record digest mismatch";
}

/** Renames a damaged file to `<path>.corrupt` (replacing an older one); false when absent. */
export async function moveAside(path: string): Promise<boolean> {
  try {
    await Deno.rename(path, `${path}${CORRUPT_SUFFIX}`);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Handles a damaged entry: under `--strict` throws `<what>: <problem>`; otherwise prints
 * `<what>: <problem> — recomputing` and moves `files` aside.
 *
 * @throws {IntegrityError} under `--strict`.
 */
export async function reportCorrupt(
  what: string,
  problem: string,
  files: readonly string[],
): Promise<void> {
  if (strict) throw new IntegrityError(`${what}: ${problem} (--strict)`);
  console.error(`${what}: ${problem} — recomputing`);
  for (const file of files) await moveAside(file);
}
