/**
 * Fast kernels for the tfjs `wasm` backend, and their registration.
 *
 * tfjs 4.22's wasm backend cannot train conv nets out of the box (no `Conv2DBackpropFilter`),
 * and several kernels a training step needs run far below what its XNNPACK matmul and
 * convolution reach (see `docs/benchmarks.md`). Each replacement lives in its own module
 * under `core/wasm/` and has an oracle test against the stock kernels:
 *
 * - `Conv2DBackpropInput`, `Conv2DBackpropFilter` (`wasm/conv_grad.ts`): rebuilt from the
 *   forward convolution;
 * - `Identity`, same-type `Cast` (`wasm/identity.ts`): share the buffer instead of copying it;
 * - `MaxPoolGrad` of 2×2 pools with stride 2 (`wasm/max_pool_grad.ts`): one pass in JavaScript;
 * - `Sum`, `Mean` over leading axes (`wasm/reduce.ts`): one pass in JavaScript;
 * - `BatchMatMul` with transposed operands (`wasm/mat_mul.ts`): transpose, then XNNPACK;
 * - `Slice` (`wasm/slice.ts`): heap-to-heap copies over merged dimensions;
 * - `Transpose` swapping the outermost and innermost dimensions (`wasm/transpose.ts`):
 *   a cache-blocked copy;
 * - `ReluBackprop` (`wasm/relu_backprop.ts`, new): ReLU's gradient in one pass, used by the
 *   models' `relu`.
 *
 * A replacement covers the attribute combinations the project's models produce and falls back
 * to the stock kernel for the others. {@link registerWasmKernels} installs them after the wasm
 * backend is initialized; {@link unregisterWasmKernels} restores the stock kernels (for
 * comparisons).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BACKEND } from "./wasm/kernel_util.ts";
import { conv2DBackpropFilterWasm, conv2DBackpropInputWasm } from "./wasm/conv_grad.ts";
import { buildCast, buildIdentity } from "./wasm/identity.ts";
import { buildBatchMatMul } from "./wasm/mat_mul.ts";
import { buildMaxPoolGrad } from "./wasm/max_pool_grad.ts";
import { buildMean, buildSum } from "./wasm/reduce.ts";
import { RELU_BACKPROP, reluBackpropWasm } from "./wasm/relu_backprop.ts";
import { buildSlice } from "./wasm/slice.ts";
import { buildTranspose } from "./wasm/transpose.ts";

/** A fast kernel: the kernel it replaces, built from the stock one (its fallback), if any. */
interface FastKernel {
  name: string;
  build(stock: tf.KernelConfig | undefined): tf.KernelFunc;
}

const FAST_KERNELS: readonly FastKernel[] = [
  { name: tf.Conv2DBackpropInput, build: () => conv2DBackpropInputWasm },
  { name: tf.Conv2DBackpropFilter, build: () => conv2DBackpropFilterWasm },
  { name: tf.Identity, build: buildIdentity },
  { name: tf.Cast, build: buildCast },
  { name: tf.MaxPoolGrad, build: buildMaxPoolGrad },
  { name: tf.Sum, build: buildSum },
  { name: tf.Mean, build: buildMean },
  { name: tf.BatchMatMul, build: buildBatchMatMul },
  { name: tf.Slice, build: buildSlice },
  { name: tf.Transpose, build: buildTranspose },
  { name: RELU_BACKPROP, build: () => reluBackpropWasm },
];

/** The convolution-gradient kernels, without which conv nets cannot train on wasm. */
export const WASM_GRAD_KERNELS = [tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter] as const;

/** Every kernel name {@link registerWasmKernels} replaces or adds. */
export const WASM_KERNELS: readonly string[] = FAST_KERNELS.map((k) => k.name);

/** The stock kernels replaced by the current registration (undefined: none existed). */
let stock: Map<string, tf.KernelConfig | undefined> | null = null;

function lookup(name: string): tf.KernelConfig | undefined {
  return tf.getKernelsForBackend(BACKEND).find((k) => k.kernelName === name);
}

/** Options of {@link registerWasmKernels}. */
export interface RegisterOptions {
  /** Register only these kernels (default: all of {@link WASM_KERNELS}). */
  only?: readonly string[];
}

/**
 * Registers the fast kernels for the wasm backend, replacing the stock ones (which stay
 * available to them as fallbacks). Idempotent: a second call does nothing until
 * {@link unregisterWasmKernels}.
 *
 * @throws {Error} when `only` names a kernel that is not in {@link WASM_KERNELS}.
 */
export function registerWasmKernels(options: RegisterOptions = {}): void {
  if (stock != null) return;
  const only = options.only ?? WASM_KERNELS;
  const unknown = only.filter((n) => !WASM_KERNELS.includes(n));
  if (unknown.length > 0) {
    throw new Error(`registerWasmKernels: no fast kernel for ${unknown.join(", ")}`);
  }
  stock = new Map();
  for (const k of FAST_KERNELS) {
    if (!only.includes(k.name)) continue;
    const old = lookup(k.name);
    stock.set(k.name, old);
    if (old != null) tf.unregisterKernel(k.name, BACKEND);
    // The stock setup (binding its wasm function) also serves the fallback after a re-init.
    tf.registerKernel({
      kernelName: k.name,
      backendName: BACKEND,
      kernelFunc: k.build(old),
      setupFunc: old?.setupFunc,
    });
  }
}

/** Restores the wasm backend's stock kernels; undoes {@link registerWasmKernels}. */
export function unregisterWasmKernels(): void {
  if (stock == null) return;
  for (const [name, old] of stock) {
    tf.unregisterKernel(name, BACKEND);
    if (old != null) tf.registerKernel(old);
  }
  stock = null;
}

/** Whether {@link registerWasmKernels} is in effect. */
export function wasmKernelsRegistered(): boolean {
  return stock != null;
}

/** The kernel names the current registration replaced or added (empty when none). */
export function registeredWasmKernels(): string[] {
  return stock == null ? [] : [...stock.keys()];
}
