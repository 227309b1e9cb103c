/**
 * The verdict each theory section returns (the check, its negative control and any variant),
 * and their lines. (Fits and quantiles live in
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
  /**
   * The same check run where the theorem's assumptions fail and the predicted behaviour
   * breaks: it must come out FAIL there (`detected`), or the check could not fail.
   */
  control: Control;
  /** The same check on a variant of the setting (reported, not part of the verdict). */
  variants: Variant[];
}

/** A negative control: the check run outside the theorem's assumptions. */
export interface Control {
  /** What is outside the assumptions, e.g. "full batch: no noise, Assumption 4.1 fails". */
  setting: string;
  /** The check said FAIL there. */
  detected: boolean;
  line: string;
  measured: string;
  numbers: Record<string, Json>;
}

/** The check on a labelled variant of the setting (not the paper's). */
export interface Variant {
  /** e.g. "independent ascent and descent batches". */
  setting: string;
  pass: boolean;
  line: string;
  measured: string;
}

/** `PASS P3 Theorem 4.1 …: line`, then the control's and the variants' lines, indented. */
export function verdictLine(v: Verdict): string {
  return [
    `${v.pass ? "PASS" : "FAIL"} ${v.claim} ${v.statement}: ${v.line}`,
    `  control ${v.control.detected ? "detected" : "MISSED"} (${v.control.setting}): ` +
    v.control.line,
    ...v.variants.map((x) =>
      `  variant ${x.pass ? "PASS" : "FAIL"} (${x.setting}, not the verdict): ${x.line}`
    ),
  ].join("\n");
}
