/**
 * The chart libraries the report inlines, read from the project's npm packages (no CDN): the
 * UMD builds of vega, vega-lite and vega-embed, which define the globals `vega`, `vegaLite`
 * and `vegaEmbed` when loaded with plain `<script>` tags from a `file:` URL.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** One inlined library. */
export interface VendorScript {
  name: string;
  version: string;
  /** The file inside the package. */
  file: string;
  /** Its text, made safe to place inside a `<script>` element. */
  code: string;
}

/** The libraries, in load order (vega-embed needs the other two). */
export const VENDOR_FILES = [
  { name: "vega", file: "build/vega.min.js" },
  { name: "vega-lite", file: "build/vega-lite.min.js" },
  { name: "vega-embed", file: "build/vega-embed.min.js" },
] as const;

/** A library that cannot be read (package missing from node_modules). */
export class VendorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "VendorError";
  }
}

/** The root folder of an installed npm package (found from its entry point upwards). */
export async function packageRoot(name: string): Promise<string> {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(name);
  } catch (err) {
    throw new VendorError(
      `the npm package "${name}" is not installed (${(err as Error).message}); it is listed ` +
        "in deno.json: run `deno install`",
      { cause: err },
    );
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = await Deno.readTextFile(join(dir, "package.json")).catch(() => null);
    if (pkg !== null && JSON.parse(pkg).name === name) return dir;
  }
  throw new VendorError(`cannot find the package.json of "${name}" above ${entry}`);
}

/**
 * Makes script text safe inside `<script>…</script>`: `</script` becomes `<\/script`, which
 * means the same inside JavaScript strings, regular expressions and comments (the only places
 * it can occur in valid code).
 *
 * @throws {VendorError} when the text contains `<!--`, which would change how HTML parses
 *   the rest of the element and has no equally safe rewrite.
 */
export function scriptSafe(code: string, name = "script"): string {
  if (code.includes("<!--")) {
    throw new VendorError(`${name} contains "<!--" and cannot be inlined in a <script> element`);
  }
  return code.replace(/<\/(script)/gi, "<\\/$1");
}

/** Reads the three libraries from node_modules. */
export async function readVendorScripts(): Promise<VendorScript[]> {
  const out: VendorScript[] = [];
  for (const { name, file } of VENDOR_FILES) {
    const root = await packageRoot(name);
    const version = JSON.parse(await Deno.readTextFile(join(root, "package.json"))).version;
    let code: string;
    try {
      code = await Deno.readTextFile(join(root, file));
    } catch (err) {
      throw new VendorError(`${name} ${version} has no ${file}: ${(err as Error).message}`);
    }
    out.push({ name, version, file, code: scriptSafe(code, `${name}/${file}`) });
  }
  return out;
}
