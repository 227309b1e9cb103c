/**
 * Helpers shared by the theory checks: the verdict each section returns, log-scale growth
 * fits, quantiles, number formatting and chart fragments.
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

/**
 * Least-squares fit of ln(values[t]) against t over t = from…to (inclusive): the per-step
 * growth factor exp(slope) and the intercept. `null` when fewer than 3 finite positive points.
 */
export function fitGrowth(
  values: ArrayLike<number>,
  from: number,
  to: number,
): { growth: number; intercept: number } | null {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let t = from; t <= Math.min(to, values.length - 1); t++) {
    if (values[t] > 0 && Number.isFinite(values[t])) {
      xs.push(t);
      ys.push(Math.log(values[t]));
    }
  }
  return fitLine(xs, ys);
}

/** The same fit when the logarithms are given (e.g. the mean log-loss of a typical trial). */
export function fitLogGrowth(
  logValues: ArrayLike<number>,
  from: number,
  to: number,
): { growth: number; intercept: number } | null {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let t = from; t <= Math.min(to, logValues.length - 1); t++) {
    if (Number.isFinite(logValues[t])) {
      xs.push(t);
      ys.push(logValues[t]);
    }
  }
  return fitLine(xs, ys);
}

function fitLine(xs: number[], ys: number[]): { growth: number; intercept: number } | null {
  const n = xs.length;
  if (n < 3) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxy / sxx;
  return { growth: Math.exp(slope), intercept: my - slope * mx };
}

/** The q-quantile of an ascending array, linearly interpolated. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** A number with `digits` significant digits (exponent form outside [1e-3, 1e6)). */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined) return "n/a";
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(digits - 1);
  return x.toPrecision(digits);
}

/** The Vega-Lite schema URL every chart uses. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Chart-wide config shared by the theory figures. */
export const CHART_CONFIG = {
  view: { stroke: "#cccccc" },
  title: { subtitleFontSize: 11 },
  legend: { labelLimit: 320 },
} as const;

/** Colors of the optimizers in every theory chart. */
export const OPTIMIZER_COLORS = { sgd: "#1f77b4", usam: "#2ca02c", sam: "#ff7f0e" } as const;
