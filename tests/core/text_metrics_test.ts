import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dejavuMetrics, parseFontMetrics, textWidth, wrapText } from "../../core/text_metrics.ts";

const font = (file: string) =>
  Deno.readFileSync(createRequire(import.meta.url).resolve(`dejavu-fonts-ttf/ttf/${file}`));

Deno.test("DejaVu Sans advance widths: known glyphs, bold wider, unmapped as the missing glyph", () => {
  const regular = parseFontMetrics(font("DejaVuSans.ttf"));
  const bold = parseFontMetrics(font("DejaVuSans-Bold.ttf"));
  assert.equal(regular.unitsPerEm, 2048);
  // DejaVu Sans: space 651, "0" 1303, "m" 1995 units (hmtx); bold "m" 2134.
  assert.equal(regular.advance(0x20), 651);
  assert.equal(regular.advance(0x30), 1303);
  assert.equal(regular.advance(0x6d), 1995);
  assert.equal(bold.advance(0x6d), 2134);
  assert.ok(regular.advance(0x3bb) > 0, "λ is mapped");
  assert.equal(regular.advance(0xe000), regular.advance(0x10ffff), "private use → .notdef");
  assert.equal(textWidth(regular, "00", 11), (2 * 1303 * 11) / 2048);
  // About 0.55 em per character of ordinary text: far below Vega's 0.8 em guess.
  const w = textWidth(regular, "Trajectories of trial 0 (gray line: minima v = 0)", 10);
  assert.ok(w > 0.45 * 10 * 49 && w < 0.65 * 10 * 49, String(w));
});

Deno.test("wrapText breaks at spaces to fit a width, keeping over-long words whole", () => {
  const text =
    "USAM fit (dashed): mean ×2.37/step, typical trial ×1.34/step, linear stability ×3.95";
  const lines = wrapText(text, 200, { fontSize: 11 });
  assert.ok(lines.length > 1);
  assert.equal(lines.join(" "), text);
  const regular = dejavuMetrics();
  for (const line of lines) assert.ok(textWidth(regular, line, 11) <= 200, line);
  assert.deepEqual(wrapText("short", 200, { fontSize: 11 }), ["short"]);
  assert.deepEqual(wrapText("a verylongwordthatcannotfit b", 20, { fontSize: 11 }), [
    "a",
    "verylongwordthatcannotfit",
    "b",
  ]);
  assert.ok(dejavuMetrics(true).advance(0x6d) > regular.advance(0x6d));
});
