import assert from "node:assert/strict";
import {
  type ChartSpec,
  colorFields,
  renderChart,
  RenderError,
  renderSvg,
  svgToPng,
} from "../../core/render.ts";

// Small charts keep rasterisation fast; the data are fixed so every render sees the same input:
// 8 epochs × 10 runs, with hash-like jitter so bootstrap intervals depend on the draws.
const points = Array.from({ length: 80 }, (_, i) => ({
  epoch: i % 8,
  run: Math.floor(i / 8),
  loss: 1 / (1 + (i % 8)) + 0.01 * ((i * 7919) % 37),
}));

/** A line over a bootstrap-CI error band: the band uses Vega's random generator. */
function bandChart(title = "loss vs epoch"): ChartSpec {
  return {
    title,
    width: 120,
    height: 80,
    data: { values: points },
    encoding: { x: { field: "epoch", type: "quantitative" } },
    layer: [
      {
        mark: { type: "errorband", extent: "ci" },
        encoding: { y: { field: "loss", type: "quantitative" } },
      },
      // clip: true makes Vega emit a clip path, whose id comes from a process-wide counter.
      {
        mark: { type: "line", clip: true },
        encoding: { y: { aggregate: "mean", field: "loss", type: "quantitative" } },
      },
    ],
  };
}

/**
 * A single line; `strokeOpacity` 0 hides it. Clipping keeps the layout identical: Vega's autosize
 * counts a visible stroke's overhang past the plot edge but skips an invisible one.
 */
function lineChart(strokeOpacity = 1): ChartSpec {
  return {
    width: 120,
    height: 80,
    data: { values: points },
    mark: { type: "line", strokeOpacity, clip: true },
    encoding: {
      x: { field: "epoch", type: "quantitative" },
      y: { aggregate: "mean", field: "loss", type: "quantitative" },
    },
  };
}

function svgSize(svg: string): { width: number; height: number } {
  const match = svg.match(/^<svg[^>]* width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/);
  assert.ok(match, "SVG root has width and height");
  return { width: Number(match[1]), height: Number(match[2]) };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from the IHDR chunk, which the PNG format requires to come first. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
  assert.equal(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

async function rejectsWithRenderError(run: () => Promise<unknown>, pattern: RegExp) {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof RenderError, `expected RenderError, got ${error}`);
    assert.equal(error.name, "RenderError");
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("two renders of the same spec give byte-identical SVG", async () => {
  const first = await renderSvg(bandChart());
  const second = await renderSvg(bandChart());
  assert.equal(second, first);
  // The clip-path id restarts per render instead of counting up through the process.
  assert.match(first, /clip-path="url\(#clip1\)"/);
});

Deno.test("the seed drives Vega's random draws (bootstrap CI band changes)", async () => {
  const seed0 = await renderSvg(bandChart(), { seed: 0 });
  assert.equal(await renderSvg(bandChart()), seed0, "default seed is 0");
  assert.notEqual(await renderSvg(bandChart(), { seed: 1 }), seed0);
});

Deno.test("concurrent renders match sequential ones", async () => {
  const sequential = [await renderSvg(bandChart(), { seed: 3 }), await renderSvg(lineChart())];
  const concurrent = await Promise.all([
    renderSvg(bandChart(), { seed: 3 }),
    renderSvg(lineChart()),
  ]);
  assert.deepEqual(concurrent, sequential);
});

Deno.test("SVG contains mark paths, the title and the default font and background", async () => {
  const svg = await renderSvg(bandChart("Loss curve"));
  assert.match(svg, /^<svg /);
  assert.match(svg, /class="mark-line role-mark[^"]*"/);
  assert.match(svg, /class="mark-area role-mark[^"]*"/);
  assert.match(svg, /<path [^>]*d="M[\d.]+,[\d.]+L/, "line mark has path data");
  assert.match(svg, />Loss curve<\/text>/);
  assert.match(svg, /font-family="DejaVu Sans"/);
  assert.doesNotMatch(svg, /font-family="(?!DejaVu Sans")/, "every text uses DejaVu Sans");
  assert.match(svg, /<rect width="\d+" height="\d+" fill="white"\/>/);
});

Deno.test("the spec's own config overrides the default font", async () => {
  const svg = await renderSvg({ ...bandChart(), config: { font: "DejaVu Serif" } });
  assert.match(svg, /font-family="DejaVu Serif"/);
  assert.doesNotMatch(svg, /font-family="DejaVu Sans"/);
});

Deno.test("PNG has the PNG signature and the SVG size times the scale", async () => {
  const svg = await renderSvg(lineChart());
  const size = svgSize(svg);
  assert.deepEqual(pngSize(await svgToPng(svg)), {
    width: size.width * 2,
    height: size.height * 2,
  }, "default scale is 2");
  assert.deepEqual(pngSize(await svgToPng(svg, { scale: 1 })), size);
});

Deno.test("two PNG renders are byte-identical", async () => {
  const first = await renderChart(bandChart());
  const second = await renderChart(bandChart());
  assert.equal(second.svg, first.svg);
  assert.deepEqual(second.png, first.png);
  assert.deepEqual(first.png, await svgToPng(first.svg), "renderChart = renderSvg + svgToPng");
});

Deno.test("PNG is not blank: hiding the mark changes the pixels", async () => {
  const visible = await renderChart(lineChart(1));
  const hidden = await renderChart(lineChart(0));
  // Same layout, so same image size; only the line's pixels differ.
  assert.deepEqual(pngSize(visible.png), pngSize(hidden.png));
  assert.notDeepEqual(visible.png, hidden.png);
  const white = await svgToPng(
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
  );
  assert.ok(white.length < hidden.png.length, "axes and labels add to a blank canvas");
});

Deno.test("an unknown mark type throws RenderError naming the mark", async () => {
  await rejectsWithRenderError(
    () => renderSvg({ ...lineChart(), mark: "sparkline" } as unknown as ChartSpec),
    /unknown mark type "sparkline".*expected one of .*line/,
  );
  // Also inside a layer, where the mark is given as an object.
  const layered = { ...bandChart(), layer: [{ mark: { type: "lin" } }] } as unknown as ChartSpec;
  await rejectsWithRenderError(() => renderSvg(layered), /unknown mark type "lin"/);
});

Deno.test("a chart coloured by a field must draw a legend; text marks are exempt", async () => {
  const byRun = (areaLegend: unknown) =>
    ({
      width: 120,
      height: 80,
      data: { values: points.map((p) => ({ ...p, group: p.run % 2 ? "odd" : "even" })) },
      encoding: { x: { field: "epoch", type: "quantitative" } },
      layer: [
        {
          mark: { type: "area", opacity: 0.2 },
          encoding: {
            y: { field: "loss", type: "quantitative", aggregate: "min" },
            y2: { field: "loss", aggregate: "max" },
            fill: { field: "group", type: "nominal", legend: areaLegend },
          },
        },
        {
          mark: "line",
          encoding: {
            y: { field: "loss", type: "quantitative", aggregate: "mean" },
            color: { field: "group", type: "nominal" },
          },
        },
      ],
    }) as unknown as ChartSpec;
  assert.deepEqual([...colorFields(byRun(null))], ["group"]);
  await rejectsWithRenderError(() => renderSvg(byRun(null)), /colours marks by "group".*no legend/);
  assert.match(await renderSvg(byRun(undefined)), /role-legend/);
  const text = {
    data: { values: [{ v: "PASS" }] },
    mark: "text",
    encoding: { text: { field: "v" }, color: { field: "v", type: "nominal", legend: null } },
  } as unknown as ChartSpec;
  assert.equal(colorFields(text).size, 0);
  await renderSvg(text);
});

Deno.test("a spec Vega-Lite rejects throws RenderError with Vega-Lite's message", async () => {
  const noMark = { data: { values: points } } as unknown as ChartSpec;
  await rejectsWithRenderError(
    () => renderSvg(noMark),
    /^Vega-Lite could not compile the chart spec: Invalid specification.*"mark"/,
  );
});

Deno.test("a data file that cannot be loaded throws RenderError instead of an empty chart", async () => {
  const spec: ChartSpec = { ...lineChart(), data: { url: "/nonexistent/late-sam/data.csv" } };
  await rejectsWithRenderError(
    () => renderSvg(spec),
    /Loading failed \/nonexistent\/late-sam\/data\.csv/,
  );
});

Deno.test("non-ASCII text (λ_max ≈ →) renders to SVG and PNG", async () => {
  const { svg, png } = await renderChart(bandChart("λ_max ≈ → late SAM"));
  assert.match(svg, /λ_max ≈ → late SAM/);
  assert.ok(png.length > 0);
});

Deno.test("scale and seed are validated", async () => {
  await assert.rejects(() => svgToPng("<svg/>", { scale: 0 }), RangeError);
  await assert.rejects(() => renderSvg(lineChart(), { seed: Number.NaN }), RangeError);
});
