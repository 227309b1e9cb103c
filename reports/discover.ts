/**
 * Finding figure folders in result stores: every folder holding a readable `manifest.json`
 * (as `core/figure.ts` writes it) is a figure, whatever task wrote it, so figures that arrive
 * later appear without changes here. One folder per figure name is shown, the one with the
 * largest scale (paper before small before smoke).
 *
 * @module
 */
import { join, relative } from "node:path";
import { z } from "zod";
import { MANIFEST_FILE } from "../core/store.ts";
import { groupBy } from "../core/stats.ts";

/** The manifest fields the report and the audit read (others are kept, unchecked). */
export const reportManifestSchema = z.looseObject({
  figure: z.string().min(1),
  scale: z.string(),
  config: z.record(z.string(), z.unknown()),
  configHash: z.string(),
  codeHash: z.string().optional(),
  seeds: z.unknown().optional(),
  backend: z.string().optional(),
  environment: z.looseObject({
    git: z.looseObject({
      commit: z.string().nullable().optional(),
      dirty: z.boolean().nullable().optional(),
    }).optional(),
    denoLockSha256: z.string().nullable().optional(),
    versions: z.record(z.string(), z.string()).optional(),
  }).optional(),
  datasets: z.record(z.string(), z.string()).optional(),
  startedAt: z.string().optional(),
  wallSeconds: z.number().optional(),
  outputs: z.record(z.string(), z.string()),
  summary: z.unknown().optional(),
});

/** A manifest as the report reads it. */
export type ReportManifest = z.output<typeof reportManifestSchema>;

/** A figure folder and its manifest. */
export interface FigureFolder {
  /** The folder, as found under the given root. */
  dir: string;
  manifest: ReportManifest;
}

/** A manifest that cannot be used (unreadable JSON or missing fields). */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

/**
 * Parses manifest text.
 *
 * @throws {ManifestError} naming the file and the fields that are missing or malformed.
 */
export function parseManifest(text: string, path: string): ReportManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`${path}: not JSON (${(err as Error).message})`);
  }
  const parsed = reportManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ");
    throw new ManifestError(`${path}: not a figure manifest (bad or missing: ${fields})`);
  }
  return parsed.data;
}

/**
 * Reads the manifest of a figure folder.
 *
 * @throws {ManifestError} when it is missing, unreadable or malformed.
 */
export async function readFigureFolder(dir: string): Promise<FigureFolder> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ManifestError(`${path}: cannot read (${(err as Error).message})`);
  }
  return { dir, manifest: parseManifest(text, path) };
}

/**
 * Folder names never searched for figures: the sweep store, a result root's report (its
 * `figures/` holds copies of manifests), dependencies; hidden folders are skipped too.
 */
const SKIP = new Set(["sweep", "report", "node_modules"]);

/** What {@link findFigureFolders} found. */
export interface Discovery {
  /** Figure folders, sorted by path. */
  folders: FigureFolder[];
  /** Folders with a `manifest.json` that could not be used, with the reason. */
  problems: string[];
  /** Roots that do not exist. */
  missingRoots: string[];
}

/**
 * Finds every figure folder under the given result roots, down to `maxDepth` levels (a root
 * such as `results/` holds `results/fig1/` and also `results/ci/fig1/`). A folder with a
 * manifest is not searched further; the sweep store, reports and hidden folders are skipped.
 */
export async function findFigureFolders(
  roots: readonly string[],
  options: { maxDepth?: number } = {},
): Promise<Discovery> {
  const maxDepth = options.maxDepth ?? 3;
  const folders: FigureFolder[] = [];
  const problems: string[] = [];
  const missingRoots: string[] = [];
  const seen = new Set<string>();
  const visit = async (dir: string, depth: number) => {
    const key = await Deno.realPath(dir).catch(() => dir);
    if (seen.has(key)) return;
    seen.add(key);
    const hasManifest = await Deno.stat(join(dir, MANIFEST_FILE)).then(
      (s) => s.isFile,
      () => false,
    );
    if (hasManifest) {
      try {
        folders.push(await readFigureFolder(dir));
      } catch (err) {
        problems.push((err as Error).message);
      }
      return;
    }
    if (depth >= maxDepth) return;
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory && !entry.name.startsWith(".") && !SKIP.has(entry.name)) {
        names.push(entry.name);
      }
    }
    for (const name of names.sort()) await visit(join(dir, name), depth + 1);
  };
  for (const root of roots) {
    const info = await Deno.stat(root).catch(() => null);
    if (!info?.isDirectory) {
      missingRoots.push(root);
      continue;
    }
    await visit(root, 0);
  }
  folders.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  return { folders, problems, missingRoots };
}

/** Whether a named config is one of the paper's settings (`paper`, `paper-c100`, …). */
export function isPaperScale(scale: string): boolean {
  return scale === "paper" || scale.startsWith("paper-");
}

/**
 * How much a scale is worth showing: paper-scale configs (`paper`, `paper-c100`, …) first,
 * then `medium`, `small`, `smoke`, then any other named config.
 */
export function scaleRank(scale: string): number {
  if (isPaperScale(scale)) return 4;
  if (scale === "medium") return 3;
  if (scale === "small") return 2;
  if (scale === "smoke") return 1;
  return 0;
}

/** One figure of the report: the folder shown and the other folders found for it. */
export interface ChosenFigure {
  figure: string;
  shown: FigureFolder;
  /** Other results of the same figure (smaller scales, other roots), not shown. */
  others: FigureFolder[];
}

/**
 * Picks one folder per figure name: the largest scale, ties broken by path order (so the
 * choice is deterministic). Figures come in `order` (names listed there first, in that
 * order), then alphabetically.
 */
export function chooseFigures(
  folders: readonly FigureFolder[],
  order: readonly string[] = [],
): ChosenFigure[] {
  const byName = groupBy(folders, (f) => f.manifest.figure);
  const rank = (name: string) => {
    const i = order.indexOf(name);
    return i < 0 ? order.length : i;
  };
  const names = [...byName.keys()].sort((a, b) =>
    rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)
  );
  return names.map((figure) => {
    const candidates = [...byName.get(figure)!].sort((a, b) =>
      scaleRank(b.manifest.scale) - scaleRank(a.manifest.scale) ||
      (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0)
    );
    return { figure, shown: candidates[0], others: candidates.slice(1) };
  });
}

/** A path relative to `from`, with forward slashes (for display and links). */
export function displayPath(path: string, from = "."): string {
  const rel = relative(from, path) || ".";
  return rel.split("\\").join("/");
}

/** The sweep stores under a result root (`<out>/sweep`, `<out>/<sub>/sweep`). */
export async function sweepStores(out: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (dir: string, depth: number) => {
    if (await Deno.stat(join(dir, "sweep", "states")).then((s) => s.isDirectory, () => false)) {
      found.push(join(dir, "sweep"));
    }
    if (depth === 0) return;
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) {
        if (e.isDirectory && e.name !== "sweep" && !e.name.startsWith(".")) names.push(e.name);
      }
    } catch {
      return;
    }
    for (const name of names.sort()) await visit(join(dir, name), depth - 1);
  };
  await visit(out, 2);
  return found;
}
