/**
 * CSV output with deterministic number formatting.
 *
 * Numbers are written in JavaScript's shortest round-trip form (so a float read back is the
 * same float), missing values as empty cells. `csv-stringify` handles quoting.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";

/** One CSV cell value. */
export type Cell = number | string | boolean | null | undefined;

function cell(value: Cell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    return Object.is(value, -0) ? "0" : String(value);
  }
  return String(value);
}

/** Serializes rows under a fixed header; cells not in a row are empty. */
export function toCsv(columns: readonly string[], rows: readonly Record<string, Cell>[]): string {
  const body = rows.map((row) => columns.map((c) => cell(row[c])));
  return stringify([columns as string[], ...body], { record_delimiter: "\n" });
}
