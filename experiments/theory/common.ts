/**
 * The verdict each theory section returns, and its PASS/FAIL line. (Fits and quantiles live in
 * `core/stats.ts`, number formatting in `core/format.ts`, chart fragments in
 * `experiments/charts.ts`.)
 *
 * @module
 */
import type { Json } from "../../core/config.ts";

/** One claim's outcome: PASS/FAIL, a one-line summary with its numbers, headline values. */
export interface Verdict {
  /** P1 … P4. */
  claim: string;
  /** The paper's statement it checks, e.g. "Corollary 4.2 (exponential escape)". */
  statement: string;
  pass: boolean;
  /** The PASS/FAIL line's text after the verdict. */
  line: string;
  /** The measured quantity, as text (for the summary table). */
  measured: string;
  /** What the (reconstructed) theory predicts, as text. */
  predicted: string;
  /** Headline numbers for the manifest. */
  numbers: Record<string, Json>;
}

/** `PASS P3 Theorem 4.1 …: line`. */
export function verdictLine(v: Verdict): string {
  return `${v.pass ? "PASS" : "FAIL"} ${v.claim} ${v.statement}: ${v.line}`;
}
