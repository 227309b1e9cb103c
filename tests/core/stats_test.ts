import assert from "node:assert/strict";
import {
  fiellerRatio,
  fitLine,
  fitLogLinear,
  groupBy,
  incompleteBeta,
  intervalSide,
  mean,
  meanInterval,
  meanStd,
  pairedDifference,
  quantile,
  quantileSorted,
  quantileSortedNearest,
  studentTCdf,
  studentTQuantile,
} from "../../core/stats.ts";

const close = (a: number, b: number, rel: number, what: string) =>
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);

Deno.test("mean and sample std, with one value and none", () => {
  assert.deepEqual(meanStd([2, 4, 4, 4, 5, 5, 7, 9]), { mean: 5, std: Math.sqrt(32 / 7), n: 8 });
  assert.deepEqual(meanStd([3]), { mean: 3, std: 0, n: 1 });
  assert.ok(Number.isNaN(meanStd([]).mean) && Number.isNaN(mean([])));
});

Deno.test("groupBy keeps first-seen key order and item order", () => {
  const groups = groupBy([3, 1, 4, 1, 5, 9, 2, 6], (x) => x % 3);
  assert.deepEqual([...groups.entries()], [[0, [3, 9, 6]], [1, [1, 4, 1]], [2, [5, 2]]]);
});

Deno.test("quantiles interpolate linearly between ranks (NumPy's default)", () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(quantileSorted(xs, 0), 1);
  assert.equal(quantileSorted(xs, 1), 10);
  assert.equal(quantileSorted(xs, 0.5), 5.5);
  close(quantileSorted(xs, 0.1), 1.9, 1e-15, "q10"); // numpy.quantile(1..10, 0.1) = 1.9
  close(quantileSorted(xs, 0.9), 9.1, 1e-15, "q90");
  const shuffled = [7, 3, 10, 1, 5, 2, 9, 4, 8, 6];
  assert.equal(quantile(shuffled, 0.25), 3.25);
  assert.deepEqual(shuffled, [7, 3, 10, 1, 5, 2, 9, 4, 8, 6], "input not sorted in place");
  assert.ok(Number.isNaN(quantileSorted([], 0.5)));
  assert.equal(quantileSortedNearest(xs, 0.1), 2);
  assert.equal(quantileSortedNearest(xs, 0.95), 10);
  assert.equal(quantileSortedNearest(xs, 1), 10);
  assert.ok(Number.isNaN(quantileSortedNearest([], 0.5)));
});

Deno.test("Student t quantiles match reference values (scipy.stats.t.ppf)", () => {
  const ppf975: [number, number][] = [
    [1, 12.706204736174694],
    [2, 4.302652729749462],
    [3, 3.1824463052837078],
    [5, 2.5705818356363146],
    [10, 2.228138851986274],
    [30, 2.0422724563012378],
    [100, 1.9839715185235518],
  ];
  for (const [df, t] of ppf975) close(studentTQuantile(0.975, df), t, 1e-10, `t(0.975, ${df})`);
  close(studentTQuantile(0.995, 1), 63.656741162871526, 1e-10, "t(0.995, 1)");
  close(studentTQuantile(0.995, 5), 4.032142983555228, 1e-10, "t(0.995, 5)");
  close(studentTQuantile(0.025, 5), -2.5705818356363146, 1e-10, "lower tail");
  // Large df approaches the normal quantile 1.959963984540054.
  close(studentTQuantile(0.975, 1e7), 1.959963984540054, 1e-6, "normal limit");
  assert.equal(studentTQuantile(0.5, 3), 0);
  assert.ok(Number.isNaN(studentTQuantile(1, 3)) && Number.isNaN(studentTQuantile(0.9, 0)));
});

Deno.test("Student t CDF and the incomplete beta at closed-form points", () => {
  close(studentTCdf(1.5, 4), 0.896, 1e-12, "t cdf (scipy: 0.896)");
  close(studentTCdf(1, 1), 0.75, 1e-12, "Cauchy cdf at 1");
  close(studentTCdf(-1, 1), 0.25, 1e-12, "Cauchy cdf at −1");
  close(incompleteBeta(0.3, 1, 1), 0.3, 1e-12, "I_x(1,1) = x");
  close(incompleteBeta(0.3, 2, 3), 0.3483, 1e-12, "I_0.3(2,3)");
});

Deno.test("paired differences carry a 95 % t-interval", () => {
  const a = [10.2, 9.8, 11.1, 10.5, 10.9];
  const b = [9.9, 9.7, 10.4, 10.1, 10.2];
  const d = pairedDifference(a, b);
  const diffs = [0.3, 0.1, 0.7, 0.4, 0.7];
  const ref = meanStd(a.map((x, i) => x - b[i]));
  close(d.mean, mean(diffs), 1e-12, "mean");
  assert.equal(d.n, 5);
  close(d.halfWidth, (2.7764451051977934 * ref.std) / Math.sqrt(5), 1e-10, "half width");
  close(d.lo, d.mean - d.halfWidth, 1e-15, "lo");
  assert.equal(d.level, 0.95);
  assert.ok(Number.isNaN(pairedDifference([1], [0]).halfWidth));
  assert.throws(() => pairedDifference([1, 2], [1]), RangeError);
});

Deno.test("meanInterval is the one-sample t-interval; none with one value", () => {
  const m = meanInterval([1, 2, 3]);
  // t_{0.975, 2} = 4.302652729749464, std 1, n 3.
  close(m.halfWidth, 4.302652729749464 / Math.sqrt(3), 1e-10, "half width");
  assert.deepEqual([m.lo, m.hi].map((x) => Number(x.toFixed(6))), [-0.484138, 4.484138]);
  const one = meanInterval([5]);
  assert.equal(one.mean, 5);
  assert.ok(Number.isNaN(one.lo) && Number.isNaN(one.hi));
});

Deno.test("Fieller's interval inverts the paired t-test of a − R·b", () => {
  const a = [2.1, 2.9, 2.4, 3.3];
  const b = [4.0, 5.1, 4.4, 5.6];
  const r = fiellerRatio(a, b);
  assert.ok(r.bounded);
  close(r.ratio, mean(a) / mean(b), 1e-12, "ratio of means");
  assert.ok(r.lo < r.ratio && r.ratio < r.hi);
  // At each bound the t-interval of a − R·b just touches 0; inside it contains 0.
  for (const R of [r.lo, r.hi]) {
    const d = pairedDifference(a, b.map((x) => R * x));
    assert.ok(Math.min(Math.abs(d.lo), Math.abs(d.hi)) < 1e-9, `bound ${R}: ${d.lo}, ${d.hi}`);
  }
  const inside = pairedDifference(a, b.map((x) => r.ratio * x));
  assert.ok(inside.lo < 0 && inside.hi > 0);
  const outside = pairedDifference(a, b.map((x) => (r.hi + 0.01) * x));
  assert.ok(outside.hi < 0, "beyond hi, a − R·b is significantly negative");
  // A denominator not distinguishable from 0: unbounded.
  const flat = fiellerRatio([1, 2, 1.5], [1, -1, 0.5]);
  assert.deepEqual([flat.lo, flat.hi, flat.bounded], [-Infinity, Infinity, false]);
  // One pair: no interval.
  const one = fiellerRatio([1], [2]);
  assert.equal(one.ratio, 0.5);
  assert.ok(Number.isNaN(one.lo) && !one.bounded);
  assert.throws(() => fiellerRatio([1, 2], [1]), RangeError);
});

Deno.test("intervalSide: above, below, straddling (touching counts), none", () => {
  assert.equal(intervalSide({ lo: 0.1, hi: 2 }, 0), "above");
  assert.equal(intervalSide({ lo: -2, hi: -0.1 }, 0), "below");
  assert.equal(intervalSide({ lo: -1, hi: 1 }, 0), "straddles");
  assert.equal(intervalSide({ lo: 0, hi: 1 }, 0), "straddles");
  assert.equal(intervalSide({ lo: -Infinity, hi: Infinity }, 0.5), "straddles");
  assert.equal(intervalSide({ lo: NaN, hi: NaN }, 0), "none");
});

Deno.test("line and log-linear fits recover known curves and skip unusable points", () => {
  const line = fitLine([0, 1, 2, 3], [1, 3, 5, 7])!;
  assert.deepEqual(line, { slope: 2, intercept: 1, n: 4 });
  assert.equal(fitLine([0, 1], [0, 1]), null);
  const curve = Array.from({ length: 12 }, (_, t) => 3e-5 * 1.7 ** t);
  const fit = fitLogLinear(curve, { from: 2, to: 9 })!;
  close(fit.rate, 1.7, 1e-12, "rate");
  close(fit.intercept, Math.log(3e-5), 1e-9, "intercept");
  assert.equal(fit.n, 8);
  close(fitLogLinear(curve.map(Math.log), { logs: true })!.rate, 1.7, 1e-12, "on logs");
  const holes = curve.map((x, t) => (t === 4 ? 0 : t === 5 ? NaN : x));
  assert.equal(fitLogLinear(holes)!.n, 10);
  close(fitLogLinear(holes)!.rate, 1.7, 1e-12, "with holes");
  assert.equal(fitLogLinear(curve, { from: 0, to: 1 }), null);
});
