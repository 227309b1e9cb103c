/**
 * `deno task report-check`: opens the report page in headless Chromium the way a reader
 * would (from a `file:` URL) and checks it:
 *
 * - no console error, uncaught exception or browser log error occurs;
 * - nothing is requested from the network (every request is `file:`, `data:`, `blob:` or
 *   `about:`);
 * - every chart container ends up with a Vega-rendered SVG that has marks inside it, and every
 *   static fallback image decodes;
 * - a screenshot of the whole page is saved (default `<out>/report/screenshot.png`, for CI).
 *
 *     deno task report-check [--out DIR] [--page FILE] [--screenshot FILE]
 *                            [--chromium PATH] [--timeout SECONDS]
 *
 * `--out` is the result root given to `deno task report` (default `results`): the page is
 * `<out>/report/index.html` and the screenshot `<out>/report/screenshot.png` unless `--page` or
 * `--screenshot` say otherwise.
 *
 * Without Chromium (none at the usual paths and no `--chromium`), it prints why it skipped
 * and exits 0; with Chromium, any failure exits 1.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { CliError, parseToolArgs, runMain } from "../core/cli.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import { defaultReportDest } from "./build.ts";
import {
  BrowserError,
  CdpClient,
  CHROMIUM_CANDIDATES,
  findChromium,
  launchBrowser,
} from "./cdp.ts";

/** One chart container as the page reports it. */
export interface ChartState {
  id: string;
  rendered: boolean;
  /** Elements inside the chart's Vega mark groups (`g.role-mark > *`). */
  marks: number;
}

/** What the check saw. */
export interface PageCheck {
  /** Console errors, exceptions and browser log errors, in order. */
  errors: string[];
  /** Requests to anything but file:, data:, blob: and about: URLs. */
  externalRequests: string[];
  charts: ChartState[];
  /** Static fallback images that did not decode. */
  brokenImages: string[];
  /** Whether the page's embedding script finished before the timeout. */
  finished: boolean;
  screenshot: Uint8Array | null;
}

/** The problems of a check, one line each (empty when the page passed). */
export function checkProblems(check: PageCheck): string[] {
  const problems = [
    ...check.errors.map((e) => `console: ${e}`),
    ...check.externalRequests.map((u) => `network request: ${u}`),
    ...check.brokenImages.map((i) => `static image did not decode: ${i}`),
  ];
  if (!check.finished) problems.push("the charts did not finish rendering before the timeout");
  if (check.charts.length === 0) problems.push("the page has no chart containers");
  for (const c of check.charts) {
    if (!c.rendered || c.marks === 0) {
      problems.push(`chart ${c.id} did not render (${c.marks} marks)`);
    }
  }
  return problems;
}

/** The tallest screenshot taken at full scale (Chromium's limit is 16,384 pixels). */
const MAX_SCREENSHOT_PIXELS = 16_000;

const LOCAL_SCHEMES = ["file:", "data:", "blob:", "about:", "chrome-error:"];

/** The expression that reports the charts' state (run in the page). */
const CHART_STATE = `JSON.stringify({
  finished: !!(window.lateSamReport && window.lateSamReport.done),
  charts: Array.prototype.map.call(document.querySelectorAll(".chart[data-spec]"), function (el) {
    return {
      id: el.id,
      rendered: el.classList.contains("rendered"),
      marks: el.querySelectorAll(".chart-live svg g.role-mark > *").length
    };
  }),
  brokenImages: Array.prototype.filter.call(document.querySelectorAll("img"), function (img) {
    return !(img.complete && img.naturalWidth > 0);
  }).map(function (img) { return img.alt || img.src.slice(0, 60); })
})`;

function remoteText(arg: Record<string, unknown>): string {
  if (typeof arg.value === "string") return arg.value;
  if (arg.value !== undefined) return JSON.stringify(arg.value);
  return String(arg.description ?? arg.type ?? "");
}

/**
 * Opens `page` (a file path) in Chromium and checks it.
 *
 * @throws {BrowserError} when the browser cannot be started or driven.
 */
export async function checkPage(
  page: string,
  options: { chromium: string; timeoutMs?: number; width?: number },
): Promise<PageCheck> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const browser = await launchBrowser(options.chromium, { timeoutMs });
  let client: CdpClient | undefined;
  try {
    client = await CdpClient.connect(browser.endpoint, { timeoutMs });
    const { targetId } = await client.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await client.send("Target.attachToTarget", { targetId, flatten: true });
    const sid = sessionId as string;
    const errors: string[] = [];
    const externalRequests: string[] = [];
    client.on("Runtime.consoleAPICalled", (p, s) => {
      if (s !== sid || (p.type !== "error" && p.type !== "assert")) return;
      errors.push(((p.args as Record<string, unknown>[]) ?? []).map(remoteText).join(" "));
    });
    client.on("Runtime.exceptionThrown", (p, s) => {
      if (s !== sid) return;
      const d = p.exceptionDetails as Record<string, unknown>;
      const exception = d.exception as Record<string, unknown> | undefined;
      errors.push(`uncaught: ${exception?.description ?? d.text}`);
    });
    client.on("Log.entryAdded", (p, s) => {
      const entry = p.entry as Record<string, unknown>;
      if (s !== sid || entry.level !== "error") return;
      errors.push(`${entry.source}: ${entry.text}${entry.url ? ` (${entry.url})` : ""}`);
    });
    client.on("Network.requestWillBeSent", (p, s) => {
      const url = String((p.request as Record<string, unknown>).url);
      if (s === sid && !LOCAL_SCHEMES.some((scheme) => url.startsWith(scheme))) {
        externalRequests.push(url);
      }
    });
    for (const domain of ["Runtime", "Log", "Network", "Page"]) {
      await client.send(`${domain}.enable`, {}, sid);
    }
    const width = options.width ?? 1200;
    await client.send("Emulation.setDeviceMetricsOverride", {
      width,
      height: 900,
      deviceScaleFactor: 1,
      mobile: false,
    }, sid);
    const loaded = client.once("Page.loadEventFired", sid);
    await client.send("Page.navigate", { url: pathToFileURL(resolve(page)).href }, sid);
    await loaded;
    const deadline = performance.now() + timeoutMs;
    let state: { finished: boolean; charts: ChartState[]; brokenImages: string[] };
    while (true) {
      const { result } = await client.send("Runtime.evaluate", {
        expression: CHART_STATE,
        returnByValue: true,
      }, sid);
      state = JSON.parse((result as { value: string }).value);
      if (state.finished || performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The whole page: grow the viewport to the content height, scaled down when taller than
    // the 16,000 pixels Chromium can capture at once.
    const metrics = await client.send("Page.getLayoutMetrics", {}, sid);
    const height = Math.ceil((metrics.cssContentSize as { height: number }).height);
    await client.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: Math.min(1, MAX_SCREENSHOT_PIXELS / height),
      mobile: false,
    }, sid);
    const shot = await client.send("Page.captureScreenshot", { format: "png" }, sid);
    const screenshot = Uint8Array.from(atob(shot.data as string), (c) => c.charCodeAt(0));
    return {
      errors,
      externalRequests,
      charts: state.charts,
      brokenImages: state.brokenImages,
      finished: state.finished,
      screenshot,
    };
  } finally {
    if (client) {
      await client.send("Browser.close").catch(() => {});
      client.close();
    }
    await browser.close();
  }
}

const HELP = `Usage: deno task report-check [--out DIR] [--page FILE] [--screenshot FILE]
                              [--chromium PATH] [--timeout SECONDS]

Opens the report page in headless Chromium and checks that no console error occurs, nothing is
loaded from the network, and every chart renders with marks; saves a screenshot. Skips (exit 0)
when no Chromium is installed (Debian: apt-get install -y chromium); fails (exit 1) otherwise.

Options:
  --out DIR           the result root the report was built for (default results)
  --page FILE         the page to open (default DIR/report/index.html)
  --screenshot FILE   where to save the screenshot (default DIR/report/screenshot.png)
  --chromium PATH     the browser (default: the first of ${CHROMIUM_CANDIDATES.join(", ")})
  --timeout SECONDS   longest wait for the browser and the charts (default 60)
  -h, --help          show this help`;

/**
 * The command: parses `args`, finds Chromium (`--chromium`, else the first of `candidates`),
 * checks the page and saves the screenshot. Returns normally when it passed or was skipped.
 */
export async function reportCheckMain(
  args: string[],
  options: { candidates?: readonly string[] } = {},
): Promise<void> {
  const parsed = parseToolArgs("report-check", args, {
    out: { type: "string", default: "results" },
    page: { type: "string" },
    screenshot: { type: "string" },
    chromium: { type: "string" },
    timeout: { type: "string", default: "60" },
  }, { help: HELP });
  if (!parsed) return;
  const { values } = parsed;
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw new CliError(`report-check: --timeout must be positive seconds`);
  const chromium = values.chromium ?? findChromium(options.candidates);
  if (chromium === null) {
    console.log(
      `report-check: skipped: no Chromium found (looked for ${
        (options.candidates ?? CHROMIUM_CANDIDATES).join(", ") || "nothing"
      }); on Debian run \`apt-get install -y chromium\`, or pass --chromium PATH`,
    );
    return;
  }
  if (findChromium([chromium]) === null) {
    throw new CliError(`report-check: --chromium ${chromium} does not exist`);
  }
  const page = values.page ?? join(defaultReportDest(values.out!), "index.html");
  const screenshot = values.screenshot ?? join(defaultReportDest(values.out!), "screenshot.png");
  if (findChromium([page]) === null) {
    throw new CliError(`report-check: no page at ${page}; run \`deno task report\` first`);
  }
  let check: PageCheck;
  try {
    check = await checkPage(page, { chromium, timeoutMs: timeout * 1000 });
  } catch (err) {
    if (err instanceof BrowserError) {
      console.error(`report-check: FAILED: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
  if (check.screenshot) {
    await writeFileAtomic(screenshot, check.screenshot);
    console.log(`report-check: screenshot ${screenshot}`);
  }
  for (const c of check.charts) {
    console.log(`  ${c.rendered && c.marks > 0 ? "ok  " : "FAIL"} ${c.id}: ${c.marks} marks`);
  }
  const problems = checkProblems(check);
  for (const p of problems) console.error(`  ${p}`);
  if (problems.length > 0) {
    console.error(`report-check: FAILED (${problems.length} problems) on ${page}`);
    Deno.exit(1);
  }
  console.log(
    `report-check: ${check.charts.length} charts rendered, no console errors, no network`,
  );
}

if (import.meta.main) await runMain(() => reportCheckMain(Deno.args));
