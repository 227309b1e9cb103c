/**
 * Provenance: what produced a result, recorded in its manifest.
 *
 * The manifest names the config (and its hash), the seeds, the code (git commit and whether
 * the work tree was dirty), the dependency lock (`deno.lock` sha256), the runtime (Deno, V8,
 * TypeScript, tfjs) and backend, dataset file hashes, wall time, and the sha256 of every output.
 * Anyone can re-run the same config and compare the hashes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fileSha256, sha256Stream } from "./hash.ts";
import type { Json } from "./config.ts";

/** The code and runtime a result was produced with. */
export interface Environment {
  git: { commit: string | null; dirty: boolean | null };
  denoLockSha256: string | null;
  versions: { deno: string; v8: string; typescript: string; tfjs: string };
}

async function git(args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null; // git missing: provenance records null rather than failing the run
  }
}

/** Reads the git commit, dirty flag, lock hash and versions of the current checkout. */
export async function collectEnvironment(root = "."): Promise<Environment> {
  const commit = await git(["-C", root, "rev-parse", "HEAD"]);
  const status = commit === null ? null : await git(["-C", root, "status", "--porcelain"]);
  const lock = await fileSha256(`${root}/deno.lock`).catch(() => null);
  return {
    git: { commit, dirty: status === null ? null : status.length > 0 },
    denoLockSha256: lock,
    versions: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      tfjs: tf.version.tfjs,
    },
  };
}

/** The folders and files whose contents define what the code computes. */
export const SOURCE_PATHS = ["core", "models", "data", "experiments", "deno.json", "deno.lock"];

async function listFiles(path: string): Promise<string[]> {
  const info = await Deno.stat(path).catch(() => null);
  if (!info) return [];
  if (info.isFile) return [path];
  const out: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    out.push(...(await listFiles(`${path}/${entry.name}`)));
  }
  return out;
}

/**
 * sha256 over the project's source files (path and content, in sorted path order): a result
 * is reused only when both its config and this code hash match, so editing the code never
 * serves a stale figure, committed or not. (Sweep states are keyed by the narrower
 * {@linkcode moduleGraphHash} of the code that trains them.)
 */
export async function sourceHash(root = "."): Promise<string> {
  const files = (await Promise.all(SOURCE_PATHS.map((p) => listFiles(`${root}/${p}`)))).flat()
    .sort();
  const hash = sha256Stream();
  for (const file of files) {
    hash.update(`${file.slice(root.length + 1)}\0${await fileSha256(file)}\n`);
  }
  return hash.hex();
}

/** Everything a figure's `manifest.json` records. */
export interface Manifest {
  figure: string;
  scale: string;
  config: Json;
  configHash: string;
  /** {@link sourceHash} of the code that produced it. */
  codeHash: string;
  /** Root seeds and how each stream was derived from them. */
  seeds: Json;
  backend: string;
  /** The native backend's library (version, instruction set) and threads, when it ran. */
  native?: { library: string; threads: number };
  environment: Environment;
  /** sha256 per dataset file (empty for synthetic problems). */
  datasets: Record<string, string>;
  /** Files the result was computed from (e.g. checkpoints), when the figure has any. */
  inputs?: Record<string, { path: string; sha256: string }>;
  /** configHash of `inputs`: part of the reuse check. */
  inputsHash?: string;
  startedAt: string;
  wallSeconds: number;
  /** sha256 per output file name. */
  outputs: Record<string, string>;
  /** Headline numbers, for listings and audits. */
  summary: Json;
}

/** Serializes a manifest as stable, human-readable JSON (two-space indent, trailing newline). */
export function manifestJson(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * sha256 over exactly the code `entry` runs: its local modules (transitively, as `deno info`
 * lists them, by path and content, with any C source in their folders, which FFI loads) and
 * the npm packages they reach (name@version of every
 * package in the resolved dependency closure). It changes when, and only when, code or a
 * package version that `entry` loads changes; adding a task or an unrelated dependency does
 * not. Sweep states are keyed by it, so editing a chart or a CLI does not invalidate trained
 * states, while any change to what trains them does.
 *
 * @throws {Error} when `deno info` fails or a module is missing or does not parse.
 */
export async function moduleGraphHash(entry: string, root = "."): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; kind?: string; npmPackage?: string; error?: string }[];
    npmPackages?: Record<string, { dependencies?: string[] }>;
  };
  const broken = graph.modules.find((m) => m.error);
  if (broken) throw new Error(`deno info ${entry} failed: ${broken.error}`);
  const top = resolve(root);
  const files = graph.modules
    .filter((m) => m.specifier.startsWith("file://"))
    .map((m) => fileURLToPath(m.specifier))
    .filter((f) => !relative(top, f).startsWith(".."));
  // C sources beside those modules are loaded through FFI, not imported: count them too.
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isFile && entry.name.endsWith(".c")) files.push(join(dir, entry.name));
    }
  }
  files.sort();
  // The npm packages the modules import, and everything those depend on.
  const packages = new Set<string>();
  const queue = graph.modules.flatMap((m) => (m.npmPackage ? [m.npmPackage] : []));
  while (queue.length > 0) {
    const id = queue.pop()!;
    if (packages.has(id)) continue;
    packages.add(id);
    queue.push(...(graph.npmPackages?.[id]?.dependencies ?? []));
  }
  const hash = sha256Stream();
  for (const file of files) {
    hash.update(`${relative(top, file)}\0${await fileSha256(file)}\n`);
  }
  for (const id of [...packages].sort()) hash.update(`npm:${id}\n`);
  return hash.hex();
}
