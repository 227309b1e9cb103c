/**
 * The `native` backend's kernels: oneDNN convolutions and matmuls registered over the wasm
 * backend (see `kernels.ts`; the C shim is `shim.c`, built by `build.ts`, loaded by `ffi.ts`).
 *
 * {@link registerNativeKernels} replaces the wasm backend's kernels of those names and keeps
 * each replaced kernel as the fallback for cases the native one does not cover;
 * {@link unregisterNativeKernels} puts them back (for side-by-side comparisons).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { NATIVE_KERNELS } from "./kernels.ts";
import { loadNative, type NativeLibrary } from "./ffi.ts";

export { buildShim, NATIVE_INSTALL_HINT, NativeUnavailableError } from "./build.ts";
export { loadNative, type NativeLibrary } from "./ffi.ts";

const BACKEND = "wasm";

/** Kernel names the native backend computes. */
export const NATIVE_KERNEL_NAMES: readonly string[] = Object.keys(NATIVE_KERNELS);

let replaced: Map<string, tf.KernelConfig | undefined> | null = null;
let active: { lib: NativeLibrary; threads: number } | null = null;

/**
 * Registers the native kernels for the (initialized) wasm backend, running oneDNN on
 * `threads` threads. Idempotent for the same thread count.
 *
 * @throws {NativeUnavailableError} when the shim cannot be built or loaded.
 * @throws {Error} when already registered with another thread count.
 */
export function registerNativeKernels(threads: number): NativeLibrary {
  if (active != null) {
    if (active.threads !== threads) {
      throw new Error(
        `native kernels already run on ${active.threads} thread(s); ${threads} asked`,
      );
    }
    return active.lib;
  }
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`native threads must be a positive integer, got ${threads}`);
  }
  const lib = loadNative();
  const ctx = { lib, threads };
  replaced = new Map();
  for (const [name, build] of Object.entries(NATIVE_KERNELS)) {
    const old = tf.getKernelsForBackend(BACKEND).find((k) => k.kernelName === name);
    replaced.set(name, old);
    if (old != null) tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({
      kernelName: name,
      backendName: BACKEND,
      kernelFunc: build(ctx, old),
      setupFunc: old?.setupFunc,
    });
  }
  active = ctx;
  return lib;
}

/** Restores the kernels {@link registerNativeKernels} replaced. */
export function unregisterNativeKernels(): void {
  if (replaced == null) return;
  for (const [name, old] of replaced) {
    tf.unregisterKernel(name, BACKEND);
    if (old != null) tf.registerKernel(old);
  }
  replaced = null;
  active = null;
}

/** The thread count of the registered native kernels, or null when none are registered. */
export function nativeThreads(): number | null {
  return active?.threads ?? null;
}
