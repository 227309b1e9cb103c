/**
 * Statistics for aggregating runs and fitting curves, with no knowledge of any figure: mean and
 * sample standard deviation, grouping, means and paired differences with a Student-t
 * confidence interval, Fieller's interval for a ratio of paired means, where an interval lies
 * relative to a threshold, quantiles, and the least-squares fit of a log-linear (exponential)
 * curve.
 * Aggregation happens here, in TypeScript, so charts plot fixed numbers (Vega's bootstrap
 * intervals would be random).
 *
 * @module
 */

/** Mean, sample standard deviation (n − 1; 0 for a single value) and count. */
export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

/** The arithmetic mean of `values` (NaN for none), summed left to right from 0. */
export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** Mean ± sample standard deviation of `values` (NaN mean for none). */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const m = mean(values);
  const ss = values.reduce((a, b) => a + (b - m) ** 2, 0);
  return { mean: m, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n };
}

/** Groups items by a key, keeping first-seen key order and item order within groups. */
export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of an ascending array, linearly interpolated between the two
 * nearest ranks (type 7, the default of R and NumPy). NaN for an empty array.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The q-quantile of an ascending array by nearest rank, without interpolation:
 * `sorted[min(n − 1, ⌊q·n⌋)]` (an observed value; NaN for an empty array).
 */
export function quantileSortedNearest(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The q-quantile of unsorted `values` (see {@link quantileSorted}); the input is not changed. */
export function quantile(values: readonly number[], q: number): number {
  return quantileSorted([...values].sort((a, b) => a - b), q);
}

// ---------------------------------------------------------------------------------------------
// Student's t distribution

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; about 15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), for 0 ≤ x ≤ 1 and a, b > 0. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  // The fraction converges fast for x < (a + 1)/(a + b + 2); use the symmetry otherwise.
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(x, a, b)) / a
    : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** P(T ≤ t) for Student's t distribution with `df` > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The p-quantile of Student's t distribution with `df` > 0 degrees of freedom: the t with
 * P(T ≤ t) = p, found by bisection on {@link studentTCdf} to full double precision
 * (e.g. `studentTQuantile(0.975, 10)` = 2.2281388519862…). NaN outside 0 < p < 1.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A mean with its two-sided Student-t confidence interval (n − 1 degrees of freedom). */
export interface MeanInterval extends MeanStd {
  /** Half the interval's width: t_{(1+level)/2, n−1} · std / √n (NaN for n < 2). */
  halfWidth: number;
  /** The interval [mean − halfWidth, mean + halfWidth] (NaN bounds for n < 2). */
  lo: number;
  hi: number;
  /** The confidence level, e.g. 0.95. */
  level: number;
}

/**
 * The mean of `values` with its two-sided `level` (default 95 %) Student-t confidence
 * interval, t with n − 1 degrees of freedom. With fewer than 2 values there is no interval:
 * the bounds are NaN.
 */
export function meanInterval(values: readonly number[], level = 0.95): MeanInterval {
  const stats = meanStd(values);
  const halfWidth = stats.n > 1
    ? (studentTQuantile((1 + level) / 2, stats.n - 1) * stats.std) / Math.sqrt(stats.n)
    : NaN;
  return { ...stats, halfWidth, lo: stats.mean - halfWidth, hi: stats.mean + halfWidth, level };
}

/** The mean of paired differences a[i] − b[i] with its two-sided Student-t interval. */
export type PairedDifference = MeanInterval;

/**
 * Paired differences a[i] − b[i] (e.g. two methods run on the same seeds): their mean,
 * sample std, and the two-sided `level` (default 95 %) Student-t confidence interval of the
 * mean ({@link meanInterval}). Throws when the arrays differ in length.
 */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
  level = 0.95,
): PairedDifference {
  if (a.length !== b.length) {
    throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`);
  }
  return meanInterval(a.map((x, i) => x - b[i]), level);
}

/** A ratio of two paired means with Fieller's confidence interval. */
export interface RatioInterval {
  /** mean(a) / mean(b). */
  ratio: number;
  /**
   * The interval's bounds: finite when the set is an interval; −Infinity and Infinity when
   * it is unbounded (mean(b) is not distinguishable from 0 at this level); NaN for n < 2.
   */
  lo: number;
  hi: number;
  /** Whether the confidence set is a bounded interval. */
  bounded: boolean;
  /** The number of pairs. */
  n: number;
  level: number;
}

/**
 * Fieller's confidence interval for the ratio R = E[a]/E[b] of paired samples: every R for
 * which the Student-t interval (n − 1 df) of the paired differences a[i] − R·b[i] contains 0.
 * So R₀ lies outside the interval exactly when the t-interval of a − R₀·b excludes 0: a
 * claim "R > R₀" read from this interval is the paired t-test of a − R₀·b. The set is a
 * bounded interval only when the t-interval of b excludes 0; otherwise it is reported as
 * (−∞, ∞). Throws when the arrays differ in length.
 */
export function fiellerRatio(
  a: readonly number[],
  b: readonly number[],
  level = 0.95,
): RatioInterval {
  if (a.length !== b.length) {
    throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`);
  }
  const n = a.length;
  const [ma, mb] = [mean(a), mean(b)];
  const ratio = ma / mb;
  if (n < 2) return { ratio, lo: NaN, hi: NaN, bounded: false, n, level };
  let [saa, sab, sbb] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    saa += (a[i] - ma) ** 2;
    sab += (a[i] - ma) * (b[i] - mb);
    sbb += (b[i] - mb) ** 2;
  }
  // (ā − R b̄)² ≤ q·var(a − R b), with var = (saa − 2R sab + R² sbb)/(n − 1) and q = t²/n.
  const q = studentTQuantile((1 + level) / 2, n - 1) ** 2 / (n * (n - 1));
  const A = mb * mb - q * sbb;
  const B = ma * mb - q * sab;
  const C = ma * ma - q * saa;
  if (!(A > 0)) return { ratio, lo: -Infinity, hi: Infinity, bounded: false, n, level };
  const root = Math.sqrt(Math.max(0, B * B - A * C));
  return { ratio, lo: (B - root) / A, hi: (B + root) / A, bounded: true, n, level };
}

/**
 * Where an interval [lo, hi] lies relative to `threshold`: wholly `above` it, wholly
 * `below` it, `straddling` it (touching counts as straddling), or `none` when it has no
 * finite-or-infinite bounds (NaN: fewer than 2 values).
 */
export function intervalSide(
  interval: { lo: number; hi: number },
  threshold: number,
): "above" | "below" | "straddles" | "none" {
  const { lo, hi } = interval;
  if (Number.isNaN(lo) || Number.isNaN(hi)) return "none";
  if (lo > threshold) return "above";
  if (hi < threshold) return "below";
  return "straddles";
}

// ---------------------------------------------------------------------------------------------
// Fits

/** A least-squares line y ≈ intercept + slope·x. */
export interface LineFit {
  slope: number;
  intercept: number;
  /** The number of points fitted. */
  n: number;
}

/** Ordinary least-squares line through (xs[i], ys[i]); null for fewer than 3 points. */
export function fitLine(xs: readonly number[], ys: readonly number[]): LineFit | null {
  const n = xs.length;
  if (n < 3) return null;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, n };
}

/** An exponential fit values[t] ≈ exp(intercept)·rate^t (a line through ln values). */
export interface LogLinearFit extends LineFit {
  /** The growth factor per unit of t: exp(slope). */
  rate: number;
}

/** The index range and input kind of {@link fitLogLinear}. */
export interface LogLinearOptions {
  /** First index fitted (default 0). */
  from?: number;
  /** Last index fitted, inclusive (default the last). */
  to?: number;
  /** The values are logarithms already (e.g. a mean log-loss): fit them as they are. */
  logs?: boolean;
}

/**
 * Least-squares fit of ln(values[t]) against the index t over t = from…to: slope, intercept
 * and the per-step rate exp(slope). Points whose logarithm is not finite (values ≤ 0, NaN,
 * ±Infinity) are skipped; null when fewer than 3 remain.
 */
export function fitLogLinear(
  values: ArrayLike<number>,
  options: LogLinearOptions = {},
): LogLinearFit | null {
  const xs: number[] = [];
  const ys: number[] = [];
  const to = Math.min(options.to ?? Infinity, values.length - 1);
  for (let t = options.from ?? 0; t <= to; t++) {
    const y = options.logs ? values[t] : Math.log(values[t]);
    if (Number.isFinite(y)) {
      xs.push(t);
      ys.push(y);
    }
  }
  const line = fitLine(xs, ys);
  return line && { ...line, rate: Math.exp(line.slope) };
}
