/**
 * Deterministic chart rendering: Vega-Lite spec → SVG string → PNG bytes.
 *
 * Figures are build artefacts that get hashed and diffed, so the same spec must give the same
 * bytes in every run and every process. Three things would otherwise vary:
 *
 * - Vega's random generator (bootstrap confidence intervals of `errorband`/`errorbar` with
 *   `extent: "ci"`, `sample` transforms) defaults to `Math.random`; it is seeded per render.
 * - Vega numbers SVG clip paths and gradients with process-wide counters; they are reset per
 *   render, so the n-th chart of a process matches the first.
 * - Fonts: the PNG rasteriser loads only DejaVu Sans from the `dejavu-fonts-ttf` package, never
 *   system fonts, and every chart defaults to that family, so text looks the same everywhere.
 *
 * Text widths during layout come from DejaVu Sans's own advance widths (`core/text_metrics.ts`),
 * regular or bold as the text is set, because no canvas package is installed; Vega's fallback
 * (0.8 × font size per character) is about 40 % too wide and left charts narrower than their
 * canvas. The widths are deterministic and ignore kerning, so they err slightly wide.
 *
 * @example
 * ```ts
 * const { svg, png } = await renderChart({
 *   data: { values: [{ x: 0, y: 1 }, { x: 1, y: 3 }] },
 *   mark: "line",
 *   encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
 * });
 * await Deno.writeFile("fig.png", png);
 * ```
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { dejavuMetrics, type FontMetrics, textWidth } from "./text_metrics.ts";

/** A Vega-Lite top-level specification, as accepted by {@linkcode renderSvg}. */
export type ChartSpec = TopLevelSpec;

/** Options for {@linkcode renderSvg}. */
export interface RenderSvgOptions {
  /** Seed for Vega's random generator (bootstrap CIs, sampling). Default 0. */
  seed?: number;
}

/** Options for {@linkcode svgToPng}. */
export interface SvgToPngOptions {
  /** Zoom factor from SVG pixels to PNG pixels. Default 2. */
  scale?: number;
}

/** Options for {@linkcode renderChart}: the union of the SVG and PNG options. */
export interface RenderChartOptions extends RenderSvgOptions, SvgToPngOptions {}

/** Both renderings of one chart. */
export interface RenderedChart {
  /** The SVG document produced by Vega. */
  svg: string;
  /** The SVG rasterised to PNG. */
  png: Uint8Array;
}

/**
 * Raised when a chart cannot be rendered: the spec does not compile or fails in Vega, or a
 * font or WebAssembly file that rendering needs is missing. The message says what to fix.
 */
export class RenderError extends Error {
  /**
   * @param message what went wrong and what to do about it
   * @param options `cause` carries the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RenderError";
  }
}

/** The font family every chart uses unless its own `config` says otherwise. */
const FONT_FAMILY = "DejaVu Sans";

/**
 * Defaults placed *under* the user's `config` (Vega-Lite deep-merges `compile`'s `config`
 * option beneath `spec.config`). `font` reaches marks, axes, legends and titles alike.
 */
const DEFAULT_CONFIG = { font: FONT_FAMILY, background: "white" } as const;

const DEFAULT_SEED = 0;
const DEFAULT_SCALE = 2;

/** Marks Vega-Lite 6 knows (primitive and composite); only used to explain compile errors. */
const KNOWN_MARKS: ReadonlySet<string> = new Set([
  "arc",
  "area",
  "bar",
  "image",
  "line",
  "point",
  "rect",
  "rule",
  "text",
  "tick",
  "trail",
  "circle",
  "square",
  "geoshape",
  "boxplot",
  "errorband",
  "errorbar",
]);

/**
 * Parts of Vega's runtime that its published typings leave out (they exist in
 * `vega-statistics` and `vega-scenegraph`, re-exported by `vega`).
 */
interface VegaRuntimeExtras {
  /** The generator currently in use (a live binding). */
  random: () => number;
  setRandom(generator: () => number): void;
  randomLCG(seed: number): () => number;
  resetSVGDefIds(): void;
  /** Vega's text measurer; `width` is replaced by the font's metrics. */
  textMetrics: { width: (item: TextItem, text?: unknown) => number };
}

/** The fields of a Vega text item that its width depends on. */
interface TextItem {
  text?: unknown;
  fontSize?: number | string;
  fontWeight?: number | string;
  limit?: number;
}
const vegaExtras = vega as unknown as VegaRuntimeExtras;

/**
 * Renders run one at a time: the seeded generator and the id counters are process-global, so
 * two interleaved renders (each awaits the dataflow) would consume each other's draws.
 */
let renderQueue: Promise<unknown> = Promise.resolve();

function serialized<T>(task: () => Promise<T>): Promise<T> {
  const result = renderQueue.then(task);
  renderQueue = result.catch(() => undefined);
  return result;
}

/**
 * A logger that records Vega's failures, which Vega logs instead of throwing: dataflow errors,
 * and data files that fail to load (a warning to Vega, but a chart without its data is wrong).
 * Other warnings stay silent, as with Vega's default logger.
 */
function collectingLogger(failures: string[]): vega.LoggerInterface {
  return vega.logger(vega.Warn, undefined, (method, _level, args) => {
    if (method === "error" || args[0] === "Loading failed") {
      failures.push(args.map(describe).join(" "));
    }
  });
}

/** An error's message without trailing period, so it can be embedded in a sentence. */
function describe(value: unknown): string {
  return (value instanceof Error ? value.message : String(value)).replace(/\.+$/, "");
}

/** Every view of a Vega-Lite spec (walking layers, concats, facets, repeats), with its mark type. */
function* views(spec: unknown): Generator<{ node: Record<string, unknown>; mark: unknown }> {
  if (Array.isArray(spec)) {
    for (const item of spec) yield* views(item);
    return;
  }
  if (spec === null || typeof spec !== "object") return;
  const node = spec as Record<string, unknown>;
  const mark = node.mark;
  yield {
    node,
    mark: mark !== null && typeof mark === "object" ? (mark as { type?: unknown }).type : mark,
  };
  for (const key of ["layer", "concat", "hconcat", "vconcat", "spec"]) {
    if (key in node) yield* views(node[key]);
  }
}

/** Mark types in `spec` that Vega-Lite lacks. */
function unknownMarks(spec: unknown): Set<string> {
  const found = new Set<string>();
  for (const { mark } of views(spec)) {
    if (typeof mark === "string" && !KNOWN_MARKS.has(mark)) found.add(mark);
  }
  return found;
}

const COLOR_CHANNELS = ["color", "fill", "stroke"] as const;

/**
 * Fields that colour non-text marks anywhere in a Vega-Lite spec (text marks explain their own
 * colour).
 */
export function colorFields(spec: unknown): Set<string> {
  const found = new Set<string>();
  for (const { node, mark } of views(spec)) {
    const encoding = node.encoding as Record<string, { field?: unknown }> | undefined;
    if (mark === undefined || mark === null || mark === "text" || !encoding) continue;
    for (const channel of COLOR_CHANNELS) {
      const field = encoding[channel]?.field;
      if (typeof field === "string") found.add(field);
    }
  }
  return found;
}

/** Whether a compiled Vega spec draws a legend anywhere (top level or inside a group). */
function hasLegend(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(hasLegend);
  if (node === null || typeof node !== "object") return false;
  const group = node as Record<string, unknown>;
  return (Array.isArray(group.legends) && group.legends.length > 0) ||
    (Array.isArray(group.marks) && group.marks.some(hasLegend));
}

function compileSpec(spec: ChartSpec): vega.Spec {
  let compiled: vega.Spec;
  try {
    compiled = compile(spec, { config: DEFAULT_CONFIG }).spec;
  } catch (error) {
    // Vega-Lite reports an unknown mark as a TypeError deep in its normaliser; name the mark.
    const marks = [...unknownMarks(spec)].map((m) => `"${m}"`);
    const message = marks.length > 0
      ? `Chart spec uses unknown mark type ${marks.join(", ")}; expected one of ` +
        `${[...KNOWN_MARKS].join(", ")} (Vega-Lite: ${describe(error)}).`
      : `Vega-Lite could not compile the chart spec: ${describe(error)}.`;
    throw new RenderError(message, { cause: error });
  }
  // Vega-Lite merges the legends of layers that colour by the same field, so one layer's
  // `legend: null` silently removes the key for all of them: a chart whose colours mean
  // something must say what.
  const fields = colorFields(spec);
  if (fields.size > 0 && !hasLegend(compiled)) {
    throw new RenderError(
      `Chart colours marks by ${[...fields].map((f) => `"${f}"`).join(", ")} but draws no ` +
        `legend (a \`legend: null\` on one layer hides the merged legend of all layers).`,
    );
  }
  return compiled;
}

/**
 * Renders a Vega-Lite spec to an SVG document, byte-identical across runs and processes.
 *
 * A default config (font "DejaVu Sans", white background) sits under the spec's own `config`,
 * so charts use the font {@linkcode svgToPng} embeds unless they choose otherwise.
 *
 * @param spec the Vega-Lite spec; data must be inline or loadable from this process
 * @param options `seed` for Vega's random generator (default 0)
 * @returns the SVG markup
 * @throws {RenderError} if the spec does not compile or Vega reports an error while running it
 */
export async function renderSvg(
  spec: ChartSpec,
  options: RenderSvgOptions = {},
): Promise<string> {
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  await useFontMetrics();
  return await serialized(async () => {
    const vgSpec = compileSpec(spec);
    let runtime: vega.Runtime;
    try {
      runtime = vega.parse(vgSpec);
    } catch (error) {
      throw new RenderError(`Vega could not parse the compiled spec: ${describe(error)}`, {
        cause: error,
      });
    }
    const failures: string[] = [];
    const previousRandom = vegaExtras.random;
    // Fresh generator and id counters per render: output must not depend on earlier renders.
    vegaExtras.setRandom(vegaExtras.randomLCG(seed));
    vegaExtras.resetSVGDefIds();
    const view = new vega.View(runtime, { renderer: "none", logger: collectingLogger(failures) });
    try {
      const svg = await view.toSVG();
      if (failures.length > 0) {
        throw new RenderError(`Vega failed while rendering the chart: ${failures.join("; ")}`);
      }
      return svg;
    } finally {
      view.finalize();
      // Other Vega users in this process get their generator back.
      vegaExtras.setRandom(previousRandom);
    }
  });
}

/** Bytes of a file shipped in an npm package, with an actionable error when it is missing. */
async function readPackageFile(specifier: string, what: string): Promise<Uint8Array> {
  const packageName = specifier.startsWith("@")
    ? specifier.split("/").slice(0, 2).join("/")
    : specifier.split("/")[0];
  try {
    // Resolve through Node's algorithm so the file comes from the project's node_modules.
    const path = createRequire(import.meta.url).resolve(specifier);
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new RenderError(
      `Cannot load ${what} (${specifier}): ${describe(error)}. It is provided by the npm ` +
        `package "${packageName}" (listed in deno.json); run \`deno install\` to fetch it.`,
      { cause: error },
    );
  }
}

/** Resvg's wasm must be initialised exactly once per process; concurrent callers share this. */
let wasmReady: Promise<void> | undefined;

function ensureWasm(): Promise<void> {
  wasmReady ??= readPackageFile("@resvg/resvg-wasm/index_bg.wasm", "the resvg WebAssembly module")
    .then((bytes) => initWasm(bytes))
    .catch((error) => {
      // Another module of this process may have initialised resvg first; that is fine.
      if (describe(error).startsWith("Already initialized")) return;
      wasmReady = undefined; // let a later call retry, e.g. after `deno install`
      throw error;
    });
  return wasmReady;
}

let fontMetrics: Promise<void> | undefined;

/** Makes Vega measure text with DejaVu Sans's advance widths (regular, or bold when set so). */
function useFontMetrics(): Promise<void> {
  fontMetrics ??= loadFonts().then(() => {
    const fonts: [FontMetrics, FontMetrics] = [dejavuMetrics(false), dejavuMetrics(true)];
    vegaExtras.textMetrics.width = (item, line) => {
      const size = item.fontSize != null ? +item.fontSize || 0 : 11;
      const weight = item.fontWeight;
      const isBold = weight === "bold" || weight === "bolder" || Number(weight) >= 600;
      const text = line == null ? "" : String(line).trim();
      const width = textWidth(fonts[isBold ? 1 : 0], text, size);
      return item.limit !== undefined && item.limit > 0 ? Math.min(width, item.limit) : width;
    };
  });
  return fontMetrics;
}

/** Regular for labels, bold for titles (Vega's default title weight). */
let fontBuffers: Promise<Uint8Array[]> | undefined;

function loadFonts(): Promise<Uint8Array[]> {
  fontBuffers ??= Promise.all([
    readPackageFile("dejavu-fonts-ttf/ttf/DejaVuSans.ttf", "the DejaVu Sans font"),
    readPackageFile("dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf", "the DejaVu Sans Bold font"),
  ]).catch((error) => {
    fontBuffers = undefined;
    throw error;
  });
  return fontBuffers;
}

/**
 * Rasterises an SVG document to PNG with resvg, using only the bundled DejaVu Sans fonts
 * (system fonts are never consulted, so the output does not depend on the machine).
 *
 * @param svg SVG markup, typically from {@linkcode renderSvg}
 * @param options `scale`: PNG pixels per SVG pixel (default 2)
 * @returns the PNG file bytes; its size is the SVG's size times `scale`, rounded by resvg
 * @throws {RenderError} if the wasm module or a font file is missing, or the SVG is invalid
 */
export async function svgToPng(svg: string, options: SvgToPngOptions = {}): Promise<Uint8Array> {
  const scale = options.scale ?? DEFAULT_SCALE;
  if (!(Number.isFinite(scale) && scale > 0)) {
    throw new RangeError(`scale must be a positive number, got ${scale}`);
  }
  const [, fonts] = await Promise.all([ensureWasm(), loadFonts()]);
  let resvg: InstanceType<typeof Resvg> | undefined;
  try {
    resvg = new Resvg(svg, {
      font: {
        fontBuffers: fonts,
        loadSystemFonts: false, // wasm has none anyway; say so, so output never depends on them
        defaultFontFamily: FONT_FAMILY,
        sansSerifFamily: FONT_FAMILY,
      },
      fitTo: { mode: "zoom", value: scale },
      background: "white",
    });
  } catch (error) {
    throw new RenderError(`resvg could not read the SVG: ${describe(error)}`, { cause: error });
  }
  try {
    const image = resvg.render();
    try {
      return image.asPng();
    } finally {
      image.free(); // wasm memory is not garbage-collected
    }
  } finally {
    resvg.free();
  }
}

/**
 * Renders a Vega-Lite spec to both SVG and PNG.
 *
 * @param spec the Vega-Lite spec
 * @param options `seed` (default 0) and `scale` (default 2), as for {@linkcode renderSvg} and
 *   {@linkcode svgToPng}
 * @returns the SVG markup and the PNG bytes
 * @throws {RenderError} as {@linkcode renderSvg} and {@linkcode svgToPng} do
 */
export async function renderChart(
  spec: ChartSpec,
  options: RenderChartOptions = {},
): Promise<RenderedChart> {
  const svg = await renderSvg(spec, { seed: options.seed });
  const png = await svgToPng(svg, { scale: options.scale });
  return { svg, png };
}
