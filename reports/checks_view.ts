/**
 * The paper's claims checked on a figure's `data.csv` (`experiments/trends.ts`), as a table of
 * the report: claim, verdict (shown, contradicted, not resolved at this scale) and what was
 * measured, with the interval that decided it (docs/statistics.md).
 *
 * @module
 */
import { parseCsv } from "../core/csv.ts";
import { TRENDS, type Verdict, verdictOf } from "../experiments/trends.ts";
import type { Table } from "./numbers.ts";

/** A verdict as the report words it. */
export const VERDICT_TEXT: Record<Verdict, string> = {
  pass: "shown",
  fail: "contradicted",
  unresolved: "not resolved at this scale",
};

/**
 * The checks table of `figure` (null when the figure has no checks or the CSV does not
 * parse; a broken CSV is reported by the numbers section).
 */
export function checksTable(figure: string, csvText: string): Table | null {
  const trends = TRENDS[figure];
  if (!trends) return null;
  let checks;
  try {
    checks = trends(parseCsv(csvText));
  } catch {
    return null;
  }
  if (checks.length === 0) return null;
  return {
    caption: "The paper's claims on these numbers (95 % intervals over seeds)",
    columns: ["claim", "verdict", "measured"],
    rows: checks.map((c) => [
      { text: c.claim },
      { text: VERDICT_TEXT[verdictOf(c)] },
      { text: c.detail },
    ]),
    note: "A claim is shown only when its interval lies wholly on the claim's side of the " +
      "threshold, contradicted when wholly on the other side; otherwise not resolved at this scale.",
  };
}
