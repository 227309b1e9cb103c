/**
 * `deno task docs`: writes the documentation generated from data modules, so that no prose is
 * kept twice. Today that is `docs/deviations.md`, rendered from `reports/deviations.ts` (the
 * same entries the report's captions show) and passed through `deno fmt`.
 *
 *     deno task docs [--check]
 *
 * `--check` writes nothing and exits 1 when a committed file differs from what the modules
 * render (CI and a test run it).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseToolArgs, runMain } from "../core/cli.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import { renderDeviationsMarkdown } from "./deviations.ts";

/** The repository root (this file is `reports/docs.ts`). */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Markdown formatted as `deno fmt` formats the repository's files (its `deno.json`). */
export async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "md", "-"],
    cwd: REPO_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The generated documents: path relative to the repository root → rendered text. */
export async function renderDocs(): Promise<Map<string, string>> {
  return new Map([
    [join("docs", "deviations.md"), await formatMarkdown(renderDeviationsMarkdown())],
  ]);
}

const HELP = `Usage: deno task docs [--check]

Renders the documentation that is generated from data modules and writes it into docs/:
  docs/deviations.md   from reports/deviations.ts (the entries the report captions show)

Options:
  --check      write nothing; exit 1 when a committed file differs from what would be written
  -h, --help   show this help`;

/** The generated documents under `root` that differ from what their modules render. */
export async function staleDocs(root: string = REPO_ROOT): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, text] of await renderDocs()) {
    const current = await Deno.readTextFile(join(root, path)).catch(() => null);
    if (current !== text) stale.push(path);
  }
  return stale;
}

async function main(args: string[]): Promise<void> {
  const parsed = parseToolArgs("docs", args, {
    check: { type: "boolean", default: false },
  }, { help: HELP });
  if (!parsed) return;
  if (parsed.values.check) {
    const stale = await staleDocs();
    for (const path of stale) console.error(`docs: ${path} differs from what its module renders`);
    if (stale.length > 0) {
      console.error("docs: run `deno task docs` and commit the result");
      Deno.exit(1);
    }
    console.log("docs: every generated document is up to date");
    return;
  }
  for (const [path, text] of await renderDocs()) {
    const target = join(REPO_ROOT, path);
    if ((await Deno.readTextFile(target).catch(() => null)) === text) {
      console.log(`docs: ${path} is up to date`);
    } else {
      await writeFileAtomic(target, text);
      console.log(`docs: wrote ${path}`);
    }
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
