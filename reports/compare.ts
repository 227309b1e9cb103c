/**
 * Comparisons behind `deno task audit`, as pure functions: output hashes (recorded in the
 * manifest, found on disk, produced by the re-run), the first differing rows of two CSV
 * files, per-epoch records without their wall-time fields, and how a manifest's provenance
 * differs from the checkout it is audited in.
 *
 * @module
 */
import { canonicalJson } from "../core/config.ts";

/** How one output file of a stored result compares with its re-run. */
export type FileStatus =
  | "match"
  | "rerun differs"
  | "stored file altered"
  | "stored file missing"
  | "missing in rerun"
  | "not in stored manifest";

/** One output file: the three hashes and the verdict. */
export interface FileComparison {
  file: string;
  /** sha256 the stored manifest records (null: the manifest does not list the file). */
  recorded: string | null;
  /** sha256 of the stored file as it is now (null: missing). */
  stored: string | null;
  /** sha256 the re-run produced (null: it did not write the file). */
  rerun: string | null;
  status: FileStatus;
}

/**
 * Compares every output file. A file matches only when the manifest's hash, the stored
 * file's hash and the re-run's hash are all equal, so a stored file edited after the fact is
 * caught even when the re-run reproduces the manifest.
 */
export function compareOutputs(
  recorded: Readonly<Record<string, string>>,
  stored: Readonly<Record<string, string | null>>,
  rerun: Readonly<Record<string, string>>,
): FileComparison[] {
  const files = [...new Set([...Object.keys(recorded), ...Object.keys(rerun)])].sort();
  return files.map((file) => {
    const r = recorded[file] ?? null;
    const s = stored[file] ?? null;
    const n = rerun[file] ?? null;
    const status: FileStatus = r === null
      ? "not in stored manifest"
      : n === null
      ? "missing in rerun"
      : s === null
      ? "stored file missing"
      : s !== r
      ? "stored file altered"
      : n !== r
      ? "rerun differs"
      : "match";
    return { file, recorded: r, stored: s, rerun: n, status };
  });
}

/** One differing line of two CSV texts (1-based line numbers; the header is line 1). */
export interface CsvDifference {
  line: number;
  stored: string | null;
  rerun: string | null;
}

/**
 * The first `limit` lines where two CSV texts differ, with the line counts (a row is one
 * line: the figures' CSVs never quote line breaks).
 */
export function csvDifferences(
  stored: string,
  rerun: string,
  limit = 5,
): { differences: CsvDifference[]; storedLines: number; rerunLines: number; total: number } {
  const a = stored.replace(/\n$/, "").split("\n");
  const b = rerun.replace(/\n$/, "").split("\n");
  const differences: CsvDifference[] = [];
  let total = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    total++;
    if (differences.length < limit) {
      differences.push({ line: i + 1, stored: a[i] ?? null, rerun: b[i] ?? null });
    }
  }
  return { differences, storedLines: a.length, rerunLines: b.length, total };
}

/** Fields of per-epoch records that measure wall time (excluded from comparisons). */
export const WALL_TIME_FIELDS = ["seconds", "wallSeconds"];

/** A JSON value with every wall-time field removed, at any depth. */
export function withoutWallTime(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutWallTime);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !WALL_TIME_FIELDS.includes(k))
      .map(([k, v]) => [k, withoutWallTime(v)]),
  );
}

/**
 * The first per-epoch record that differs between two runs of a train job (wall time
 * ignored), as `epoch N: field stored → rerun` text, or null when they are equal.
 */
export function recordDifference(stored: unknown[], rerun: unknown[]): string | null {
  const a = withoutWallTime(stored) as unknown[];
  const b = withoutWallTime(rerun) as unknown[];
  if (a.length !== b.length) return `${a.length} epoch records stored, ${b.length} re-run`;
  for (let i = 0; i < a.length; i++) {
    if (canonicalJson(a[i]) === canonicalJson(b[i])) continue;
    const x = (a[i] ?? {}) as Record<string, unknown>;
    const y = (b[i] ?? {}) as Record<string, unknown>;
    const fields = [...new Set([...Object.keys(x), ...Object.keys(y)])]
      .filter((k) => canonicalJson(x[k]) !== canonicalJson(y[k]))
      .map((k) => `${k} ${JSON.stringify(x[k])} → ${JSON.stringify(y[k])}`);
    const epoch = typeof x.epoch === "number" ? `epoch ${x.epoch}` : `record ${i}`;
    return `${epoch}: ${fields.join(", ")}`;
  }
  return null;
}

/**
 * The code a result was produced by (as its manifest records it) or an audit runs in (the
 * checkout): commit, dirty flag, `deno.lock` sha256 and the hash of the source files.
 */
export interface CodeProvenance {
  commit: string | null;
  dirty: boolean | null;
  lockSha256: string | null;
  /** Hash of the source files, comparable with a manifest's `codeHash`. */
  codeHash: string | null;
}

/** What the checkout an audit runs in looks like. */
export type Checkout = CodeProvenance;

/** What produced a stored result, as far as the audit compares it. */
export type RecordedCode = CodeProvenance;

const short = (s: string | null) => (s === null ? "not recorded" : s.slice(0, 12));

/**
 * Differences between the code that produced a result and the checkout, one sentence each
 * (empty when they agree). They do not fail an audit; they explain a mismatch.
 */
export function provenanceFindings(recorded: RecordedCode, checkout: Checkout): string[] {
  const out: string[] = [];
  if (recorded.commit !== checkout.commit) {
    out.push(
      `code commit differs: the result was produced at ${short(recorded.commit)}, the ` +
        `checkout is at ${short(checkout.commit)}`,
    );
  }
  if (recorded.dirty === true) {
    out.push("the result was produced from a work tree with uncommitted changes");
  }
  if (checkout.dirty === true) out.push("the checkout has uncommitted changes");
  if (recorded.lockSha256 !== checkout.lockSha256) {
    out.push(
      `deno.lock differs: ${short(recorded.lockSha256)} recorded, ` +
        `${short(checkout.lockSha256)} in the checkout`,
    );
  }
  if (recorded.codeHash !== null && recorded.codeHash !== checkout.codeHash) {
    out.push(
      `source files differ from those that produced the result (code hash ` +
        `${short(recorded.codeHash)} recorded, ${short(checkout.codeHash)} now)`,
    );
  }
  return out;
}
