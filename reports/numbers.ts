/**
 * The aggregated numbers of a figure as readable tables: the manifest's headline summary,
 * flattened, and the aggregate rows of `data.csv` (the `mean` rows and other small kinds such
 * as fits and end points; per-run, per-trial and per-step rows stay in the CSV).
 *
 * Pure functions from parsed inputs to a small table model that `html.ts` renders.
 *
 * @module
 */
import { parseCsv } from "../core/csv.ts";
import { groupBy } from "../core/stats.ts";

/** One table cell: its text, and the full value when the text is shortened. */
export interface Cell {
  text: string;
  /** Full value (shown on hover) when `text` is an abbreviation. */
  title?: string;
  /** Right-aligned (a number). */
  numeric?: boolean;
  /** In a monospace font (hashes, paths). */
  mono?: boolean;
}

/** A table of the report. */
export interface Table {
  caption: string;
  columns: string[];
  rows: Cell[][];
  /** A line under the table (e.g. rows left out). */
  note?: string;
}

/** A block of the numbers section: a table or preformatted text (e.g. a stored text table). */
export type Block = { kind: "table"; table: Table } | {
  kind: "text";
  caption: string;
  text: string;
};

/**
 * A number for reading: integers as they are, others with 4 significant digits in the
 * shortest form (`24.41`, `0.0001235`, `1e-10`). Deterministic.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  return String(Number(x.toPrecision(4)));
}

const HEX_ID = /^[0-9a-f]{40,64}$/;

/** A cell for any JSON or CSV value: numbers formatted, long hex ids shortened. */
export function cell(value: unknown): Cell {
  if (value === null || value === undefined || value === "") return { text: "" };
  if (typeof value === "number") {
    const text = formatNumber(value);
    return text === String(value)
      ? { text, numeric: true }
      : { text, numeric: true, title: String(value) };
  }
  if (typeof value === "boolean") return { text: value ? "yes" : "no" };
  if (typeof value === "string") {
    if (HEX_ID.test(value)) return { text: value.slice(0, 12), title: value, mono: true };
    const n = Number(value);
    if (value.trim() !== "" && Number.isFinite(n) && /^[-+0-9.eE]+$/.test(value)) {
      const text = formatNumber(n);
      return text === value ? { text, numeric: true } : { text, numeric: true, title: value };
    }
    return { text: value };
  }
  if (Array.isArray(value) && value.every((v) => typeof v !== "object" || v === null)) {
    return { text: value.map((v) => cell(v).text).join(", ") };
  }
  return { text: JSON.stringify(value) };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const isScalarish = (v: unknown) =>
  !isPlainObject(v) && (!Array.isArray(v) || v.every((x) => typeof x !== "object" || x === null));

/** The summary keys shown elsewhere (provenance), not among the numbers. */
export const PROVENANCE_SUMMARY_KEYS = ["gradientEvaluations", "runs"];

/** A table of objects (union of keys, in first-seen order). */
export function objectsTable(caption: string, rows: readonly Record<string, unknown>[]): Table {
  const columns: string[] = [];
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!columns.includes(key)) columns.push(key);
    }
  }
  return { caption, columns, rows: rows.map((row) => columns.map((c) => cell(row[c]))) };
}

/**
 * The manifest summary as blocks: one key/value table of every scalar (nested objects
 * flattened to dotted paths), one table per array of objects, one text block per multi-line
 * string. Keys in `omit` are left out.
 */
export function summaryBlocks(
  summary: unknown,
  options: { omit?: readonly string[] } = {},
): Block[] {
  if (!isPlainObject(summary)) return [];
  const omit = new Set(options.omit ?? PROVENANCE_SUMMARY_KEYS);
  const pairs: Cell[][] = [];
  const blocks: Block[] = [];
  const walk = (value: unknown, path: string[]) => {
    const name = path.join(".");
    if (typeof value === "string" && value.includes("\n")) {
      blocks.push({ kind: "text", caption: name, text: value });
    } else if (value === null) {
      pairs.push([{ text: name }, { text: "—", title: "null (not computed)" }]);
    } else if (isScalarish(value)) {
      pairs.push([{ text: name }, cell(value)]);
    } else if (Array.isArray(value)) {
      const objects = value.filter(isPlainObject);
      if (objects.length === value.length) {
        blocks.push({ kind: "table", table: objectsTable(name, objects) });
      } else pairs.push([{ text: name }, cell(value)]);
    } else if (isPlainObject(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, [...path, key]);
    }
  };
  for (const [key, value] of Object.entries(summary)) if (!omit.has(key)) walk(value, [key]);
  const head: Block[] = pairs.length > 0
    ? [{
      kind: "table",
      table: { caption: "Headline numbers", columns: ["quantity", "value"], rows: pairs },
    }]
    : [];
  return [...head, ...blocks];
}

/** Row kinds of `data.csv` that hold raw data (per run, trial or step), not aggregates. */
export const RAW_KINDS = new Set(["run", "trial", "trajectory"]);

/** Kinds with at most this many rows are shown even when not named `mean`. */
export const SMALL_KIND_ROWS = 30;

/**
 * The aggregate rows of a figure's `data.csv`, one table per row kind, in file order: the
 * `mean` rows and any other non-raw kind with at most {@link SMALL_KIND_ROWS} rows. Columns
 * empty in every shown row are dropped; at most `maxRows` rows per table. A CSV without a
 * `kind` column is shown whole (up to `maxRows`).
 *
 * @throws {SyntaxError} when the CSV does not parse.
 */
export function csvAggregateTables(text: string, options: { maxRows?: number } = {}): {
  tables: Table[];
  /** Kinds left out, with their row counts. */
  omitted: { kind: string; rows: number }[];
} {
  const maxRows = options.maxRows ?? 60;
  const records = parseCsv(text);
  if (records.length === 0) return { tables: [], omitted: [] };
  const header = Object.keys(records[0]);
  const build = (caption: string, rows: Record<string, string>[]): Table => {
    const columns = header.filter((c) => c !== "kind" && rows.some((r) => r[c] !== ""));
    const shown = rows.slice(0, maxRows);
    return {
      caption,
      columns,
      rows: shown.map((r) => columns.map((c) => cell(r[c]))),
      note: rows.length > shown.length
        ? `first ${shown.length} of ${rows.length} rows; all of them are in data.csv`
        : undefined,
    };
  };
  if (!header.includes("kind")) return { tables: [build("data.csv", records)], omitted: [] };
  const kinds = groupBy(records, (r) => r.kind);
  const tables: Table[] = [];
  const omitted: { kind: string; rows: number }[] = [];
  for (const [kind, rows] of kinds) {
    const aggregate = kind === "mean" || (!RAW_KINDS.has(kind) && rows.length <= SMALL_KIND_ROWS);
    if (aggregate) tables.push(build(`data.csv rows of kind "${kind}"`, rows));
    else omitted.push({ kind, rows: rows.length });
  }
  return { tables, omitted };
}
