import assert from "node:assert/strict";
import { join } from "node:path";
import { buildReport, writeReport } from "../../reports/build.ts";
import { captionFor, FIGURE_ORDER } from "../../reports/captions.ts";
import { chooseFigures, findFigureFolders, scaleRank } from "../../reports/discover.ts";
import { anchorId, escapeHtml, scriptJson } from "../../reports/html.ts";
import { csvAggregateTables, formatNumber, summaryBlocks } from "../../reports/numbers.ts";
import { checksTable } from "../../reports/checks_view.ts";
import { readVendorScripts, scriptSafe, VendorError } from "../../reports/vendor.ts";
import { writeFigure } from "./_fixtures.ts";

/** Two roots: smoke results of fig1, fig4a and an unknown figure; a small fig1 elsewhere. */
async function fixtureRoots(base: string) {
  const ci = join(base, "results", "ci");
  const small = join(base, "results", "small");
  await writeFigure({ root: ci, name: "fig1", scale: "smoke" });
  await writeFigure({ root: ci, name: "fig4a", scale: "smoke", summary: { sgdSettled: true } });
  await writeFigure({ root: ci, name: "newfig", scale: "custom" });
  await writeFigure({ root: small, name: "fig1", scale: "small" });
  // Not figures: a sweep store and a folder whose manifest is broken.
  await Deno.mkdir(join(ci, "sweep", "states"), { recursive: true });
  await Deno.writeTextFile(join(ci, "sweep", "manifest.json"), "{}");
  await Deno.mkdir(join(ci, "broken"), { recursive: true });
  await Deno.writeTextFile(join(ci, "broken", "manifest.json"), '{"figure": "x"}');
  return { ci, small, root: join(base, "results") };
}

/** `src`/`href` attribute values of the page outside its script elements. */
function references(html: string): string[] {
  const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, "<script></script>");
  return [...markup.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
}

Deno.test("discovery finds figure folders at any depth, skips the sweep store, reports bad manifests", async () => {
  const base = await Deno.makeTempDir();
  try {
    const { root } = await fixtureRoots(base);
    const found = await findFigureFolders([root, join(base, "absent")]);
    assert.deepEqual(
      found.folders.map((f) => `${f.manifest.figure}:${f.manifest.scale}`),
      ["fig1:smoke", "fig4a:smoke", "newfig:custom", "fig1:small"],
    );
    assert.equal(found.problems.length, 1);
    assert.match(found.problems[0], /broken[/\\]manifest\.json: not a figure manifest/);
    assert.deepEqual(found.missingRoots, [join(base, "absent")]);
    const chosen = chooseFigures(found.folders, FIGURE_ORDER);
    assert.deepEqual(chosen.map((c) => [c.figure, c.shown.manifest.scale, c.others.length]), [
      ["fig1", "small", 1],
      ["fig4a", "smoke", 0],
      ["newfig", "custom", 0],
    ]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("paper scales outrank small, small outranks smoke", () => {
  assert.ok(scaleRank("paper") > scaleRank("medium"));
  assert.ok(scaleRank("medium") > scaleRank("small"));
  assert.equal(scaleRank("paper-c100"), scaleRank("paper"));
  assert.ok(scaleRank("small") > scaleRank("smoke"));
  assert.ok(scaleRank("smoke") > scaleRank("custom"));
});

Deno.test("the page has every figure, inlines the libraries and references nothing external", async () => {
  const base = await Deno.makeTempDir();
  try {
    const { ci } = await fixtureRoots(base);
    await Deno.remove(join(ci, "newfig", "figure.svg")); // then the PNG is the static image
    const report = await buildReport({ roots: [ci] });
    const { html } = report;
    for (const figure of ["fig1", "fig4a", "newfig"]) {
      assert.ok(html.includes(`id="${anchorId(figure)}"`), `section of ${figure}`);
      assert.ok(html.includes(`id="${anchorId(figure)}-spec"`), `spec of ${figure}`);
    }
    const vendor = await readVendorScripts();
    assert.deepEqual(vendor.map((v) => v.name), ["vega", "vega-lite", "vega-embed"]);
    for (const v of vendor) {
      assert.ok(v.code.length > 50_000, `${v.name} is the real build`);
      assert.ok(html.includes(`data-library="${v.name}@${v.version}"`), v.name);
      assert.ok(html.includes(v.code.slice(0, 2000)), `${v.name} inlined`);
    }
    assert.doesNotMatch(html, /<script[^>]*\ssrc=/, "no script is loaded from a file or URL");
    assert.doesNotMatch(html, /<link[^>]*rel="stylesheet"/);
    const refs = references(html);
    assert.ok(refs.length > 10);
    for (const ref of refs) {
      assert.ok(
        ref.startsWith("data:") || ref.startsWith("#") || ref.startsWith("figures/"),
        `reference ${ref.slice(0, 60)} is local`,
      );
    }
    // Static renderings for readers without JavaScript.
    const images = (type: string) =>
      (html.match(
        new RegExp(`<img class="chart-static"[^>]*src="data:image/${type};base64,`, "g"),
      ) ??
        []).length;
    assert.equal(images("svg\\+xml"), 2);
    assert.equal(images("png"), 1);
    // Numbers and provenance.
    assert.ok(html.includes("finalTestError.SGD"));
    assert.ok(html.includes(">24.41<"), "summary numbers are formatted");
    assert.ok(html.includes(">1.235<"), "the mean row of data.csv");
    assert.ok(html.includes("data.csv rows of kind &quot;fit&quot;"), "small kinds are shown");
    assert.match(html, /2 rows of kind “run”/);
    const manifest = report.figures[0].shown.manifest;
    assert.ok(html.includes(manifest.configHash));
    assert.ok(html.includes("224 planned, 272 if every run trained alone, 100 spent"));
    assert.ok(html.includes("sgd:3,sam:1"), "the runs table");
    assert.ok(html.includes("2026-01-02T03:04:05.000Z"));
    assert.ok(html.includes("none (a synthetic problem)"));
    // Scale: no paper-scale result here, and the page says so.
    assert.match(html, /No paper-scale result was found/);
    assert.match(html, /<span class="badge">smoke<\/span> Smoke scale/);
    assert.match(html, /No caption has been written for &quot;newfig&quot;/);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("the same results give the same page bytes; links point to copied files", async () => {
  const base = await Deno.makeTempDir();
  try {
    const { ci, small } = await fixtureRoots(base);
    const a = await buildReport({ roots: [ci, small] });
    const b = await buildReport({ roots: [ci, small] });
    assert.equal(a.html, b.html);
    assert.deepEqual([...a.files.keys()], [...b.files.keys()]);
    const dest = join(base, "site");
    await Deno.mkdir(join(dest, "figures", "gone"), { recursive: true });
    await Deno.writeTextFile(join(dest, "figures", "gone", "manifest.json"), "{}");
    const index = await writeReport(a, dest);
    assert.equal(await Deno.readTextFile(index), a.html);
    for (const ref of references(a.html).filter((r) => r.startsWith("figures/"))) {
      await Deno.stat(join(dest, ref)); // throws when a link is broken
    }
    const config = JSON.parse(
      await Deno.readTextFile(join(dest, "figures", "fig1", "config.json")),
    );
    assert.equal(config.epochs, 4);
    await assert.rejects(Deno.stat(join(dest, "figures", "gone")), "stale copies are removed");
    // The small fig1 is shown; the smoke one is mentioned.
    assert.match(a.html, /<span class="badge">small<\/span>/);
    assert.match(a.html, /Also found: smoke scale in <code>[^<]*ci[/\\]fig1<\/code>/);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("deno task report writes the page and says which figures it shows", async () => {
  const base = await Deno.makeTempDir();
  try {
    const { ci } = await fixtureRoots(base);
    const dest = join(base, "site");
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../../reports/build.ts", import.meta.url).pathname, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const out = await run(["--out", ci, "--dest", dest]);
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /wrote .*index\.html with 3 figures/);
    assert.match(stdout, /fig1: smoke scale from/);
    assert.match(new TextDecoder().decode(out.stderr), /skipped .*broken/);
    const empty = await run(["--out", join(base, "nothing"), "--dest", dest]);
    assert.equal(empty.code, 2);
    assert.match(new TextDecoder().decode(empty.stderr), /no figure results under/);
    const help = await run(["--help"]);
    assert.match(new TextDecoder().decode(help.stdout), /--dest DIR/);
    // Without --dest the report goes under the (first) result root, not into the source tree.
    const own = await run(["--out", ci]);
    assert.equal(own.code, 0, new TextDecoder().decode(own.stderr));
    await Deno.stat(join(ci, "report", "index.html"));
    await Deno.stat(join(ci, "report", "figures", "fig1", "manifest.json"));
    // The copies under report/ are not found as figures when the root is read again.
    const again = await findFigureFolders([ci]);
    assert.ok(again.folders.every((f) => !f.dir.includes(join("report", "figures"))));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("numbers: formatting, CSV aggregates and flattened summaries", () => {
  assert.equal(formatNumber(24.4140625), "24.41");
  assert.equal(formatNumber(0.000123456), "0.0001235");
  assert.equal(formatNumber(1e-10), "1e-10");
  assert.equal(formatNumber(272), "272");
  const csv = "kind,x,y,unused\nrun,0,1,\nmean,0.5,2,\n" +
    Array.from({ length: 40 }, (_, i) => `step,${i},0,`).join("\n") + "\nfit,1,,\n";
  const { tables, omitted } = csvAggregateTables(csv);
  assert.deepEqual(tables.map((t) => t.caption), [
    'data.csv rows of kind "mean"',
    'data.csv rows of kind "fit"',
  ]);
  assert.deepEqual(tables[0].columns, ["x", "y"], "empty columns and kind are dropped");
  assert.deepEqual(tables[1].columns, ["x"]);
  assert.deepEqual(omitted, [{ kind: "run", rows: 1 }, { kind: "step", rows: 40 }]);
  const capped = csvAggregateTables("kind,x\n" + "mean,1\n".repeat(5), { maxRows: 2 });
  assert.equal(capped.tables[0].rows.length, 2);
  assert.match(capped.tables[0].note!, /first 2 of 5 rows/);
  assert.equal(csvAggregateTables("a,b\n1,2\n").tables[0].caption, "data.csv");

  const blocks = summaryBlocks({
    a: 1.23456,
    none: null,
    nested: { b: true, c: [1, 2] },
    list: [{ p: 0, q: "x" }, { p: 1, r: 2 }],
    table: "line 1\nline 2",
    gradientEvaluations: { planned: 1 },
  });
  assert.equal(blocks.length, 3);
  const [head, list, text] = blocks;
  assert.ok(head.kind === "table" && list.kind === "table" && text.kind === "text");
  assert.deepEqual(head.table.rows.map((r) => r.map((c) => c.text)), [
    ["a", "1.235"],
    ["none", "—"],
    ["nested.b", "yes"],
    ["nested.c", "1, 2"],
  ]);
  assert.deepEqual(list.table.columns, ["p", "q", "r"]);
  assert.equal(text.text, "line 1\nline 2");
});

Deno.test("captions: written ones use the config; others fall back to the chart title", () => {
  const fig3 = captionFor("fig3", {
    model: "cnn",
    dataset: "fashion-mnist",
    trainSize: 512,
    testSize: 0,
    epochs: 4,
    switches: [3, 2],
    seeds: [0, 1],
    sharpness: { k: 2, iterations: 8, examples: 256, epsilon: 0.01, bnMode: "train" },
  });
  assert.match(fig3.ran, /cnn on fashion-mnist \(512 training \/ all test images/);
  assert.match(fig3.ran, /t ∈ \{0, 2, 3, 4\} of T = 4/);
  assert.match(fig3.ran, /2 seeds \(0, 1\)/);
  assert.match(fig3.ran, /first 256 training images/);
  assert.doesNotMatch(fig3.ran, /BatchNorm/, "the cnn has no BatchNorm");
  const wrn = captionFor("fig3", { model: "wrn16-8", sharpness: { bnMode: "train" } });
  assert.match(wrn.ran, /train-mode BatchNorm/);
  assert.ok(fig3.deviations.some((d) => /switch points are not available/.test(d)));
  for (const name of FIGURE_ORDER) {
    const c = captionFor(name, {});
    assert.ok(c.paper.length > 40 && !/No caption/.test(c.paper), name);
  }
  const other = captionFor("zzz", {}, { title: { text: "Zed", subtitle: ["one", "two"] } });
  assert.equal(other.title, "Zed");
  assert.equal(other.ran, "one two");
});

Deno.test("html escaping: text, attributes, inline JSON and inlined scripts", () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
  const json = scriptJson({ s: "</script><!-- \u2028" });
  assert.ok(!json.includes("<"));
  assert.deepEqual(JSON.parse(json), { s: "</script><!-- \u2028" });
  assert.equal(scriptSafe('x = "</script>";'), 'x = "<\\/script>";');
  assert.throws(() => scriptSafe("a <!-- b"), VendorError);
});

Deno.test("checks table: each claim with its verdict in words; none for figures without checks", () => {
  const csv = [
    "kind,label,proportion,n,quantity,mean,lo,hi",
    "paired,ST,0,3,robust_gap,40,35,45",
    "paired,ST→AT at 3,0.25,3,robust_gain,-5,-8,-2",
    "paired,ST→AT at 3,0.25,3,robust_recovered,0.4,-Infinity,Infinity",
  ].join("\n");
  const table = checksTable("fig6", csv)!;
  assert.deepEqual(table.columns, ["claim", "verdict", "measured"]);
  assert.deepEqual(table.rows.map((r) => r[1].text), [
    "shown",
    "contradicted",
    "not resolved at this scale",
  ]);
  assert.match(
    table.rows[0][2].text,
    /= 40\.0 \[35\.0, 45\.0\] pp \(95 % t-interval, 2 df, n = 3\)/,
  );
  assert.equal(checksTable("train", csv), null);
});
