/**
 * Seed-paired comparisons as rows of a figure's `data.csv` (docs/statistics.md). Runs of one
 * seed share their initialization and data order, so a comparison between two runs is made
 * per seed and only then aggregated: a difference gets its mean and 95 % Student-t interval
 * (n − 1 df, n seeds), a share "how far from baseline 0 to baseline 1" gets the ratio of the
 * paired means with Fieller's 95 % interval (`core/stats.ts`).
 *
 * A row is `kind = paired`, `quantity` (what was compared), `n`, `mean`, `lo`, `hi`, plus the
 * figure's own key columns (e.g. `proportion`). `lo` and `hi` are empty with fewer than 2
 * seeds and ±Infinity for an unbounded Fieller set.
 *
 * @module
 */
import type { Cell } from "../core/csv.ts";
import { fmt } from "../core/format.ts";
import { fiellerRatio, meanInterval } from "../core/stats.ts";

/** The columns a paired row fills besides the figure's key columns (`n` included). */
export const PAIRED_COLUMNS = ["quantity", "mean", "lo", "hi"] as const;

/** One paired comparison, ready for `data.csv`. */
export interface PairedStat {
  quantity: string;
  n: number;
  mean: number;
  lo: number;
  hi: number;
}

const bound = (x: number): Cell => (Number.isNaN(x) ? null : x);

/** A `kind = paired` row of `stat` with the figure's key columns `keys`. */
export function pairedRow(stat: PairedStat, keys: Record<string, Cell> = {}): Record<string, Cell> {
  return {
    kind: "paired",
    ...keys,
    quantity: stat.quantity,
    n: stat.n,
    mean: stat.mean,
    lo: bound(stat.lo),
    hi: bound(stat.hi),
  };
}

/**
 * A paired statistic as `mean [lo, hi]` (∞ for an unbounded side), or the mean alone when there
 * is no interval (one seed). Numbers are written by `format` (default 3 significant digits).
 */
export function formatInterval(
  s: { mean: number; lo: number; hi: number },
  format: (x: number) => string = (x) => fmt(x),
): string {
  const f = (x: number) => (Number.isFinite(x) ? format(x) : x > 0 ? "∞" : "−∞");
  return Number.isNaN(s.lo) ? f(s.mean) : `${f(s.mean)} [${f(s.lo)}, ${f(s.hi)}]`;
}

/** Values of one measurement per seed. */
export type BySeed = ReadonlyMap<number, number>;

/** The seeds present in every map, ascending: the pairs a comparison can use. */
export function commonSeeds(...maps: BySeed[]): number[] {
  const [first, ...rest] = maps;
  return [...first.keys()].filter((s) => rest.every((m) => m.has(s))).sort((a, b) => a - b);
}

/** Mean and 95 % t-interval over seeds of `difference(values of the seed)`. */
export function pairedDiff(
  quantity: string,
  maps: BySeed[],
  difference: (...values: number[]) => number,
): PairedStat {
  const seeds = commonSeeds(...maps);
  const d = meanInterval(seeds.map((s) => difference(...maps.map((m) => m.get(s)!))));
  return { quantity, n: d.n, mean: d.mean, lo: d.lo, hi: d.hi };
}

/**
 * The share of the way from baseline 0 to baseline 1 that `x` covers, (x₀ − x)/(x₀ − x₁),
 * as the ratio of the paired means with Fieller's 95 % interval (0: at baseline 0, 1: at
 * baseline 1).
 */
export function pairedShare(quantity: string, x: BySeed, base0: BySeed, base1: BySeed): PairedStat {
  const seeds = commonSeeds(x, base0, base1);
  const r = fiellerRatio(
    seeds.map((s) => base0.get(s)! - x.get(s)!),
    seeds.map((s) => base0.get(s)! - base1.get(s)!),
  );
  return { quantity, n: r.n, mean: r.ratio, lo: r.lo, hi: r.hi };
}

/** `runs` as a map seed → `value(run)`. */
export function bySeed<R extends { seed: number }>(
  runs: readonly R[],
  value: (run: R) => number,
): Map<number, number> {
  return new Map(runs.map((r) => [r.seed, value(r)]));
}
