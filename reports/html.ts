/**
 * The report page as one self-contained HTML document: styles, the chart libraries and every
 * chart spec are inline, images are data URLs, and links point to files copied next to the
 * page, so it works offline from a `file:` URL. Pure: the same views give the same bytes.
 *
 * Each chart container holds the static rendering (`figure.svg`, else `figure.png`) for
 * readers without JavaScript; the embedding script replaces it with the interactive Vega
 * chart and records the outcome in `window.lateSamReport` (read by the browser check).
 *
 * @module
 */
import type { Caption } from "./captions.ts";
import { isPaperScale } from "./discover.ts";
import type { Block, Cell, Table } from "./numbers.ts";
import type { VendorScript } from "./vendor.ts";

/** One figure's section. */
export interface FigureView {
  /** Figure name (e.g. `fig3`); also the folder of its copied files. */
  figure: string;
  caption: Caption;
  scale: string;
  scaleNote: string;
  /** The result folder it was read from, for display. */
  source: string;
  /** Other results of the figure that were found but not shown. */
  others: { scale: string; source: string }[];
  /** The Vega-Lite spec, or null when the folder has none. */
  spec: unknown;
  /** The static rendering as a data URL, or null. */
  image: { dataUrl: string; file: string } | null;
  numbers: Block[];
  /** Row kinds of data.csv left out of the numbers. */
  omittedRows: { kind: string; rows: number }[];
  provenance: Table;
  runs: Table | null;
  /** Links to the copied files, relative to the page. */
  links: { label: string; href: string }[];
}

/** The whole page. */
export interface PageView {
  /** Result roots that were searched, for display. */
  roots: string[];
  figures: FigureView[];
  /** Folders with unusable manifests. */
  problems: string[];
  vendor: VendorScript[];
  /** The command that regenerates the page. */
  command: string;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}

/** JSON for a `<script type="application/json">` element (no `<` can close it early). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** An id usable in HTML and CSS selectors for a figure name. */
export function anchorId(figure: string): string {
  return `figure-${figure.toLowerCase().replace(/[^a-z0-9_-]+/g, "-")}`;
}

function renderCell(c: Cell, tag: "td" | "th" = "td"): string {
  const classes = [c.numeric ? "num" : "", c.mono ? "mono" : ""].filter(Boolean).join(" ");
  const cls = classes ? ` class="${classes}"` : "";
  const title = c.title ? ` title="${escapeHtml(c.title)}"` : "";
  return `<${tag}${cls}${title}>${escapeHtml(c.text)}</${tag}>`;
}

/** A table with a caption, header and an optional note. */
export function renderTable(table: Table, options: { className?: string } = {}): string {
  const cls = options.className ? ` class="${options.className}"` : "";
  const head = table.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join("");
  const body = table.rows.map((r) => `<tr>${r.map((c) => renderCell(c)).join("")}</tr>`).join(
    "\n",
  );
  const note = table.note ? `\n<p class="note">${escapeHtml(table.note)}</p>` : "";
  return `<div class="table-wrap"><table${cls}>\n<caption>${
    escapeHtml(table.caption)
  }</caption>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>${note}</div>`;
}

function renderBlock(block: Block): string {
  if (block.kind === "table") return renderTable(block.table);
  return `<figure class="text-block"><figcaption>${escapeHtml(block.caption)}</figcaption><pre>${
    escapeHtml(block.text)
  }</pre></figure>`;
}

function renderFigure(view: FigureView): string {
  const id = anchorId(view.figure);
  const specId = `${id}-spec`;
  const { caption } = view;
  const image = view.image
    ? `<img class="chart-static" alt="${
      escapeHtml(`${caption.title} (static ${view.image.file})`)
    }" src="${view.image.dataUrl}">`
    : `<p class="chart-static note">No static rendering in this result.</p>`;
  const chart = view.spec === null
    ? `<div class="chart no-spec">${image}</div>`
    : `<div class="chart" id="${id}-chart" data-spec="${specId}">${image}` +
      `<div class="chart-live"></div></div>\n` +
      `<script type="application/json" id="${specId}">${scriptJson(view.spec)}</script>`;
  const others = view.others.length === 0
    ? ""
    : `<p class="note">Also found: ${
      view.others.map((o) => `${escapeHtml(o.scale)} scale in <code>${escapeHtml(o.source)}</code>`)
        .join("; ")
    } (not shown: the largest scale is).</p>`;
  const deviations = caption.deviations.length === 0
    ? ""
    : `<p><strong>Where this departs from the paper, and why.</strong></p>\n<ul>\n${
      caption.deviations.map((d) => `<li>${escapeHtml(d)}</li>`).join("\n")
    }\n</ul>`;
  const omitted = view.omittedRows.length === 0
    ? ""
    : `<p class="note">data.csv also holds ${
      view.omittedRows.map((o) => `${o.rows} rows of kind “${escapeHtml(o.kind)}”`).join(", ")
    } (per run, trial or step), left out here.</p>`;
  const numbers = view.numbers.length === 0
    ? `<p class="note">No aggregated numbers recorded.</p>`
    : view.numbers.map(renderBlock).join("\n");
  const links = view.links.map((l) => `<a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a>`)
    .join(" · ");
  const runs = view.runs
    ? `<details><summary>Runs (${view.runs.rows.length})</summary>\n${
      renderTable(view.runs)
    }\n</details>`
    : "";
  return `<section class="figure" id="${id}">
<h2>${escapeHtml(caption.title)}</h2>
<p class="scale scale-${escapeHtml(view.scale.split("-")[0])}"><span class="badge">${
    escapeHtml(view.scale)
  }</span> ${escapeHtml(view.scaleNote)}</p>
${others}
${chart}
<div class="caption">
<p><strong>The paper.</strong> ${escapeHtml(caption.paper)}</p>
<p><strong>What we ran.</strong> ${escapeHtml(caption.ran)}</p>
${deviations}
</div>
<h3>Numbers</h3>
${numbers}
${omitted}
<h3>Provenance</h3>
<p class="files">Files: ${links}</p>
${renderTable(view.provenance, { className: "provenance" })}
${runs}
</section>`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d1d1f; --muted: #5f6368; --line: #d9dce1; --accent: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 "DejaVu Sans", system-ui, sans-serif; color: var(--ink); background: #fafafa; }
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.3em; margin: 0 0 0.4em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
nav ol { columns: 2; padding-left: 1.4em; }
section.figure { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 18px 22px; margin: 22px 0; }
.chart { margin: 10px 0; overflow-x: auto; min-height: 60px; }
.chart img.chart-static { max-width: 100%; height: auto; }
.chart.rendered .chart-static { display: none; }
.chart.failed .chart-live::before { content: "The interactive chart failed to render; the static image is shown."; color: var(--accent); }
.caption p, .caption li { max-width: 80ch; }
.scale { color: var(--muted); }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; background: #e8eaed; color: var(--ink); font-weight: bold; }
.scale-paper .badge { background: #d7f0dc; }
.scale-smoke .badge { background: #fde7c7; }
.note { color: var(--muted); font-size: 0.92em; }
.table-wrap { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; font-size: 0.9em; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono, code, pre { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 0.88em; }
table.provenance td.mono { word-break: break-all; }
pre { background: #f3f4f6; padding: 8px; overflow-x: auto; }
footer { color: var(--muted); padding-bottom: 30px; }
`;

/** The embedding script: renders every chart and records the outcome for checks. */
const EMBED = `
(function () {
  "use strict";
  var state = { charts: 0, rendered: 0, failed: [], done: false };
  window.lateSamReport = state;
  var containers = Array.prototype.slice.call(document.querySelectorAll(".chart[data-spec]"));
  state.charts = containers.length;
  var jobs = containers.map(function (el) {
    var live = el.querySelector(".chart-live");
    return Promise.resolve().then(function () {
      var spec = JSON.parse(document.getElementById(el.getAttribute("data-spec")).textContent);
      return vegaEmbed(live, spec, {
        mode: "vega-lite",
        renderer: "svg",
        actions: false,
        config: { mark: { tooltip: true } }
      });
    }).then(function () {
      el.classList.add("rendered");
      state.rendered += 1;
    }, function (err) {
      el.classList.add("failed");
      state.failed.push(el.id + ": " + (err && err.message ? err.message : String(err)));
      console.error("chart " + el.id + " did not render: " + (err && err.message ? err.message : err));
    });
  });
  Promise.all(jobs).then(function () {
    state.done = true;
    document.documentElement.setAttribute("data-charts", state.failed.length ? "failed" : "rendered");
  });
})();
`;

/** The complete page. */
export function renderPage(page: PageView): string {
  const scales = new Map<string, number>();
  for (const f of page.figures) scales.set(f.scale, (scales.get(f.scale) ?? 0) + 1);
  const scaleText = [...scales].map(([s, n]) => `${escapeHtml(s)} (${n})`).join(", ");
  const hasPaper = page.figures.some((f) => isPaperScale(f.scale));
  const scaleSentence = page.figures.length === 0
    ? "No figure results were found."
    : `Scales shown: ${scaleText}.` + (hasPaper ? "" : " No paper-scale result was found, so " +
      "the numbers below come from reduced settings and are not the paper's; each section " +
      "says which scale it shows.");
  const toc = page.figures.map((f) =>
    `<li><a href="#${anchorId(f.figure)}">${escapeHtml(f.caption.title)}</a> <span class="note">(${
      escapeHtml(f.scale)
    })</span></li>`
  ).join("\n");
  const problems = page.problems.length === 0
    ? ""
    : `<p class="note">Skipped: ${page.problems.map(escapeHtml).join("; ")}</p>`;
  const vendorList = page.vendor.map((v) => `${escapeHtml(v.name)} ${escapeHtml(v.version)}`)
    .join(", ");
  const scripts = page.vendor.map((v) =>
    `<script data-library="${escapeHtml(v.name)}@${escapeHtml(v.version)}">${v.code}</script>`
  ).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>late-sam: reproduction report</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<p class="note">late-sam reproduction report</p>
<h1>Sharpness-Aware Minimization Efficiently Selects Flatter Minima Late in Training</h1>
<p>Each section below is one figure of the paper (or one of this project's checks), read from
the result folders under ${page.roots.map((r) => `<code>${escapeHtml(r)}</code>`).join(", ")}:
the chart, what the paper shows, what was run and where it departs from the paper, the
aggregated numbers, and the provenance of the result (config, seeds, code, data, cost). Every
result can be re-run and compared byte for byte with <code>deno task audit FIGURE</code>.</p>
<p><strong>${scaleSentence}</strong></p>
${problems}
<nav><ol>
${toc}
</ol></nav>
</header>
<main>
${page.figures.map(renderFigure).join("\n")}
</main>
<footer>
<p>Regenerate this page with <code>${escapeHtml(page.command)}</code>. Charts are drawn by
${vendorList}, inlined from the project's npm packages; the page loads nothing from the
network. Without JavaScript each chart shows its static rendering.</p>
</footer>
${scripts}
<script>${EMBED}</script>
</body>
</html>
`;
}
