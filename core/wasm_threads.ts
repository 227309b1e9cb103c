/**
 * The multi-threaded wasm backend under Deno.
 *
 * tfjs ships a threaded SIMD binary (XNNPACK on a pthreadpool of Web Workers) but never
 * selects it under Deno: it takes Deno for Node.js, where it disables threads, and its loader
 * hands Emscripten's pthread workers a `blob:` URL, which Node's `worker_threads` (as Deno
 * implements them) cannot start. This module loads that binary itself:
 *
 * - the pthread worker script (tfjs' `wasmWorkerContents`, escaped as tfjs escapes it) is
 *   written to a file named by its hash in the temp folder, without the one assignment
 *   Deno's worker scope refuses (`location`, a getter there), and Emscripten's `locateFile`
 *   and main-script hooks are pointed at real files;
 * - tfjs' C++ side sizes its thread pool when the module is instantiated, from
 *   `emscripten_num_logical_cores() / 2` (i.e. `os.cpus().length / 2`, halved for
 *   hyper-threading), capped below by 1: on a 2-core machine, 1 thread whatever is asked. So
 *   `os.cpus()` reports `2 × threads` cores while the module is instantiated, and is restored
 *   right after;
 * - the module becomes a `BackendWasm` registered as the backend named `wasm`, so every
 *   registered wasm kernel (stock and `wasm_kernels.ts`) runs on it.
 *
 * Only XNNPACK's operators (convolutions, matmuls, pooling) use the threads; they split
 * outputs into tiles and each output element is still summed by one thread in the order one
 * thread would use, so results are bitwise those of the single-threaded backend (tested
 * across processes). The other kernels stay single-threaded.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BackendWasm, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import os from "node:os";
import { sha256Hex } from "./hash.ts";

const require = createRequire(import.meta.url);
const PKG = "@tensorflow/tfjs-backend-wasm";
const MAIN = `${PKG}/wasm-out/tfjs-backend-wasm-threaded-simd.js`;
const WORKER = `${PKG}/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`;

/** The part of an Emscripten module this loader touches. */
interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread?: { unusedWorkers: { unref?(): void }[]; runningWorkers: { unref?(): void }[] };
  tfjs?: Record<string, (...a: number[]) => number>;
}

/** Writes the pthread worker script where Node's `worker_threads` can start it; its path. */
function workerScript(): string {
  const contents: string = require(WORKER).wasmWorkerContents;
  // tfjs escapes newlines before turning the script into a Blob; so must a file.
  const script = contents.replace(/\n/g, "\\n").replace("location:{href:__filename},", "");
  if (script.includes("location:{href:")) {
    throw new Error("wasm threads: unexpected pthread worker script (tfjs version?)");
  }
  const hash = sha256Hex(script).slice(0, 16);
  const path = join(os.tmpdir(), `late-sam-tfjs-pthread-${hash}.cjs`);
  try {
    if (Deno.readTextFileSync(path) === script) return path;
  } catch {
    // missing: write it
  }
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, script);
  Deno.renameSync(tmp, path);
  return path;
}

/** Instantiates the threaded SIMD module with a pool of `threads` (including the caller). */
async function instantiate(threads: number): Promise<EmscriptenModule> {
  const factory = require(MAIN) as (config: Record<string, unknown>) => Promise<EmscriptenModule>;
  const worker = workerScript();
  const wasmFile = join(dirname(require.resolve(MAIN)), "tfjs-backend-wasm-threaded-simd.wasm");
  const cpus = os.cpus;
  const reported = cpus();
  const many = Array.from({ length: 2 * threads }, (_, i) => reported[i % reported.length]);
  os.cpus = () => many;
  let module: EmscriptenModule;
  try {
    module = await factory({
      locateFile: (p: string) =>
        p.endsWith(".worker.js") ? worker : p.endsWith(".wasm") ? wasmFile : p,
      mainScriptUrlOrBlob: require.resolve(MAIN),
    });
  } finally {
    os.cpus = cpus;
  }
  // The bindings tfjs' own loader adds (backend_wasm.ts `init`).
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, []),
  };
  return module;
}

let installed: number | null = null;
let instance: EmscriptenModule | null = null;

/**
 * Lets the process exit while the pool's threads wait for work: Emscripten `ref()`s the
 * worker of every running pthread, and pthreadpool's threads never return. Call it after the
 * backend has started its threads (i.e. once the wasm backend is initialized).
 */
export function unrefWasmThreads(): void {
  const pool = instance?.PThread;
  if (pool == null) return;
  for (const w of [...pool.unusedWorkers, ...pool.runningWorkers]) w.unref?.();
}

/** The thread count of the installed threaded backend, or null when it is not installed. */
export function threadedWasmThreads(): number | null {
  return installed;
}

/**
 * Replaces the `wasm` backend's factory with the threaded binary on `threads` threads. Call it
 * before the wasm backend is first initialized; the backend is created when it is next
 * selected (`tf.setBackend("wasm")`).
 *
 * @throws {Error} when `threads` is not an integer ≥ 2, when the wasm backend already runs
 *   (its tensors would be lost), or when a different thread count was installed.
 */
export async function installThreadedWasm(threads: number): Promise<void> {
  if (!Number.isInteger(threads) || threads < 2) {
    throw new Error(`wasm threads: need an integer >= 2, got ${threads}`);
  }
  if (installed === threads) return;
  if (installed !== null) {
    throw new Error(`wasm threads: already running on ${installed} threads, not ${threads}`);
  }
  if (tf.engine().registry["wasm"] != null) {
    throw new Error("wasm threads: the single-threaded wasm backend is already initialized");
  }
  const module = await instantiate(threads);
  instance = module;
  setThreadsCount(threads);
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", () => new BackendWasm(module as never), 2);
  installed = threads;
}
