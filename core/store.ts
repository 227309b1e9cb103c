/**
 * The result store: one folder per figure, written atomically.
 *
 * Layout (the contract every figure task follows):
 *
 *     <out>/<figure>/data.csv        aggregated numbers behind the chart
 *     <out>/<figure>/spec.vl.json    the Vega-Lite spec, data inlined
 *     <out>/<figure>/figure.svg      rendered chart (deterministic bytes)
 *     <out>/<figure>/figure.png      rasterized chart (deterministic bytes)
 *     <out>/<figure>/manifest.json   provenance, config hash and sha256 of every file above
 *
 * Every file is written with {@linkcode writeFileAtomic} (temporary name in the same folder,
 * fsync, rename), so a reader sees either the old or the new file, never half of one. The manifest is written last:
 * its presence with matching hashes marks the result as complete. A file whose sha256 no
 * longer matches its manifest (edited or damaged) is reported in one line, moved aside and
 * recomputed (an error under `--strict`, see `core/integrity.ts`).
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "./atomic.ts";
import { fileSha256, sha256Hex } from "./hash.ts";
import { reportCorrupt } from "./integrity.ts";

/** The file names of a figure folder, manifest excluded. */
export const FIGURE_FILES = ["data.csv", "spec.vl.json", "figure.svg", "figure.png"] as const;

/** The manifest file name. */
export const MANIFEST_FILE = "manifest.json";

/** The folder of a figure's results. */
export function figureDir(out: string, figure: string): string {
  return join(out, figure);
}

/** What a completed result's manifest must contain for the store to trust it. */
export interface StoredManifest {
  configHash: string;
  outputs: Record<string, string>;
  [key: string]: unknown;
}

/** Reads a figure's manifest, or `null` when absent or unreadable. */
export async function readManifest(dir: string): Promise<StoredManifest | null> {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(join(dir, MANIFEST_FILE)));
    if (typeof parsed?.configHash !== "string" || typeof parsed?.outputs !== "object") return null;
    return parsed as StoredManifest;
  } catch {
    return null;
  }
}

/** A file of a figure folder that does not match its manifest, and why. */
export interface FileProblem {
  file: string;
  problem: string;
}

/** The outputs a manifest lists whose file is missing or has another sha256. */
export async function checkOutputs(dir: string, manifest: StoredManifest): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  for (const [name, hash] of Object.entries(manifest.outputs)) {
    const file = join(dir, name);
    const sha = await fileSha256(file).catch(() => null);
    if (sha === null) problems.push({ file, problem: "missing" });
    else if (sha !== hash) {
      problems.push({ file, problem: "sha256 differs from the manifest (edited or damaged)" });
    }
  }
  return problems;
}

/**
 * Whether `dir` holds a completed result matching `expect`: the manifest has each expected
 * field with the expected value (e.g. `{ configHash, codeHash }`), and every output it lists
 * exists with the recorded sha256. A partial or stale result is recomputed rather than reused;
 * a result of this very config and code with a changed or missing file is said so in one line
 * per file (moved aside) before it is recomputed.
 *
 * @throws {IntegrityError} under `--strict`, when an output does not match its manifest.
 */
export async function isComplete(dir: string, expect: Record<string, string>): Promise<boolean> {
  const manifest = await readManifest(dir);
  if (!manifest) return false;
  for (const [key, value] of Object.entries(expect)) if (manifest[key] !== value) return false;
  const problems = await checkOutputs(dir, manifest);
  for (const { file, problem } of problems) await reportCorrupt(file, problem, [file]);
  return problems.length === 0 && Object.keys(manifest.outputs).length > 0;
}

/**
 * Writes named files into `dir` atomically (creating it) and returns the sha256 of each,
 * for the manifest.
 */
export async function writeOutputs(
  dir: string,
  files: Record<string, string | Uint8Array>,
): Promise<Record<string, string>> {
  await Deno.mkdir(dir, { recursive: true });
  const hashes: Record<string, string> = {};
  for (const name of Object.keys(files).sort()) {
    const data = files[name];
    await writeFileAtomic(join(dir, name), data);
    hashes[name] = sha256Hex(data);
  }
  return hashes;
}
