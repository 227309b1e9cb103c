/**
 * Text widths from a TrueType font's own advance widths, so chart layout reserves the space
 * the rasterised text really takes (Vega's fallback without a canvas guesses 0.8 × font size
 * per character, about 40 % too wide for DejaVu Sans, which pushed legends far right of the
 * plots). Kerning is ignored, so widths err slightly wide, never narrow.
 *
 * @module
 */
import { createRequire } from "node:module";

/** Horizontal metrics of one font. */
export interface FontMetrics {
  /** Font design units per em. */
  unitsPerEm: number;
  /** Advance width of a Unicode code point, in font units (the missing glyph's for unmapped). */
  advance(codePoint: number): number;
}

/** Reads `head`, `hhea`, `hmtx` and the Unicode BMP `cmap` (format 4) of a TrueType font. */
export function parseFontMetrics(ttf: Uint8Array): FontMetrics {
  const view = new DataView(ttf.buffer, ttf.byteOffset, ttf.byteLength);
  const tables = new Map<string, number>();
  for (let i = 0; i < view.getUint16(4); i++) {
    const record = 12 + 16 * i;
    const tag = String.fromCharCode(...ttf.subarray(record, record + 4));
    tables.set(tag, view.getUint32(record + 8));
  }
  const table = (tag: string) => {
    const offset = tables.get(tag);
    if (offset === undefined) throw new Error(`font has no ${tag} table`);
    return offset;
  };
  const unitsPerEm = view.getUint16(table("head") + 18);
  const numberOfHMetrics = view.getUint16(table("hhea") + 34);
  const hmtx = table("hmtx");
  const glyphAdvance = (glyph: number) =>
    view.getUint16(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1));
  const glyphOf = cmapFormat4(view, table("cmap"));
  const cache = new Map<number, number>();
  return {
    unitsPerEm,
    advance(codePoint) {
      let width = cache.get(codePoint);
      if (width === undefined) {
        width = glyphAdvance(codePoint > 0xffff ? 0 : glyphOf(codePoint));
        cache.set(codePoint, width);
      }
      return width;
    },
  };
}

/** The glyph lookup of the Windows Unicode BMP subtable (platform 3, encoding 1, format 4). */
function cmapFormat4(view: DataView, cmap: number): (codePoint: number) => number {
  let sub = -1;
  for (let i = 0; i < view.getUint16(cmap + 2); i++) {
    const record = cmap + 4 + 8 * i;
    const offset = cmap + view.getUint32(record + 4);
    if (
      view.getUint16(record) === 3 && view.getUint16(record + 2) === 1 &&
      view.getUint16(offset) === 4
    ) sub = offset;
  }
  if (sub < 0) throw new Error("font has no Unicode BMP (3, 1, format 4) cmap");
  const segments = view.getUint16(sub + 6) / 2;
  const ends = sub + 14;
  const starts = ends + 2 * segments + 2;
  const deltas = starts + 2 * segments;
  const rangeOffsets = deltas + 2 * segments;
  return (c) => {
    for (let i = 0; i < segments; i++) {
      if (view.getUint16(ends + 2 * i) < c) continue;
      const start = view.getUint16(starts + 2 * i);
      if (start > c) return 0;
      const delta = view.getUint16(deltas + 2 * i);
      const rangeOffset = view.getUint16(rangeOffsets + 2 * i);
      if (rangeOffset === 0) return (c + delta) & 0xffff;
      const glyph = view.getUint16(rangeOffsets + 2 * i + rangeOffset + 2 * (c - start));
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };
}

/** Width in pixels of `text` set in a font of `metrics` at `fontSize` pixels. */
export function textWidth(metrics: FontMetrics, text: string, fontSize: number): number {
  let units = 0;
  for (const ch of text) units += metrics.advance(ch.codePointAt(0)!);
  return (units * fontSize) / metrics.unitsPerEm;
}

const dejavu = new Map<boolean, FontMetrics>();

/**
 * The metrics of the charts' font, DejaVu Sans (bold or regular), read once from the
 * `dejavu-fonts-ttf` package.
 */
export function dejavuMetrics(bold = false): FontMetrics {
  let metrics = dejavu.get(bold);
  if (metrics === undefined) {
    const file = `dejavu-fonts-ttf/ttf/DejaVuSans${bold ? "-Bold" : ""}.ttf`;
    metrics = parseFontMetrics(Deno.readFileSync(createRequire(import.meta.url).resolve(file)));
    dejavu.set(bold, metrics);
  }
  return metrics;
}

/**
 * Breaks `text` at spaces into lines at most `maxWidth` pixels wide in DejaVu Sans at
 * `fontSize` (a single word wider than that stays whole on its own line).
 */
export function wrapText(
  text: string,
  maxWidth: number,
  options: { fontSize: number; bold?: boolean },
): string[] {
  const metrics = dejavuMetrics(options.bold);
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const candidate = line === "" ? word : `${line} ${word}`;
    if (line !== "" && textWidth(metrics, candidate, options.fontSize) > maxWidth) {
      lines.push(line);
      line = word;
    } else line = candidate;
  }
  lines.push(line);
  return lines;
}
