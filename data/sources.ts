/**
 * Where dataset files come from, how they are verified, and how a missing dataset is fetched.
 *
 * ## Resolution order
 *
 * 1. `dataDir` (the CLI's `--data-dir`): the folder holding the files, or a root with a
 *    `<name>/` subfolder (or the archive's own folder name, e.g. `cifar-10-batches-bin/`).
 *    When given it is authoritative: if the files are not there, loading fails instead of
 *    silently falling back elsewhere.
 * 2. The environment variable `LATE_SAM_DATA` ({@link DATA_ENV}), read the same way. It is a
 *    shared root, so a dataset absent from it falls through to the next places.
 * 3. Debian's installed location (Fashion-MNIST: `/usr/share/datasets/fashion-mnist`, from the
 *    package `dataset-fashion-mnist`).
 * 4. The user cache, `$XDG_CACHE_HOME/late-sam/datasets/<name>` or
 *    `~/.cache/late-sam/datasets/<name>`. Files missing there are fetched (unless
 *    `fetch: false`): for Fashion-MNIST first with `apt-get download dataset-fashion-mnist`
 *    using private apt state folders (no root needed) and `dpkg-deb -x`, then from the
 *    upstream URLs over HTTP(S). Every fetched file is written to a temporary name in the
 *    cache folder and renamed into place only once verified, so the cache never holds a
 *    partial or unverified file.
 *
 * ## Verification
 *
 * Each dataset has a table of its files with byte size and sha256 where known. Fashion-MNIST's
 * four files are known (the Debian package ships the upstream release files). For MNIST and
 * CIFAR no hash could be checked on the machine this was written on (no copy reachable), so none
 * is recorded: such files are verified by parsing them (the IDX header and length, the CIFAR
 * record size and label ranges), and their computed sha256 is returned for the run manifest.
 * A file whose size or sha256 differs from the table is an error ("corrupt or truncated"),
 * never silently re-fetched.
 *
 * @module
 */
import { userCacheDir } from "../core/cache_dir.ts";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { commitTemp, tempPathFor, writeAll, writeFileAtomic } from "../core/atomic.ts";
import { sha256Hex, sha256Stream } from "../core/hash.ts";
import { parseCifar10, parseCifar100 } from "./cifar.ts";
import { DataError, parseIdxImages, parseIdxLabels } from "./idx.ts";

/** The environment variable naming a folder of datasets (or of one dataset's files). */
export const DATA_ENV = "LATE_SAM_DATA";

/** One file of a dataset, with its byte size and sha256 when known (`null`: unknown). */
export interface DataFile {
  name: string;
  bytes: number | null;
  sha256: string | null;
  /** Other accepted names (e.g. the uncompressed IDX file), verified by parsing only. */
  alt?: readonly string[];
  /**
   * A structural check for a file whose sha256 is unknown, run on a fetched file before it
   * enters the cache (the loader parses every file anyway).
   */
  check?: (data: Uint8Array, file: string) => void;
}

/** A download: one data file, or a `.tar.gz` archive whose members are data files. */
export interface Download {
  url: string;
  /** Size and sha256 of what the URL serves, when known. */
  bytes: number | null;
  sha256: string | null;
  /** The data file this download is (single-file download). */
  file?: string;
  /** For a `.tar.gz` archive: member path in the archive → data file name. */
  members?: Readonly<Record<string, string>>;
}

/** Everything known about where a dataset's files can be found or fetched. */
export interface DatasetSource {
  name: string;
  title: string;
  files: readonly DataFile[];
  /** Extra subfolder names to look in under a data root, besides `<name>`. */
  subdirs: readonly string[];
  /** A Debian package that installs the files, and where. */
  debian?: { package: string; dir: string };
  /** Downloads, tried in order for each missing file (mirrors provide the same file). */
  downloads: readonly Download[];
  /** Where a person can read about the dataset. */
  homepage: string;
}

/** Where a dataset was found. */
export type DataOrigin = "data-dir" | "env" | "debian" | "cache" | "fetched-apt" | "fetched-url";

/** A located, read and verified dataset file. */
export interface ResolvedFile {
  /** The table name of the file (e.g. `train-images-idx3-ubyte.gz`). */
  name: string;
  /** The file actually used (differs from `name` for an accepted alternative name). */
  path: string;
  data: Uint8Array;
  sha256: string;
  /** "sha256": matched the table; "parse": no known hash, left to the parser. */
  verified: "sha256" | "parse";
}

/** A dataset's files, located and verified. */
export interface ResolvedDataset {
  name: string;
  dir: string;
  origin: DataOrigin;
  /** Keyed by the table name of each file. */
  files: Record<string, ResolvedFile>;
}

/** How to look for (and fetch) a dataset. */
export interface ResolveOptions {
  /** An explicit folder (CLI `--data-dir`); authoritative when given. */
  dataDir?: string;
  /** Fetch missing files into the cache (apt route, then URLs). Default true. */
  fetch?: boolean;
  /** The cache root (default `$XDG_CACHE_HOME/late-sam/datasets` or `~/.cache/…`). */
  cacheDir?: string;
  /** Overrides the Debian install folder; `null` skips it (tests). */
  debianDir?: string | null;
  /** Allow the `apt-get download` route when fetching. Default true. */
  apt?: boolean;
  /** The environment to read `LATE_SAM_DATA`, `XDG_CACHE_HOME`, `HOME` from (tests). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Progress lines (fetching), e.g. `console.error`. */
  log?: (line: string) => void;
}

const IDX_FILES = [
  "train-images-idx3-ubyte.gz",
  "train-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz",
] as const;

function idxCheck(name: string): (data: Uint8Array, file: string) => void {
  return name.includes("images")
    ? (data, file) => void parseIdxImages(data, file)
    : (data, file) => void parseIdxLabels(data, file);
}

function idxFile(name: string, bytes: number | null, sha256: string | null): DataFile {
  return { name, bytes, sha256, alt: [name.replace(/\.gz$/, "")], check: idxCheck(name) };
}

const FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";
const FASHION_MNIST_FILES: DataFile[] = [
  idxFile(
    IDX_FILES[0],
    26421856,
    "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
  ),
  idxFile(IDX_FILES[1], 29491, "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
  idxFile(
    IDX_FILES[2],
    4422079,
    "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
  ),
  idxFile(IDX_FILES[3], 5125, "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
];

const MNIST_MIRRORS = [
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "http://yann.lecun.com/exdb/mnist/",
];

const CIFAR10_FILES = [
  "data_batch_1.bin",
  "data_batch_2.bin",
  "data_batch_3.bin",
  "data_batch_4.bin",
  "data_batch_5.bin",
  "test_batch.bin",
];

/**
 * The dataset table. Sizes and hashes are `null` where they could not be checked against a
 * real copy (MNIST, CIFAR): those files are verified by parsing.
 */
export const SOURCES: Readonly<Record<string, DatasetSource>> = {
  "fashion-mnist": {
    name: "fashion-mnist",
    title: "Fashion-MNIST",
    files: FASHION_MNIST_FILES,
    subdirs: ["fashion-mnist", "fashion_mnist", "FashionMNIST"],
    debian: { package: "dataset-fashion-mnist", dir: "/usr/share/datasets/fashion-mnist" },
    downloads: FASHION_MNIST_FILES.map((f) => ({
      url: FASHION_MNIST_URL + f.name,
      bytes: f.bytes,
      sha256: f.sha256,
      file: f.name,
    })),
    homepage: "https://github.com/zalandoresearch/fashion-mnist",
  },
  mnist: {
    name: "mnist",
    title: "MNIST",
    files: IDX_FILES.map((name) => idxFile(name, null, null)),
    subdirs: ["MNIST"],
    downloads: MNIST_MIRRORS.flatMap((base) =>
      IDX_FILES.map((name) => ({ url: base + name, bytes: null, sha256: null, file: name }))
    ),
    homepage: "http://yann.lecun.com/exdb/mnist/",
  },
  cifar10: {
    name: "cifar10",
    title: "CIFAR-10 (binary version)",
    files: CIFAR10_FILES.map((name) => ({
      name,
      bytes: null,
      sha256: null,
      check: (data: Uint8Array, file: string) => void parseCifar10(data, file),
    })),
    subdirs: ["cifar-10-batches-bin", "cifar-10"],
    downloads: [{
      url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
      bytes: null,
      sha256: null,
      members: Object.fromEntries(CIFAR10_FILES.map((f) => [`cifar-10-batches-bin/${f}`, f])),
    }],
    homepage: "https://www.cs.toronto.edu/~kriz/cifar.html",
  },
  cifar100: {
    name: "cifar100",
    title: "CIFAR-100 (binary version)",
    files: ["train.bin", "test.bin"].map((name) => ({
      name,
      bytes: null,
      sha256: null,
      check: (data: Uint8Array, file: string) => void parseCifar100(data, file),
    })),
    subdirs: ["cifar-100-binary", "cifar-100"],
    downloads: [{
      url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
      bytes: null,
      sha256: null,
      members: {
        "cifar-100-binary/train.bin": "train.bin",
        "cifar-100-binary/test.bin": "test.bin",
      },
    }],
    homepage: "https://www.cs.toronto.edu/~kriz/cifar.html",
  },
};

function readEnv(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of [DATA_ENV, "XDG_CACHE_HOME", "HOME"]) {
    try {
      out[name] = Deno.env.get(name);
    } catch {
      out[name] = undefined; // no env permission: behave as if unset
    }
  }
  return out;
}

/** The default cache root: `$XDG_CACHE_HOME/late-sam/datasets`, else `~/.cache/late-sam/datasets`. */
export function defaultCacheRoot(
  env: Readonly<Record<string, string | undefined>> = readEnv(),
): string | null {
  return userCacheDir("datasets", env);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** The files of `source` present in `dir`: table name → path (first of name, alt names). */
async function presentFiles(source: DatasetSource, dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const f of source.files) {
    for (const name of [f.name, ...(f.alt ?? [])]) {
      const path = join(dir, name);
      if (await isFile(path)) {
        found.set(f.name, path);
        break;
      }
    }
  }
  return found;
}

function missingOf(source: DatasetSource, found: Map<string, string>): string[] {
  return source.files.filter((f) => !found.has(f.name)).map((f) => f.name);
}

/**
 * Looks for the dataset under a root folder: the folder itself, `<root>/<name>`, then the
 * source's other subfolder names. Returns the first folder holding any of the files, or null.
 *
 * @throws {DataError} if that folder holds only some of the files.
 */
async function locate(
  source: DatasetSource,
  root: string,
  subfolders: boolean,
): Promise<{ dir: string; paths: Map<string, string> } | null> {
  const dirs = subfolders
    ? [root, join(root, source.name), ...source.subdirs.map((s) => join(root, s))]
    : [root];
  for (const dir of dirs) {
    if (!(await isDir(dir))) continue;
    const paths = await presentFiles(source, dir);
    if (paths.size === 0) continue;
    const missing = missingOf(source, paths);
    if (missing.length > 0) {
      throw new DataError(
        `${source.name}: ${dir} holds only some of the files; missing: ${missing.join(", ")}`,
        join(dir, missing[0]),
      );
    }
    return { dir, paths };
  }
  return null;
}

function corrupt(
  path: string,
  want: { bytes: number | null; sha256: string | null },
  got: { bytes: number; sha256: string },
): DataError {
  const expected = `${want.sha256 ?? "(any)"}${
    want.bytes !== null ? ` (${want.bytes} bytes)` : ""
  }`;
  return new DataError(
    `${path}: corrupt or truncated: expected sha256 ${expected}, got ${got.sha256} ` +
      `(${got.bytes} bytes); delete it and re-fetch`,
    path,
  );
}

/**
 * Reads a dataset file and verifies it against the table: byte size and sha256 where known.
 * A file under an alternative name (e.g. uncompressed) is left to the parser.
 *
 * @throws {DataError} "corrupt or truncated" naming the file on a mismatch.
 */
export async function verifyFile(spec: DataFile, path: string): Promise<ResolvedFile> {
  let data: Uint8Array;
  try {
    data = await Deno.readFile(path);
  } catch (error) {
    throw new DataError(`${path}: cannot read (${(error as Error).message})`, path);
  }
  const sha256 = sha256Hex(data);
  const known = basename(path) === spec.name && spec.sha256 !== null;
  if (basename(path) === spec.name) {
    const sizeBad = spec.bytes !== null && spec.bytes !== data.length;
    const hashBad = spec.sha256 !== null && spec.sha256 !== sha256;
    if (sizeBad || hashBad) throw corrupt(path, spec, { bytes: data.length, sha256 });
  }
  return { name: spec.name, path, data, sha256, verified: known ? "sha256" : "parse" };
}

async function verifyAll(
  source: DatasetSource,
  paths: Map<string, string>,
): Promise<Record<string, ResolvedFile>> {
  const out: Record<string, ResolvedFile> = {};
  for (const spec of source.files) out[spec.name] = await verifyFile(spec, paths.get(spec.name)!);
  return out;
}

/**
 * Downloads `url` to `dest` atomically, checking byte size and sha256 where given. On any
 * failure (HTTP status, network, mismatch) nothing is left at `dest` or in its folder.
 *
 * @returns the sha256 and size of the downloaded bytes.
 * @throws {DataError} naming the URL.
 */
export async function downloadFile(
  url: string,
  dest: string,
  expect: { bytes: number | null; sha256: string | null } = { bytes: null, sha256: null },
): Promise<{ sha256: string; bytes: number }> {
  const tmp = tempPathFor(dest);
  try {
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      const cause = (error as Error).cause;
      const detail = cause instanceof Error ? `: ${cause.message}` : "";
      throw new DataError(`${url}: download failed (${(error as Error).message}${detail})`, url);
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new DataError(`${url}: download failed (HTTP ${response.status})`, url);
    }
    const hash = sha256Stream();
    let bytes = 0;
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      for await (const chunk of response.body) {
        hash.update(chunk);
        bytes += chunk.length;
        await writeAll(file, chunk);
      }
      await file.syncData();
    } finally {
      file.close();
    }
    const sha256 = hash.hex();
    if (
      (expect.bytes !== null && expect.bytes !== bytes) ||
      (expect.sha256 !== null && expect.sha256 !== sha256)
    ) {
      const expected = `${expect.sha256 ?? "(any)"}` +
        (expect.bytes !== null ? ` (${expect.bytes} bytes)` : "");
      throw new DataError(
        `${url}: download corrupt or truncated: expected sha256 ${expected}, got ${sha256} ` +
          `(${bytes} bytes); nothing was written to ${dest}`,
        url,
      );
    }
    await commitTemp(tmp, dest);
    return { sha256, bytes };
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

function cString(bytes: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(start, end));
}

/**
 * Reads the regular files of an (uncompressed) ustar/GNU tar archive: member path → contents
 * (views into `bytes`). Header checksums are verified.
 *
 * @throws {DataError} naming `file` for a malformed or truncated archive.
 */
export function readTar(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let pos = 0;
  let longName: string | null = null;
  while (pos + 512 <= bytes.length) {
    const h = bytes.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) return out;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
    const stored = parseInt(cString(h, 148, 8).trim() || "x", 8);
    if (stored !== sum) {
      throw new DataError(`${file}: not a tar archive (bad header checksum)`, file);
    }
    if (h[124] & 0x80) throw new DataError(`${file}: tar member too large (base-256 size)`, file);
    const size = parseInt(cString(h, 124, 12).trim() || "0", 8);
    const prefix = cString(h, 257, 5) === "ustar" ? cString(h, 345, 155) : "";
    const name = longName ?? (prefix ? `${prefix}/${cString(h, 0, 100)}` : cString(h, 0, 100));
    longName = null;
    const start = pos + 512;
    if (start + size > bytes.length) {
      throw new DataError(`${file}: truncated tar archive (member ${name})`, file);
    }
    const type = h[156];
    if (type === 0x4c) longName = cString(bytes, start, size); // GNU long name
    else if (type === 0 || type === 0x30) out.set(name, bytes.subarray(start, start + size));
    pos = start + Math.ceil(size / 512) * 512;
  }
  if (pos !== bytes.length) throw new DataError(`${file}: truncated tar archive`, file);
  return out;
}

function checkFetched(spec: DataFile, data: Uint8Array, path: string, from: string): void {
  const sha256 = sha256Hex(data);
  if (
    (spec.bytes !== null && spec.bytes !== data.length) ||
    (spec.sha256 !== null && spec.sha256 !== sha256)
  ) {
    throw corrupt(`${from} → ${path}`, spec, { bytes: data.length, sha256 });
  }
  if (spec.sha256 === null) spec.check?.(data, `${from} → ${basename(path)}`);
}

/** Downloads one `Download` into `dir`, writing only the data files in `wanted`. */
async function fetchDownload(
  source: DatasetSource,
  download: Download,
  dir: string,
  wanted: Set<string>,
  log: (line: string) => void,
): Promise<string[]> {
  const specs = new Map(source.files.map((f) => [f.name, f]));
  log(`${source.name}: downloading ${download.url}`);
  if (download.file !== undefined) {
    const spec = specs.get(download.file)!;
    const dest = join(dir, spec.name);
    const tmp = tempPathFor(dest);
    try {
      await downloadFile(download.url, tmp, download);
      checkFetched(spec, await Deno.readFile(tmp), dest, download.url);
      await commitTemp(tmp, dest);
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
    return [spec.name];
  }
  const archive = tempPathFor(join(dir, basename(new URL(download.url).pathname)));
  try {
    await downloadFile(download.url, archive, download);
    let tar: Uint8Array;
    try {
      const raw = gunzipSync(await Deno.readFile(archive));
      tar = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    } catch (error) {
      throw new DataError(`${download.url}: corrupt gzip archive (${(error as Error).message})`);
    }
    const members = readTar(tar, download.url);
    const written: string[] = [];
    const entries = Object.entries(download.members ?? {});
    // Check every wanted member before writing any, so a bad archive leaves the cache as it was.
    for (const [member, name] of entries) {
      if (!wanted.has(name)) continue;
      const data = members.get(member);
      if (data === undefined) {
        throw new DataError(`${download.url}: archive has no member ${member}`, download.url);
      }
      checkFetched(specs.get(name)!, data, join(dir, name), `${download.url}:${member}`);
    }
    for (const [member, name] of entries) {
      if (!wanted.has(name)) continue;
      await writeFileAtomic(join(dir, name), members.get(member)!);
      written.push(name);
    }
    return written;
  } finally {
    await Deno.remove(archive).catch(() => {});
  }
}

async function runCommand(cmd: string, args: string[], cwd: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      cwd,
      stdout: "piped",
      stderr: "piped",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`${cmd} not found (not a Debian/Ubuntu system?)`);
    }
    throw error;
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${cmd} ${args.slice(-2).join(" ")} exited with code ${out.code}: ${err}`);
  }
}

/**
 * Fetches a dataset's Debian package without root: `apt-get update` and `apt-get download`
 * with private state and cache folders in a temporary directory, `dpkg-deb -x`, then copies
 * the wanted files (verified against the table) into `dir` atomically.
 */
export async function fetchWithApt(
  source: DatasetSource,
  dir: string,
  wanted: Set<string>,
  log: (line: string) => void = () => {},
): Promise<string[]> {
  if (!source.debian) throw new Error(`${source.name} has no Debian package`);
  const { package: pkg, dir: installDir } = source.debian;
  const tmp = await Deno.makeTempDir({ prefix: "late-sam-apt-" });
  try {
    await Deno.mkdir(join(tmp, "lists", "partial"), { recursive: true });
    await Deno.mkdir(join(tmp, "archives", "partial"), { recursive: true });
    const o = [
      "-o",
      `Dir::State::Lists=${join(tmp, "lists")}`,
      "-o",
      `Dir::Cache=${tmp}`,
      "-o",
      "Debug::NoLocking=1",
    ];
    log(`${source.name}: apt-get update (private lists in ${tmp})`);
    await runCommand("apt-get", [...o, "-q", "update"], tmp);
    log(`${source.name}: apt-get download ${pkg}`);
    await runCommand("apt-get", [...o, "-q", "download", pkg], tmp);
    const deb = [...Deno.readDirSync(tmp)].find((e) => e.isFile && e.name.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
    const root = join(tmp, "root");
    await runCommand("dpkg-deb", ["-x", join(tmp, deb.name), root], tmp);
    const written: string[] = [];
    for (const spec of source.files) {
      if (!wanted.has(spec.name)) continue;
      const from = join(root, installDir, spec.name);
      const data = await Deno.readFile(from);
      checkFetched(spec, data, join(dir, spec.name), `${pkg}:${join(installDir, spec.name)}`);
      await writeFileAtomic(join(dir, spec.name), data);
      written.push(spec.name);
    }
    return written;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function waysToGetIt(source: DatasetSource, cacheDir: string | null): string[] {
  const files = source.files.map((f) => f.name).join(", ");
  const ways: string[] = [];
  if (source.debian) {
    ways.push(
      `install Debian's package: sudo apt-get install ${source.debian.package} ` +
        `(puts the files in ${source.debian.dir})`,
    );
    if (cacheDir) {
      ways.push(
        `or let late-sam fetch it without root (apt-get download ${source.debian.package} into ` +
          `the cache; on unless fetching is turned off with fetch: false)`,
      );
    }
  }
  const where = cacheDir ? ` into ${cacheDir} (late-sam does this itself when fetching is on)` : "";
  const archives = source.downloads.filter((d) => d.members !== undefined).map((d) => d.url);
  if (archives.length > 0) ways.push(`download ${archives.join(" or ")} and extract it${where}`);
  const bases = [
    ...new Set(
      source.downloads.filter((d) => d.file !== undefined).map((d) =>
        d.url.slice(0, d.url.lastIndexOf("/") + 1)
      ),
    ),
  ];
  if (bases.length > 0) ways.push(`download ${files} from ${bases.join(" or ")}${where}`);
  ways.push(`put ${files} in a folder DIR (or DIR/${source.name}) and pass --data-dir DIR`);
  ways.push(`or set ${DATA_ENV}=DIR (DIR or DIR/${source.name} holding the files)`);
  ways.push(`see ${source.homepage}`);
  return ways;
}

/**
 * Locates, verifies and (if allowed) fetches a dataset's files, in the order documented in
 * this module.
 *
 * @throws {DataError} for a corrupt or partial copy, or, when every route fails, listing what
 * was tried and every way to get the data.
 */
export async function resolveDataset(
  source: DatasetSource,
  options: ResolveOptions = {},
): Promise<ResolvedDataset> {
  const env = options.env ?? readEnv();
  const log = options.log ?? (() => {});
  const tried: string[] = [];
  const resolved = async (dir: string, paths: Map<string, string>, origin: DataOrigin) => ({
    name: source.name,
    dir,
    origin,
    files: await verifyAll(source, paths),
  });

  if (options.dataDir !== undefined) {
    const found = await locate(source, options.dataDir, true);
    if (found) return resolved(found.dir, found.paths, "data-dir");
    throw new DataError(
      `${source.name}: --data-dir ${options.dataDir} does not hold ` +
        `${source.files.map((f) => f.name).join(", ")} (looked in it, in ` +
        `${join(options.dataDir, source.name)} and in ${source.subdirs.join(", ")} below it)`,
      options.dataDir,
    );
  }

  const envDir = env[DATA_ENV];
  if (envDir) {
    const found = await locate(source, envDir, true);
    if (found) return resolved(found.dir, found.paths, "env");
    tried.push(`$${DATA_ENV}=${envDir}: no ${source.name} files there or in ${source.name}/`);
  } else {
    tried.push(`$${DATA_ENV}: not set`);
  }

  const debianDir = options.debianDir === undefined ? source.debian?.dir : options.debianDir;
  if (debianDir) {
    const found = await locate(source, debianDir, false);
    if (found) return resolved(found.dir, found.paths, "debian");
    tried.push(`${debianDir}: absent (package ${source.debian?.package ?? "?"} not installed)`);
  }

  const cacheRoot = options.cacheDir ?? defaultCacheRoot(env);
  const cacheDir = cacheRoot ? join(cacheRoot, source.name) : null;
  if (cacheDir) {
    const paths = await presentFiles(source, cacheDir);
    const missing = missingOf(source, paths);
    if (missing.length === 0) return resolved(cacheDir, paths, "cache");
    tried.push(
      `${cacheDir}: ` + (paths.size === 0 ? "empty or absent" : `missing ${missing.join(", ")}`),
    );
    if (options.fetch === false) {
      tried.push("fetching: disabled");
    } else {
      await Deno.mkdir(cacheDir, { recursive: true });
      const wanted = new Set(missing);
      let origin: DataOrigin | null = null;
      if (source.debian && options.apt !== false) {
        try {
          for (const f of await fetchWithApt(source, cacheDir, wanted, log)) wanted.delete(f);
          origin = "fetched-apt";
        } catch (error) {
          tried.push(`apt-get download ${source.debian.package}: ${message(error)}`);
        }
      }
      for (const download of source.downloads) {
        if (wanted.size === 0) break;
        const provides = download.file !== undefined
          ? [download.file]
          : Object.values(download.members ?? {});
        if (!provides.some((f) => wanted.has(f))) continue;
        try {
          for (const f of await fetchDownload(source, download, cacheDir, wanted, log)) {
            wanted.delete(f);
          }
          origin = "fetched-url";
        } catch (error) {
          tried.push(message(error));
        }
      }
      if (wanted.size === 0) {
        const paths = await presentFiles(source, cacheDir);
        return resolved(cacheDir, paths, origin ?? "cache");
      }
    }
  } else {
    tried.push("cache: no $XDG_CACHE_HOME or $HOME");
  }

  throw new DataError(
    [
      `${source.title} (${source.name}) not found.`,
      "Tried:",
      ...tried.map((t) => `  - ${t}`),
      "Ways to get it:",
      ...waysToGetIt(source, cacheDir).map((w) => `  - ${w}`),
    ].join("\n"),
  );
}
