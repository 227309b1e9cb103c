import assert from "node:assert/strict";
import { join } from "node:path";
import { buildReport, defaultReportDest, writeReport } from "../../reports/build.ts";
import { checkPage, checkProblems, reportCheckMain } from "../../reports/browser_check.ts";
import { findChromium } from "../../reports/cdp.ts";
import { writeFigure } from "./_fixtures.ts";

const CHROMIUM = findChromium(["/usr/bin/chromium"]);

Deno.test("without Chromium the check is skipped with a message saying how to install it", async () => {
  assert.equal(findChromium([]), null);
  assert.equal(findChromium(["/nonexistent/chromium"]), null);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await reportCheckMain(["--page", "/nonexistent/index.html"], {
      candidates: ["/nonexistent/chromium"],
    });
  } finally {
    console.log = log;
  }
  assert.equal(lines.length, 1);
  assert.match(lines[0], /skipped: no Chromium found \(looked for \/nonexistent\/chromium\)/);
  assert.match(lines[0], /apt-get install -y chromium/);
});

Deno.test("a check fails on console errors, network requests, unrendered charts and timeouts", () => {
  const ok = {
    errors: [],
    externalRequests: [],
    charts: [{ id: "a", rendered: true, marks: 3 }],
    brokenImages: [],
    finished: true,
    screenshot: null,
  };
  assert.deepEqual(checkProblems(ok), []);
  assert.deepEqual(checkProblems({ ...ok, charts: [] }), ["the page has no chart containers"]);
  const bad = checkProblems({
    ...ok,
    errors: ["boom"],
    externalRequests: ["https://cdn.example/vega.js"],
    charts: [{ id: "a", rendered: true, marks: 0 }, { id: "b", rendered: false, marks: 2 }],
    brokenImages: ["img"],
    finished: false,
  });
  assert.deepEqual(bad, [
    "console: boom",
    "network request: https://cdn.example/vega.js",
    "static image did not decode: img",
    "the charts did not finish rendering before the timeout",
    "chart a did not render (0 marks)",
    "chart b did not render (2 marks)",
  ]);
});

Deno.test({
  name: "Chromium renders every chart of the page offline, without console errors",
  ignore: CHROMIUM === null,
  fn: async () => {
    const base = await Deno.makeTempDir();
    try {
      const root = join(base, "results");
      await writeFigure({ root, name: "fig1", scale: "smoke" });
      await writeFigure({ root, name: "fig3", scale: "small" });
      const page = await writeReport(await buildReport({ roots: [root] }), defaultReportDest(root));
      const check = await checkPage(page, { chromium: CHROMIUM!, timeoutMs: 60_000 });
      assert.deepEqual(checkProblems(check), []);
      assert.deepEqual(check.charts.map((c) => c.id), ["figure-fig1-chart", "figure-fig3-chart"]);
      for (const c of check.charts) assert.ok(c.marks >= 2, `${c.id}: ${c.marks} marks`);
      assert.deepEqual([...check.screenshot!.slice(0, 4)], [0x89, 0x50, 0x4e, 0x47], "a PNG");
      // The command on the result root: exit 0, the per-chart lines, the screenshot file
      // beside the page under <out>/report/.
      const shot = join(root, "report", "screenshot.png");
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../../reports/browser_check.ts", import.meta.url).pathname,
          "--out",
          root,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, stdout + new TextDecoder().decode(out.stderr));
      assert.match(stdout, /ok {3}figure-fig3-chart: \d+ marks/);
      assert.match(stdout, /2 charts rendered, no console errors, no network/);
      assert.ok((await Deno.stat(shot)).size > 10_000);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});

Deno.test({
  name: "Chromium check catches a chart that does not render and a script error",
  ignore: CHROMIUM === null,
  fn: async () => {
    const base = await Deno.makeTempDir();
    try {
      const root = join(base, "results");
      await writeFigure({ root, name: "fig1", scale: "smoke" });
      const dest = join(base, "site");
      const report = await buildReport({ roots: [root] });
      // Break the inlined spec after the fact: a mark type Vega-Lite does not know.
      const good = '"mark":{"type":"line","point":true}';
      assert.ok(report.html.includes(good));
      const end = report.html.lastIndexOf("</body>");
      report.html = report.html.slice(0, end).replace(good, '"mark":{"type":"nonexistent"}') +
        "<script>undefinedFunction();</script>" + report.html.slice(end);
      const page = await writeReport(report, dest);
      const check = await checkPage(page, { chromium: CHROMIUM!, timeoutMs: 60_000 });
      const problems = checkProblems(check);
      assert.ok(
        problems.some((p) => /chart figure-fig1-chart did not render/.test(p)),
        problems.join("\n"),
      );
      assert.ok(problems.some((p) => /undefinedFunction/.test(p)), problems.join("\n"));
      assert.ok(problems.some((p) => /console: chart figure-fig1-chart did not render/.test(p)));
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});
