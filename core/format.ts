/**
 * Number formatting for titles, verdict lines and logs: one rule for "a number with a few
 * significant digits", so every figure prints the same value the same way.
 *
 * @module
 */

/**
 * `x` with `digits` significant digits: exponent form outside [1e-3, 1e6) (and never for 0),
 * `"n/a"` for null or undefined, `String(x)` for NaN and ±Infinity.
 *
 * @example fmt(0.012345) === "0.0123"; fmt(1.5e-7, 2) === "1.5e-7"; fmt(null) === "n/a"
 */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined) return "n/a";
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(digits - 1);
  return x.toPrecision(digits);
}
