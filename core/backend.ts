/**
 * Compute backends for tfjs.
 *
 * - `native`: the wasm backend with its convolutions and matmuls computed by oneDNN through
 *   Deno's FFI (`native/`), on `threads` oneDNN threads (default {@link NATIVE_THREADS_ENV},
 *   else 1). Needs `gcc` and Debian's `libdnnl-dev`; the C shim is built on first use.
 * - `auto` (the default choice): `native` where it loads, else `wasm`, saying why once.
 * - `wasm`: XNNPACK with SIMD; {@link useBackend} adds the fast kernels of
 *   `wasm_kernels.ts` (conv gradients, without which conv nets cannot train on it, and faster
 *   replacements of slow stock kernels). One thread by default; `threads` (or the environment
 *   variable {@link WASM_THREADS_ENV}) ≥ 2 loads tfjs' threaded binary (`wasm_threads.ts`),
 *   whose results are bitwise those of one thread.
 * - `cpu`: pure JavaScript; the toy problems run on it, and it is the test oracle.
 * - `webgpu`: needs `navigator.gpu` (Deno: `--unstable-webgpu` where WebGPU is not on by default)
 *   and an adapter (any Vulkan driver; Debian's `mesa-vulkan-drivers` gives a CPU one).
 * - `tensorflow`: `@tensorflow/tfjs-node-gpu` (libtensorflow), loaded only on request from the
 *   specifier in `LATE_SAM_TFJS_NODE`; it cannot be installed on machines that cannot reach the
 *   host its install script downloads libtensorflow from.
 *
 * Backend packages are imported only when selected, so importing this module has no effect on
 * tfjs' backend registry.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { z } from "zod";
import { registerWasmKernels } from "./wasm_kernels.ts";
import {
  loadNative,
  NATIVE_INSTALL_HINT,
  type NativeLibrary,
  NativeUnavailableError,
  registerNativeKernels,
  unregisterNativeKernels,
} from "./native/mod.ts";
import { installThreadedWasm, threadedWasmThreads, unrefWasmThreads } from "./wasm_threads.ts";

/** Backends this build can select. */
export const BACKENDS = ["native", "wasm", "cpu", "webgpu", "tensorflow"] as const;

/** A backend name. */
export type BackendName = (typeof BACKENDS)[number];

/** What a `--backend` flag accepts: a backend, or `auto` ({@link resolveBackend}). */
export const BACKEND_CHOICES = ["auto", ...BACKENDS] as const;

/** A backend choice. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The backend choice used when none is named. */
export const DEFAULT_BACKEND: BackendChoice = "auto";

/** Environment variable with the number of wasm threads (default 1). */
export const WASM_THREADS_ENV = "LATE_SAM_WASM_THREADS";

/** Environment variable with the number of oneDNN threads of the native backend (default 1). */
export const NATIVE_THREADS_ENV = "LATE_SAM_NATIVE_THREADS";

/**
 * A `--backend` config field: any of {@link BACKEND_CHOICES}. The command line resolves `auto`
 * right after parsing ({@link resolveConfigBackend}), so stored configs, hashes and manifests
 * name the backend that ran.
 */
export const BackendEnum = z.enum(BACKEND_CHOICES);

/**
 * A parsed config with its top-level `backend` field resolved (`auto` → `native` or `wasm`);
 * configs without one are returned as they are.
 */
export function resolveConfigBackend<C>(config: C): C {
  const backend = (config as { backend?: unknown })?.backend;
  if (backend !== "auto") return config;
  return { ...config, backend: resolveBackend("auto") };
}

/** Environment variable naming the module that provides the `tensorflow` backend. */
export const TFJS_NODE_ENV = "LATE_SAM_TFJS_NODE";

/** Module imported for the `tensorflow` backend when {@link TFJS_NODE_ENV} is unset. */
export const DEFAULT_TFJS_NODE = "npm:@tensorflow/tfjs-node-gpu@4.22.0";

/** A backend that cannot be selected on this machine; the message says why and what to do. */
export class BackendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BackendError";
  }
}

/** Whether `name` is one of {@link BACKENDS}. */
export function isBackendName(name: string): name is BackendName {
  return (BACKENDS as readonly string[]).includes(name);
}

/** What the manifests record about the active backend. */
export interface BackendInfo {
  /** tfjs backend name (`tensorflow` for tfjs-node). */
  name: string;
  /** wasm: whether the SIMD binary runs. */
  simd?: boolean;
  /** wasm: whether the multi-threaded binary runs. */
  threads?: boolean;
  /** wasm: the number of threads XNNPACK runs on. */
  threadCount?: number;
  /** webgpu: the adapter's description. */
  device?: string;
  /** native: the kernel library and its version (e.g. `oneDNN 2.6.3`). */
  library?: string;
}

let wasmFlags: { simd: boolean; threads: boolean; threadCount: number } | null = null;
let nativeActive: { library: string; threadCount: number } | null = null;
let wasmPathsSet = false;
let webgpuDevice: string | null = null;

/** Describes the active tfjs backend (for run manifests). */
export function backendInfo(): BackendInfo {
  const name = tf.getBackend() ?? "none";
  if (name === "wasm" && nativeActive != null) {
    return { name: "native", simd: wasmFlags?.simd, ...nativeActive };
  }
  if (name === "wasm" && wasmFlags != null) return { name, ...wasmFlags };
  if (name === "webgpu" && webgpuDevice != null) return { name, device: webgpuDevice };
  return { name };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function activate(name: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new BackendError(`tfjs backend "${name}" failed to initialize: ${messageOf(e)}`, {
      cause: e,
    });
  }
  if (!ok) throw new BackendError(`tfjs backend "${name}" failed to initialize`);
}

/** Path of the folder holding the tfjs wasm binaries, with a trailing slash. */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  const simd = require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm");
  return dirname(simd) + "/";
}

/** A positive integer from the environment variable `name`, or null when unset. */
function positiveIntEnv(name: string): number | null {
  let value: string | undefined;
  try {
    value = Deno.env.get(name);
  } catch {
    value = undefined; // no --allow-env
  }
  if (value == null || value === "") return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new BackendError(`${name} must be a positive integer, got "${value}"`);
  }
  return n;
}

/** The wasm thread count asked for by {@link WASM_THREADS_ENV}, or null when unset. */
export function wasmThreadsFromEnv(): number | null {
  return positiveIntEnv(WASM_THREADS_ENV);
}

async function useWasm(threads: number | null): Promise<void> {
  const installed = threadedWasmThreads() ?? 1;
  const wanted = threads ?? wasmThreadsFromEnv() ?? installed;
  if (wanted !== installed) {
    if (tf.engine().registry["wasm"] != null) {
      throw new BackendError(
        `backend wasm: already running on ${installed} thread(s); the thread count ` +
          `(${wanted} asked) can only be chosen before the wasm backend is first used`,
      );
    }
    try {
      await installThreadedWasm(wanted);
    } catch (e) {
      throw new BackendError(`backend wasm: cannot start ${wanted} threads: ${messageOf(e)}`, {
        cause: e,
      });
    }
  }
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  if (!wasmPathsSet) {
    // Before the backend first initializes: the binaries ship inside the npm package.
    wasm.setWasmPaths(wasmBinaryDir());
    wasmPathsSet = true;
  }
  await activate("wasm");
  unrefWasmThreads();
  registerWasmKernels();
  unregisterNativeKernels();
  nativeActive = null;
  const threadCount = wasm.getThreadsCount();
  wasmFlags = {
    simd: Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")),
    threads: threadCount > 1,
    threadCount,
  };
}

/** The native thread count asked for by {@link NATIVE_THREADS_ENV}, or null when unset. */
export function nativeThreadsFromEnv(): number | null {
  return positiveIntEnv(NATIVE_THREADS_ENV);
}

/**
 * Gives each of `workers` processes its share of the cores as native threads: sets
 * {@link NATIVE_THREADS_ENV} (unless the user set it) to ⌊cores / workers⌋, at least 1, for
 * this process and the workers it starts. Native results do not depend on the thread count
 * (tested), so this changes speed only.
 */
export function shareCoresWithWorkers(workers: number): void {
  try {
    if (Deno.env.get(NATIVE_THREADS_ENV)) return;
    const cores = Math.max(1, navigator.hardwareConcurrency || 1);
    Deno.env.set(NATIVE_THREADS_ENV, String(Math.max(1, Math.floor(cores / workers))));
  } catch {
    // no --allow-env: one thread
  }
}

async function useNative(threads: number | null): Promise<void> {
  let lib: NativeLibrary;
  try {
    lib = loadNative();
  } catch (e) {
    throw new BackendError(`backend native: ${messageOf(e)}`, { cause: e });
  }
  // The rest of the step runs on one wasm thread: oneDNN holds the threads.
  await useWasm(threadedWasmThreads() ?? 1);
  const threadCount = threads ?? nativeThreadsFromEnv() ?? 1;
  registerNativeKernels(threadCount);
  nativeActive = { library: nativeLibraryName(lib), threadCount };
}

/** The native kernels' library as manifests record it, e.g. `oneDNN 2.6.3 (avx512_core)`. */
function nativeLibraryName(lib: NativeLibrary): string {
  return `oneDNN ${lib.dnnlVersion} (${lib.isa})`;
}

/**
 * What a manifest records about the native backend here: the library with its version and
 * instruction set, and the thread count of this process (null when native cannot load).
 */
export function nativeDescription(): { library: string; threads: number } | null {
  if (!nativeAvailability().ok) return null;
  return { library: nativeLibraryName(loadNative()), threads: nativeThreadsFromEnv() ?? 1 };
}

let nativeProbe: { ok: true } | { ok: false; why: string } | null = null;

/**
 * Whether the native backend can load here (building its shim on first use), and if not why;
 * checked once per process.
 */
export function nativeAvailability(): { ok: true } | { ok: false; why: string } {
  if (nativeProbe == null) {
    try {
      loadNative();
      nativeProbe = { ok: true };
    } catch (e) {
      const why = e instanceof NativeUnavailableError ? e.message : messageOf(e);
      nativeProbe = { ok: false, why };
    }
  }
  return nativeProbe;
}

let autoReported = false;

/**
 * The backend a choice runs on: `auto` is `native` where its library loads, else `wasm` (with
 * one line on stderr, once per process, saying why and how to get `native`).
 */
export function resolveBackend(choice: BackendChoice): BackendName {
  if (choice !== "auto") return choice;
  const native = nativeAvailability();
  if (native.ok) return "native";
  if (!autoReported) {
    autoReported = true;
    console.error(
      `backend auto: using wasm, native is unavailable (${native.why}); ` +
        `to get it: ${NATIVE_INSTALL_HINT}`,
    );
  }
  return "wasm";
}

/** The part of the WebGPU API that {@link checkWebGpu} uses. */
export interface GpuLike {
  requestAdapter(): Promise<unknown | null>;
}

/**
 * Checks that WebGPU can be used: `gpu` (by default `navigator.gpu`; null: missing) exists and
 * yields an adapter. Returns the adapter's description.
 *
 * @throws {BackendError} saying what is missing and how to get it.
 */
export async function checkWebGpu(
  gpu: GpuLike | null = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu ?? null,
): Promise<string> {
  if (gpu == null) {
    throw new BackendError(
      "backend webgpu: navigator.gpu is missing. Run Deno with --unstable-webgpu (e.g. " +
        "`deno run -A --unstable-webgpu ...`), or use a Deno version with WebGPU enabled.",
    );
  }
  let adapter: unknown = null;
  let why = "navigator.gpu found no adapter";
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    why = `navigator.gpu.requestAdapter() failed: ${messageOf(e)}`;
  }
  if (adapter == null) {
    throw new BackendError(
      `backend webgpu: ${why}. Install a Vulkan driver: a GPU vendor's ` +
        "driver, or on Debian/Ubuntu `apt-get install mesa-vulkan-drivers` (lavapipe, a CPU " +
        "Vulkan device: works, but slowly).",
    );
  }
  const info = (adapter as { info?: { description?: string; device?: string } }).info;
  return info?.description || info?.device || "unknown adapter";
}

async function useWebGpu(): Promise<void> {
  const device = await checkWebGpu();
  if (tf.findBackendFactory("webgpu") == null) {
    try {
      await import("@tensorflow/tfjs-backend-webgpu");
    } catch (e) {
      throw new BackendError(
        `backend webgpu: cannot load @tensorflow/tfjs-backend-webgpu: ${messageOf(e)}`,
        { cause: e },
      );
    }
  }
  await activate("webgpu");
  webgpuDevice = device;
}

/** The message for a `tensorflow` backend that cannot be loaded from `specifier`. */
function tensorflowMissing(specifier: string, why: string): string {
  return [
    `backend tensorflow: cannot load ${specifier} (${why}).`,
    "It needs @tensorflow/tfjs-node-gpu (or @tensorflow/tfjs-node for CPU) with libtensorflow,",
    "which the package's install script downloads from storage.googleapis.com; the install",
    "fails on machines that cannot reach that host, and Deno runs install scripts only when",
    "allowed. On a machine that can: `deno add npm:@tensorflow/tfjs-node-gpu@4.22.0 &&",
    "deno install --allow-scripts=npm:@tensorflow/tfjs-node-gpu` (CUDA 11.2 + cuDNN 8.1 for",
    "the GPU build), or set " + TFJS_NODE_ENV + " to another module specifier that registers",
    "the tfjs backend named tensorflow. Otherwise use --backend wasm.",
  ].join(" ");
}

/** The module imported for the `tensorflow` backend: {@link TFJS_NODE_ENV} or the default. */
export function tfjsNodeSpecifier(): string {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get(TFJS_NODE_ENV);
  } catch {
    fromEnv = undefined; // no --allow-env: use the default
  }
  return fromEnv || DEFAULT_TFJS_NODE;
}

/**
 * For an `npm:` specifier, the reason its package is not installed in `node_modules` (or does
 * not have the requested version), or null when it is (or the specifier is not `npm:`).
 *
 * Checked before importing because a failed dynamic import of an npm package that is not in
 * the frozen lockfile leaves Deno (2.9) failing every later dynamic import in the process
 * with "The lockfile is out of date", and first queries the npm registry.
 */
export function npmPackageMissing(specifier: string): string | null {
  const m = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?/.exec(specifier);
  if (m == null) return null;
  const [, name, version] = m;
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve(`${name}/package.json`);
  } catch {
    return `${name} is not installed in node_modules`;
  }
  if (version != null && /^\d+\.\d+\.\d+$/.test(version)) {
    const installed = JSON.parse(Deno.readTextFileSync(pkgJson)).version;
    if (installed !== version) return `${name} ${installed} is installed, not ${version}`;
  }
  return null;
}

async function useTensorflow(): Promise<void> {
  if (tf.findBackendFactory("tensorflow") == null) {
    const specifier = tfjsNodeSpecifier();
    const missing = npmPackageMissing(specifier);
    if (missing != null) throw new BackendError(tensorflowMissing(specifier, missing));
    try {
      // A non-literal specifier: never resolved by `deno check` or recorded in deno.lock.
      await import(specifier);
    } catch (e) {
      throw new BackendError(tensorflowMissing(specifier, messageOf(e).split("\n")[0]), {
        cause: e,
      });
    }
    if (tf.findBackendFactory("tensorflow") == null) {
      throw new BackendError(
        tensorflowMissing(specifier, "it did not register a tfjs backend named tensorflow"),
      );
    }
  }
  await activate("tensorflow");
}

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  /**
   * wasm: the number of threads (default: {@link WASM_THREADS_ENV}, else whatever runs, else
   * 1). Fixed once the wasm backend has been used in a process. native: oneDNN's threads
   * (default: {@link NATIVE_THREADS_ENV}, else 1); the wasm part runs on one thread.
   */
  threads?: number;
}

/**
 * Selects a backend and waits until it is ready.
 *
 * @throws {BackendError} naming the backend and why it cannot be selected (for unknown names,
 *   the ones available), or when a wasm thread count can no longer be changed.
 */
export async function useBackend(
  name: BackendName | "auto",
  options: UseBackendOptions = {},
): Promise<BackendName> {
  if (name === "auto") name = resolveBackend(name);
  if (!isBackendName(name)) {
    throw new BackendError(`unknown backend "${name}"; available: ${BACKEND_CHOICES.join(", ")}`);
  }
  switch (name) {
    case "native":
      await useNative(options.threads ?? null);
      break;
    case "wasm":
      await useWasm(options.threads ?? null);
      break;
    case "cpu":
      await activate("cpu");
      // The cpu backend prints a banner suggesting tfjs-node on its first tensor write under
      // Deno/Node; the project chooses its backend deliberately, so mark it as already shown.
      (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
      break;
    case "webgpu":
      await useWebGpu();
      break;
    case "tensorflow":
      await useTensorflow();
      break;
  }
  return name;
}
