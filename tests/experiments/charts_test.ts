import assert from "node:assert/strict";
import { renderSvg } from "../../core/render.ts";
import {
  chartTitle,
  figureSpec,
  labelledBars,
  nominalScale,
  proportionPanel,
  quant,
  ruleLayer,
} from "../../experiments/charts.ts";
import { interval } from "../../experiments/switching_chart.ts";

const LONG = "USAM fit (dashed): mean ×2.37/step, typical trial ×1.34/step; linear stability: " +
  "mean ×3.95, typical ×1.55; SAM (Eq. 3) jumps in one step";

Deno.test("chartTitle wraps title and subtitle lines to the width and anchors at the start", () => {
  const t = chartTitle("Short title", [LONG, "second"], 300);
  assert.equal(t.text, "Short title");
  assert.equal(t.anchor, "start");
  assert.ok(t.subtitle.length >= 3 && t.subtitle.at(-1) === "second");
  assert.equal(t.subtitle.slice(0, -1).join(" "), LONG);
  assert.deepEqual(chartTitle("A title").subtitle, undefined);
  assert.ok(Array.isArray(chartTitle(LONG, [], 200).text), "a long title becomes lines");
});

Deno.test("encoding helpers build the plain Vega-Lite objects", () => {
  assert.deepEqual(quant("step", "t", { scale: { type: "log" } }), {
    field: "step",
    type: "quantitative",
    title: "t",
    scale: { type: "log" },
  });
  assert.deepEqual(quant("v"), { field: "v", type: "quantitative" });
  assert.deepEqual(nominalScale("s", ["a"], ["red"]), {
    field: "s",
    type: "nominal",
    title: null,
    scale: { domain: ["a"], range: ["red"] },
  });
  assert.deepEqual(ruleLayer("x", [0, 1], { color: "gray" }).data.values, [{ v: 0 }, { v: 1 }]);
  assert.equal(labelledBars([], { color: "green", xTitle: "x" }, { mark: "rule" }).layer.length, 3);
});

Deno.test("a figure with a long subtitle is no wider than its plot plus axes", async () => {
  const spec = figureSpec({ text: "A figure", subtitle: [LONG, LONG], width: 300 }, {
    width: 300,
    height: 100,
    data: { values: [{ x: 0, y: 1 }, { x: 1, y: 2 }] },
    mark: "line",
    encoding: { x: quant("x", "x"), y: quant("y", "y") },
  });
  const svg = await renderSvg(spec);
  const width = Number(/<svg[^>]*width="([\d.]+)"/.exec(svg)![1]);
  assert.ok(width < 300 + 80, `svg width ${width}`);
});

Deno.test("interval points clamp unbounded bounds to the panel; panels draw rules and clip", () => {
  const p = interval("share", 0.25, { mean: 0.9, lo: -Infinity, hi: Infinity }, [-0.5, 1.5]);
  assert.deepEqual(p, { panel: "share", proportion: 0.25, mean: 0.9, lo: -0.5, hi: 1.5 });
  const one = interval("gap", 0, { mean: 2, lo: NaN, hi: NaN });
  assert.deepEqual([one.lo, one.hi], [2, 2], "no interval: no bar");
  const panel = proportionPanel({
    x: quant("proportion"),
    yTitle: "share",
    seeds: [],
    seedField: "share",
    points: [p],
    color: "red",
    rules: [0, 0.5, 1],
    yDomain: [-0.5, 1.5],
  });
  assert.deepEqual(panel.layer[0].data.values, [{ v: 0 }, { v: 0.5 }, { v: 1 }]);
  assert.equal(panel.layer[2].layer[0].mark.clip, true);
});
