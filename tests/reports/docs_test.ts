import assert from "node:assert/strict";
import { join } from "node:path";
import { captionFor, FIGURE_ORDER } from "../../reports/captions.ts";
import {
  concerns,
  DEVIATIONS,
  deviationsFor,
  headingAnchor,
  inferredSettings,
  renderDeviationsMarkdown,
} from "../../reports/deviations.ts";
import { REPO_ROOT, staleDocs } from "../../reports/docs.ts";

Deno.test("deno task docs --check: docs/deviations.md is what reports/deviations.ts renders", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "reports", "docs.ts"), "--check"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${text}\nrun \`deno task docs\` and commit docs/deviations.md`);
  assert.match(text, /up to date/);
});

Deno.test("a stale or missing generated document is reported", async () => {
  const root = await Deno.makeTempDir();
  try {
    assert.deepEqual(await staleDocs(root), [join("docs", "deviations.md")]);
    await Deno.mkdir(join(root, "docs"));
    await Deno.writeTextFile(join(root, "docs", "deviations.md"), "edited by hand\n");
    assert.deepEqual(await staleDocs(root), [join("docs", "deviations.md")]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deviations: unique ids and titles, known figures, every entry rendered once", () => {
  const ids = DEVIATIONS.map((d) => d.id);
  assert.equal(new Set(ids).size, ids.length, "ids are unique");
  const anchors = DEVIATIONS.map((d) => headingAnchor(d.title));
  assert.equal(new Set(anchors).size, anchors.length, "headings are unique");
  const known = new Set([...FIGURE_ORDER, "sharpness", "interpolate"]);
  for (const d of DEVIATIONS) {
    assert.match(d.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, d.id);
    assert.ok(d.figures.length > 0 && d.scales.length > 0, d.id);
    for (const f of d.figures) assert.ok(known.has(f), `${d.id}: unknown figure ${f}`);
    for (const text of [d.paper, d.ours, d.why]) assert.ok(text.trim().length > 10, d.id);
  }
  const md = renderDeviationsMarkdown();
  for (const d of DEVIATIONS) {
    assert.equal(md.split(`\`${d.id}\``).length, 2, `${d.id} appears once`);
  }
  // No citation of the project's notes that live outside the repository.
  const outside = new RegExp(["SP" + "EC", "PLAT" + "FORM", "shared" + "/"].join("|"));
  assert.doesNotMatch(md, outside);
});

Deno.test("deviations: captions show the entries of the figure and scale on screen", () => {
  const paper = captionFor("fig3", {}, undefined, "paper-c100").deviations;
  const small = captionFor("fig3", {}, undefined, "small").deviations;
  assert.ok(paper.some((d) => /switch points are not available/.test(d)));
  assert.ok(!small.some((d) => /switch points are not available/.test(d)));
  assert.ok(small.some((d) => /Fashion-MNIST/.test(d)));
  assert.ok(!paper.some((d) => /Fashion-MNIST subsets/.test(d)));
  assert.equal(captionFor("fig4a", {}, undefined, "small").deviations.length, 3);
  assert.deepEqual(
    deviationsFor("fig6", "paper").map((d) => d.id),
    DEVIATIONS.filter((d) => concerns(d, "fig6", "paper")).map((d) => d.id),
  );
  // The paper-scale dry runs list the inferred settings from the same entries.
  assert.deepEqual(Object.keys(inferredSettings("switch")), [
    "rho",
    "switch grid",
    "T (ResNet/VGG)",
    "WRN lr / weight decay",
    "ResNet/VGG schedule",
  ]);
  assert.ok(Object.values(inferredSettings("at")).every((v) => /inferred|verified/.test(v)));
});
