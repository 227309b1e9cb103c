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

/**
 * Parses CSV text as written by {@link toCsv} (RFC 4180 quoting, `\n` or `\r\n` records)
 * into one object per record keyed by the header; every value stays a string.
 *
 * @throws {SyntaxError} for an unterminated quote or a record whose width differs from the
 *   header's.
 */
export function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const endField = () => {
    record.push(field);
    field = "";
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "") quoted = true;
    else if (c === ",") endField();
    else if (c === "\n" || c === "\r") {
      endField();
      records.push(record);
      record = [];
      if (c === "\r" && text[i + 1] === "\n") i++;
    } else field += c;
    i++;
  }
  if (quoted) throw new SyntaxError("CSV: unterminated quoted field");
  if (field !== "" || record.length > 0) {
    endField();
    records.push(record);
  }
  const [header, ...rows] = records;
  if (!header) return [];
  return rows.map((row, r) => {
    if (row.length !== header.length) {
      throw new SyntaxError(
        `CSV record ${r + 2} has ${row.length} fields, header ${header.length}`,
      );
    }
    return Object.fromEntries(header.map((h, k) => [h, row[k]]));
  });
}
