/**
 * Vega-Lite building blocks shared by the figures: the spec frame with a wrapped title,
 * encodings, reference rules, bands, labelled bars, and a panel of per-seed points with a
 * mean line and interval bars against a proportion (Figs. 3, 5 and 6).
 *
 * @module
 */
import type { ChartSpec } from "../core/render.ts";
import { wrapText } from "../core/text_metrics.ts";

/** The Vega-Lite schema URL every chart uses. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Chart-wide config: light view frame, 11 px subtitles, long legend labels. */
export const CHART_CONFIG = {
  view: { stroke: "#cccccc" },
  title: { subtitleFontSize: 11 },
  legend: { labelLimit: 320 },
} as const;

/** The colors of the optimizers, the same in every chart. */
export const OPTIMIZER_COLORS = { sgd: "#1f77b4", usam: "#2ca02c", sam: "#ff7f0e" } as const;

/** A loose Vega-Lite fragment (layers and encodings are checked when the whole spec renders). */
// deno-lint-ignore no-explicit-any
export type Fragment = Record<string, any>;

/**
 * A left-anchored title whose text (13 px bold) and subtitle lines (11 px) are wrapped to
 * `width` pixels, so the title never makes a figure wider than its plots.
 */
export function chartTitle(
  text: string,
  subtitle: readonly string[] | string = [],
  width = 400,
): Fragment {
  const lines = typeof subtitle === "string" ? [subtitle] : subtitle;
  const title = wrapText(text, width, { fontSize: 13, bold: true });
  return {
    text: title.length === 1 ? title[0] : title,
    ...(lines.length > 0 &&
      { subtitle: lines.flatMap((line) => wrapText(line, width, { fontSize: 11 })) }),
    anchor: "start",
  };
}

/**
 * A whole chart: schema, a title wrapped to `width` (see {@link chartTitle}), the body
 * (`layer`, `hconcat`, …) and {@link CHART_CONFIG} (merged with `config`).
 */
export function figureSpec(
  title: { text: string; subtitle?: readonly string[]; width: number },
  body: Fragment,
  config: Fragment = {},
): ChartSpec {
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: chartTitle(title.text, title.subtitle, title.width),
    ...body,
    config: { ...CHART_CONFIG, ...config },
  } as ChartSpec;
}

/** A quantitative encoding of `field`, with an optional axis title and extra properties. */
export function quant(field: string, title?: string | null, extra: Fragment = {}): Fragment {
  return { field, type: "quantitative", ...(title !== undefined && { title }), ...extra };
}

/** A nominal encoding of `field` mapping `domain` to `range` (colors, dashes), untitled. */
export function nominalScale(
  field: string,
  domain: readonly unknown[],
  range: readonly unknown[],
  extra: Fragment = {},
): Fragment {
  return { field, type: "nominal", title: null, scale: { domain, range }, ...extra };
}

/** A rule layer at each value on `axis` ("x" vertical, "y" horizontal) with mark options. */
export function ruleLayer(axis: "x" | "y", values: readonly number[], mark: Fragment): Fragment {
  return {
    data: { values: values.map((v) => ({ v })) },
    mark: { type: "rule", ...mark },
    encoding: { [axis]: { field: "v", type: "quantitative" } },
  };
}

/**
 * Horizontal bars of `rows[valueField]` per `rows[nameField]`, each labelled with its value
 * (3 significant digits), in row order, with optional layers drawn on top (e.g. a rule at 1).
 */
export function labelledBars(
  rows: readonly Fragment[],
  options: { name?: string; value?: string; color: string; xTitle: string; labelLimit?: number },
  ...extra: Fragment[]
): Fragment {
  const name = options.name ?? "name";
  const value = options.value ?? "value";
  const y = { field: name, type: "nominal", sort: null };
  return {
    layer: [
      {
        data: { values: rows },
        mark: { type: "bar", color: options.color },
        encoding: {
          y: { ...y, title: null, axis: { labelLimit: options.labelLimit ?? 260 } },
          x: quant(value, options.xTitle),
        },
      },
      {
        data: { values: rows },
        mark: { type: "text", align: "left", dx: 3, fontSize: 10 },
        encoding: { y, x: quant(value), text: quant(value, undefined, { format: ".3~g" }) },
      },
      ...extra,
    ],
  };
}

/** One aggregated point: a mean with the bounds of its bar (±std or a confidence interval). */
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
  /** Dashed horizontal rules at these y values (e.g. 0 for gaps). */
  rules?: readonly number[];
  /** A fixed y domain; marks are clipped to it. */
  yDomain?: readonly [number, number];
}

/**
 * A 420×200 layer: gray seed points, a colored mean line with interval bars, optional
 * dashed rules.
 */
export function proportionPanel(options: ProportionPanelOptions) {
  const { x, color } = options;
  const scale = options.yDomain ? { domain: options.yDomain } : { zero: false };
  const clip = options.yDomain !== undefined;
  return {
    width: 420,
    height: 200,
    layer: [
      ...(options.rules && options.rules.length > 0
        ? [ruleLayer("y", options.rules, { color: "#999999", strokeDash: [4, 3] })]
        : []),
      {
        data: { values: options.seeds },
        mark: { type: "point", color: "#bbbbbb", size: 16, filled: true, clip },
        encoding: { x, y: { field: options.seedField, type: "quantitative" } },
      },
      {
        data: { values: options.points },
        layer: [
          {
            mark: { type: "rule", color, clip },
            encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
          },
          {
            mark: { type: "line", color, point: { color, size: 40 }, clip },
            encoding: {
              x,
              y: { field: "mean", type: "quantitative", title: options.yTitle, scale },
            },
          },
        ],
      },
    ],
  };
}
