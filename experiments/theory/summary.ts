/**
 * The summary of the four claims: a console table, `theory/data.csv`, and a chart that draws
 * the same table. Per claim: the check (`kind` check, verdict PASS/FAIL), its negative control
 * (`kind` control, verdict `detected` when the check said FAIL there, else `MISSED`) and any
 * variant (`kind` variant, PASS/FAIL, not part of the verdict).
 *
 * @module
 */
import type { Cell } from "../../core/csv.ts";
import type { ChartSpec } from "../../core/render.ts";
import { dejavuMetrics, textWidth } from "../../core/text_metrics.ts";
import { figureSpec } from "../charts.ts";
import type { Verdict } from "./common.ts";

/** Columns of `theory/data.csv`. */
export const SUMMARY_COLUMNS = [
  "claim",
  "kind",
  "statement",
  "verdict",
  "measured",
  "predicted",
  "detail",
] as const;

/** Per claim in claim order (P1…P4): the check's row, its control's, then its variants'. */
export function summaryRows(verdicts: Verdict[]): Record<string, Cell>[] {
  return [...verdicts].sort((a, b) => a.claim.localeCompare(b.claim)).flatMap((v) => [
    {
      claim: v.claim,
      kind: "check",
      statement: v.statement,
      verdict: v.pass ? "PASS" : "FAIL",
      measured: v.measured,
      predicted: v.predicted,
      detail: v.line,
    },
    {
      claim: v.claim,
      kind: "control",
      statement: v.control.setting,
      verdict: v.control.detected ? "detected" : "MISSED",
      measured: v.control.measured,
      predicted: "the check says FAIL",
      detail: v.control.line,
    },
    ...v.variants.map((x) => ({
      claim: v.claim,
      kind: "variant",
      statement: x.setting,
      verdict: x.pass ? "PASS" : "FAIL",
      measured: x.measured,
      predicted: "(not the verdict)",
      detail: x.line,
    })),
  ]);
}

/** The summary as a fixed-width text table. */
export function summaryTable(verdicts: Verdict[]): string {
  const rows = summaryRows(verdicts);
  const cols = ["claim", "kind", "verdict", "statement", "measured"] as const;
  const width = (c: string) => Math.max(c.length, ...rows.map((r) => String(r[c]).length));
  const line = (cells: string[]) =>
    cells.map((cell, i) => cell.padEnd(width(cols[i]))).join("  ").trimEnd();
  return [
    line([...cols]),
    line(cols.map((c) => "-".repeat(width(c)))),
    ...rows.map((r) => line(cols.map((c) => String(r[c])))),
  ].join("\n");
}

/** The summary chart: the table drawn with text marks, verdicts colored. */
export function summaryChart(verdicts: Verdict[]): ChartSpec {
  const rows = summaryRows(verdicts);
  const cols = [
    { field: "claim", title: "claim" },
    { field: "kind", title: "kind" },
    { field: "verdict", title: "verdict" },
    { field: "statement", title: "statement / control setting" },
    { field: "measured", title: "measured" },
  ] as const;
  const cells = rows.flatMap((r, i) =>
    cols.map((c) => ({ row: i, column: c.title, text: String(r[c.field]), verdict: r.verdict }))
  );
  // Each column as wide as its widest cell or bold header, so the table has no gaps.
  const width = (title: string) =>
    Math.ceil(Math.max(
      textWidth(dejavuMetrics(true), title, 12),
      ...cells.filter((x) => x.column === title).map((x) => textWidth(dejavuMetrics(), x.text, 11)),
    ));
  return figureSpec({
    text: "The theory, checked numerically: P1–P4",
    subtitle: [
      "Each claim's section in theory-p1 … theory-p4 holds its data, chart and numbers; a control " +
      "is the check run outside the theorem's assumptions, detected when it says FAIL there.",
    ],
    width: 1000,
  }, {
    hconcat: cols.map((c) => ({
      width: width(c.title),
      height: 24 * rows.length,
      data: { values: cells.filter((x) => x.column === c.title) },
      mark: { type: "text", align: "left", baseline: "middle", fontSize: 11 },
      encoding: {
        y: { field: "row", type: "ordinal", axis: null },
        x: { value: 0 },
        text: { field: "text", type: "nominal" },
        color: c.field === "verdict"
          ? {
            field: "verdict",
            type: "nominal",
            scale: {
              domain: ["PASS", "FAIL", "detected", "MISSED"],
              range: ["#2ca02c", "#d62728", "#2ca02c", "#d62728"],
            },
            legend: null,
          }
          : { value: "black" },
      },
      title: { text: c.title, anchor: "start", fontSize: 12 },
      view: { stroke: null },
    })),
    spacing: 12,
  });
}
