/**
 * Vega-Lite building blocks shared by the figures: a panel of per-seed points with a mean ±
 * std line against a proportion (Figs. 3, 5 and 6).
 *
 * @module
 */

/** One aggregated point: mean with its ±std bounds. */
export interface MeanPoint {
  proportion: number;
  mean: number;
  lo: number;
  hi: number;
}

/** Options of {@link proportionPanel}. */
export interface ProportionPanelOptions {
  /** The x encoding (the proportion axis). */
  x: Record<string, unknown>;
  yTitle: string;
  /** Per-seed values (gray points); `seedField` names their y field. */
  seeds: Record<string, unknown>[];
  seedField: string;
  /** Means with bounds (the colored line with error bars). */
  points: MeanPoint[];
  color: string;
  /** Draw a dashed rule at y = 0 (for gaps). */
  zeroRule?: boolean;
}

/** A 420×200 layer: gray seed points, colored mean line with ±std rules, optional y = 0. */
export function proportionPanel(options: ProportionPanelOptions) {
  const { x, color } = options;
  return {
    width: 420,
    height: 200,
    layer: [
      ...(options.zeroRule
        ? [{
          data: { values: [{ y: 0 }] },
          mark: { type: "rule", color: "#999999", strokeDash: [4, 3] },
          encoding: { y: { field: "y", type: "quantitative" } },
        }]
        : []),
      {
        data: { values: options.seeds },
        mark: { type: "point", color: "#bbbbbb", size: 16, filled: true },
        encoding: { x, y: { field: options.seedField, type: "quantitative" } },
      },
      {
        data: { values: options.points },
        layer: [
          {
            mark: { type: "rule", color },
            encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
          },
          {
            mark: { type: "line", color, point: { color, size: 40 } },
            encoding: {
              x,
              y: {
                field: "mean",
                type: "quantitative",
                title: options.yTitle,
                scale: { zero: false },
              },
            },
          },
        ],
      },
    ],
  };
}
