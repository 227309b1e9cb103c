/**
 * Small statistics for aggregating runs over seeds: mean and sample standard deviation, and
 * grouping. Aggregation happens here, in TypeScript, so charts plot fixed numbers (Vega's
 * bootstrap intervals would be random).
 *
 * @module
 */

/** Mean, sample standard deviation (n − 1; 0 for a single value) and count. */
export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

/** Mean ± sample standard deviation of `values` (NaN mean for none). */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ss = values.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n };
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
