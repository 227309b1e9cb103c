/**
 * `deno task report`: builds the report page from the result stores.
 *
 *     deno task report [--out DIR ...] [--dest DIR]
 *
 * Reads every figure folder under the result roots (`--out`, default `results`; may be given
 * several times), picks the largest scale of each figure, and writes `DEST/index.html`
 * (default `<first --out>/report/index.html`, so nothing is generated inside the source tree)
 * plus `DEST/figures/<figure>/` with copies of `data.csv`,
 * `config.json`, `manifest.json`, `spec.vl.json`, `figure.svg` and `figure.png`, which the
 * page links to relatively. The page is self-contained and deterministic: the same result
 * folders give the same bytes. It never trains anything.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { CliError, parseToolArgs, runMain } from "../core/cli.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import { FIGURE_FILES, MANIFEST_FILE } from "../core/store.ts";
import { captionFor, FIGURE_ORDER, scaleNote } from "./captions.ts";
import {
  chooseFigures,
  type ChosenFigure,
  displayPath,
  type FigureFolder,
  findFigureFolders,
} from "./discover.ts";
import { type FigureView, renderPage } from "./html.ts";
import { checksTable } from "./checks_view.ts";
import { csvAggregateTables, summaryBlocks } from "./numbers.ts";
import { provenanceTable, runsTable } from "./provenance_view.ts";
import { readVendorScripts, type VendorScript } from "./vendor.ts";

/** The folder under the destination that holds the copied files. */
export const FIGURES_DIR = "figures";

/** The folder under a result root that holds its report (never searched for figures). */
export const REPORT_DIR = "report";

/** Where the report of a result root goes by default: `<root>/report`. */
export function defaultReportDest(root: string): string {
  return join(root, REPORT_DIR);
}

/** Options of {@link buildReport}. */
export interface ReportOptions {
  /** Result roots to search. */
  roots: string[];
  /** The command shown in the page footer. */
  command?: string;
  /** The chart libraries (read from node_modules when omitted). */
  vendor?: VendorScript[];
}

/** What {@link buildReport} produces: the page and the files to place beside it. */
export interface Report {
  html: string;
  /** Paths relative to the destination folder → contents. */
  files: Map<string, string | Uint8Array>;
  /** The figures shown, with their folders. */
  figures: ChosenFigure[];
  problems: string[];
  missingRoots: string[];
}

async function readOptional(path: string): Promise<Uint8Array | null> {
  return await Deno.readFile(path).catch(() => null);
}

const decoder = new TextDecoder();

/** The section of one figure and the files it links to. */
export async function figureView(
  chosen: ChosenFigure,
): Promise<{ view: FigureView; files: Map<string, string | Uint8Array> }> {
  const { figure, shown } = chosen;
  const { manifest, dir } = shown;
  const files = new Map<string, string | Uint8Array>();
  const base = `${FIGURES_DIR}/${figure}`;
  const read: Record<string, Uint8Array | null> = {};
  // A figure's standard files are copied next to the page (when the folder has them).
  for (const name of FIGURE_FILES) {
    read[name] = await readOptional(join(dir, name));
    if (read[name]) files.set(`${base}/${name}`, read[name]!);
  }
  const manifestBytes = await Deno.readFile(join(dir, MANIFEST_FILE));
  files.set(`${base}/${MANIFEST_FILE}`, manifestBytes);
  files.set(`${base}/config.json`, `${JSON.stringify(manifest.config, null, 2)}\n`);

  const spec = read["spec.vl.json"] ? JSON.parse(decoder.decode(read["spec.vl.json"]!)) : null;
  const image = read["figure.svg"]
    ? {
      dataUrl: `data:image/svg+xml;base64,${Buffer.from(read["figure.svg"]!).toString("base64")}`,
      file: "figure.svg",
    }
    : read["figure.png"]
    ? {
      dataUrl: `data:image/png;base64,${Buffer.from(read["figure.png"]!).toString("base64")}`,
      file: "figure.png",
    }
    : null;
  const csvText = read["data.csv"] ? decoder.decode(read["data.csv"]!) : null;
  const csv = csvText !== null ? csvAggregateTables(csvText) : { tables: [], omitted: [] };
  const checks = csvText !== null ? checksTable(figure, csvText) : null;
  const links = [
    ...FIGURE_FILES.filter((n) => read[n]).map((n) => ({ label: n, href: `${base}/${n}` })),
    { label: "config.json", href: `${base}/config.json` },
    { label: MANIFEST_FILE, href: `${base}/${MANIFEST_FILE}` },
  ];
  const source = displayPath(dir);
  const view: FigureView = {
    figure,
    caption: captionFor(figure, manifest.config, spec, manifest.scale),
    scale: manifest.scale,
    scaleNote: scaleNote(manifest.scale),
    source,
    others: chosen.others.map((o: FigureFolder) => ({
      scale: o.manifest.scale,
      source: displayPath(o.dir),
    })),
    spec,
    image,
    numbers: [
      ...(checks ? [{ kind: "table" as const, table: checks }] : []),
      ...summaryBlocks(manifest.summary),
      ...csv.tables.map((table) => ({ kind: "table" as const, table })),
    ],
    omittedRows: csv.omitted,
    provenance: provenanceTable(manifest, { source }),
    runs: runsTable(manifest.summary),
    links,
  };
  return { view, files };
}

/** Builds the page from the result roots (reads files; writes nothing). */
export async function buildReport(options: ReportOptions): Promise<Report> {
  const discovery = await findFigureFolders(options.roots);
  const figures = chooseFigures(discovery.folders, FIGURE_ORDER);
  const files = new Map<string, string | Uint8Array>();
  const views: FigureView[] = [];
  for (const chosen of figures) {
    const { view, files: own } = await figureView(chosen);
    views.push(view);
    for (const [k, v] of own) files.set(k, v);
  }
  const html = renderPage({
    roots: options.roots,
    figures: views,
    problems: discovery.problems,
    vendor: options.vendor ?? (await readVendorScripts()),
    command: options.command ?? "deno task report",
  });
  return {
    html,
    files,
    figures,
    problems: discovery.problems,
    missingRoots: discovery.missingRoots,
  };
}

/**
 * Writes a report into `dest`: the copied files, then `index.html` (atomically). Figure
 * folders under `dest/figures/` left from an earlier build whose figure is gone are removed.
 */
export async function writeReport(report: Report, dest: string): Promise<string> {
  const figuresDir = join(dest, FIGURES_DIR);
  await Deno.mkdir(figuresDir, { recursive: true });
  const keep = new Set(report.figures.map((f) => f.figure));
  for await (const entry of Deno.readDir(figuresDir)) {
    if (!entry.isDirectory || keep.has(entry.name)) continue;
    const stale = join(figuresDir, entry.name);
    const copied = await Deno.stat(join(stale, MANIFEST_FILE)).then(() => true, () => false);
    if (copied) await Deno.remove(stale, { recursive: true });
  }
  for (const [path, data] of report.files) {
    const target = join(dest, path);
    await Deno.mkdir(join(target, ".."), { recursive: true });
    await writeFileAtomic(target, data);
  }
  const index = join(dest, "index.html");
  await writeFileAtomic(index, report.html);
  return index;
}

const HELP = `Usage: deno task report [--out DIR ...] [--dest DIR]

Builds a self-contained report page from the result stores: every figure found (the largest
scale of each), its interactive chart and static image, caption, aggregated numbers and
provenance. It reads results only; it never trains.

Options:
  --out DIR     result root to read (default results; give it several times to read several)
  --dest DIR    where to write index.html and figures/ (default: the first --out's report/,
                e.g. results/report/)
  -h, --help    show this help`;

async function main(args: string[]): Promise<void> {
  const parsed = parseToolArgs("report", args, {
    out: { type: "string", multiple: true },
    dest: { type: "string" },
  }, { help: HELP });
  if (!parsed) return;
  const { values } = parsed;
  const roots = values.out && values.out.length > 0 ? values.out : ["results"];
  const dest = values.dest ?? defaultReportDest(roots[0]);
  const command = ["deno task report", ...roots.flatMap((r) => ["--out", r])]
    .concat(values.dest === undefined ? [] : ["--dest", values.dest]).join(" ");
  const report = await buildReport({ roots, command });
  for (const root of report.missingRoots) console.error(`report: no result root at ${root}`);
  for (const problem of report.problems) console.error(`report: skipped ${problem}`);
  if (report.figures.length === 0) {
    throw new CliError(
      `report: no figure results under ${roots.join(", ")}; run a figure first ` +
        "(e.g. `deno task fig4a --scale smoke --out results/ci`) or pass --out",
    );
  }
  const index = await writeReport(report, dest);
  console.log(`report: wrote ${index} with ${report.figures.length} figures`);
  for (const f of report.figures) {
    console.log(`  ${f.figure}: ${f.shown.manifest.scale} scale from ${displayPath(f.shown.dir)}`);
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
