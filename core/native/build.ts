/**
 * Builds the native shim (`shim.c`) into a shared library on first use.
 *
 * The library is compiled with the machine's `gcc` against Debian's oneDNN (`libdnnl-dev`)
 * into the user cache, `$LATE_SAM_NATIVE_CACHE`, else `$XDG_CACHE_HOME/late-sam/native`, else
 * `~/.cache/late-sam/native`, in a folder named by a hash of the shim's source, oneDNN's
 * version macros and the compiler's version: a changed shim, library or compiler builds anew,
 * and an unchanged one is reused across processes. The build writes to a temporary name and
 * renames it into place, so concurrent workers never load a half-written file.
 *
 * @module
 */
import { join } from "node:path";
import { userCacheDir } from "../cache_dir.ts";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../hash.ts";

/** The shim's source file. */
export const SHIM_SOURCE = fileURLToPath(new URL("./shim.c", import.meta.url));

/** Environment variable overriding the folder the shim is built into. */
export const NATIVE_CACHE_ENV = "LATE_SAM_NATIVE_CACHE";

/** The command that installs what the build needs on Debian or Ubuntu. */
export const NATIVE_INSTALL_HINT = "apt-get install -y gcc libdnnl-dev";

/** The native kernels cannot be built or loaded here; the message says why and what to do. */
export class NativeUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NativeUnavailableError";
  }
}

/** The folder the shim is built into (see the module doc). */
export function nativeCacheRoot(): string {
  let explicit: string | undefined;
  try {
    explicit = Deno.env.get(NATIVE_CACHE_ENV) || undefined;
  } catch {
    explicit = undefined; // no --allow-env
  }
  return explicit ?? userCacheDir("native") ??
    Deno.makeTempDirSync({ prefix: "late-sam-native-" });
}

function run(cmd: string, args: string[]): Deno.CommandOutput {
  try {
    return new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new NativeUnavailableError(
        `${cmd} is not installed (needed to build the native kernels; ${NATIVE_INSTALL_HINT})`,
      );
    }
    throw e;
  }
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * oneDNN's version macros as the compiler sees them (e.g. `2.6.3`).
 *
 * @throws {NativeUnavailableError} when gcc or oneDNN's headers are missing.
 */
export function dnnlHeaderVersion(): string {
  const probe = Deno.makeTempFileSync({ suffix: ".c" });
  try {
    Deno.writeTextFileSync(probe, "#include <oneapi/dnnl/dnnl_version.h>\n");
    const out = run("gcc", ["-E", "-dM", probe]);
    if (!out.success) {
      throw new NativeUnavailableError(
        `oneDNN's headers were not found (${NATIVE_INSTALL_HINT}): ` +
          decode(out.stderr).split("\n")[0],
      );
    }
    const macro = (name: string) =>
      new RegExp(`#define DNNL_VERSION_${name} (\\d+)`).exec(decode(out.stdout))?.[1] ?? "?";
    return `${macro("MAJOR")}.${macro("MINOR")}.${macro("PATCH")}`;
  } finally {
    Deno.removeSync(probe);
  }
}

/** What {@link buildShim} produced. */
export interface BuiltShim {
  /** Path of the shared library. */
  path: string;
  /** oneDNN's version from its headers. */
  dnnlVersion: string;
  /** Whether this call compiled it (false: reused from the cache). */
  compiled: boolean;
}

/**
 * Returns the shim's shared library, compiling it first when the cache has none for this
 * source, oneDNN version and compiler.
 *
 * @throws {NativeUnavailableError} naming what is missing (gcc, oneDNN's headers or library)
 *   or the compiler's first error line.
 */
export function buildShim(): BuiltShim {
  const source = Deno.readTextFileSync(SHIM_SOURCE);
  const dnnlVersion = dnnlHeaderVersion();
  const compiler = decode(run("gcc", ["-dumpfullversion"]).stdout).trim();
  const key = sha256Hex(`${source}\0oneDNN ${dnnlVersion}\0gcc ${compiler}`).slice(0, 16);
  const dir = join(nativeCacheRoot(), key);
  const path = join(dir, "liblatesam_dnnl.so");
  try {
    Deno.statSync(path);
    return { path, dnnlVersion, compiled: false };
  } catch {
    // not built yet
  }
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.tmp`;
  const out = run("gcc", [
    "-O3",
    // No fused multiply-add contraction: the elementwise loops give the same bits on every
    // vector width their clones dispatch to.
    "-ffp-contract=off",
    "-fPIC",
    "-shared",
    "-fopenmp",
    SHIM_SOURCE,
    "-o",
    tmp,
    "-ldnnl",
    "-lm",
  ]);
  if (!out.success) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing was written
    }
    const first = decode(out.stderr).split("\n").find((l) => /error/.test(l)) ?? "";
    throw new NativeUnavailableError(
      `building the native kernels failed (${NATIVE_INSTALL_HINT}): ${first.trim()}`,
    );
  }
  Deno.renameSync(tmp, path);
  return { path, dnnlVersion, compiled: true };
}
