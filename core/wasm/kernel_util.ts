/**
 * Helpers shared by the fast wasm kernels: running another registered wasm kernel on
 * `TensorInfo`s, releasing intermediates, and reading or writing tensors in place on the wasm
 * heap.
 *
 * A kernel built from these creates no engine tensors: it calls other kernels' functions
 * directly and frees what it does not return, so `tf.profile` shows it as one kernel and
 * `tf.memory()` sees only its output.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The backend every kernel here is registered for. */
export const BACKEND = "wasm";

/**
 * The parts of tfjs' `BackendWasm` the kernels use beyond `KernelBackend`: allocating an
 * output on the wasm heap and viewing a tensor's heap memory as a typed array.
 */
export interface WasmHeapBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Runs another kernel registered for the wasm backend, returning a new owned TensorInfo. */
export function run(
  name: string,
  backend: tf.KernelBackend,
  inputs: tf.NamedTensorInfoMap,
  attrs: Record<string, unknown> = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(name, BACKEND);
  if (kernel == null) throw new Error(`wasm kernel ${name} is not registered`);
  const out = kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  if (Array.isArray(out)) throw new Error(`wasm kernel ${name} returned several outputs`);
  return out as tf.TensorInfo;
}

/** Releases intermediates (never pass a kernel's inputs here). */
export function free(backend: tf.KernelBackend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** A view of the same data under another shape (no copy; freed like any intermediate). */
export function reshape(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  shape: number[],
): tf.TensorInfo {
  return run(tf.Reshape, backend, { x }, { shape });
}

/**
 * Float32 views of tensors on the wasm heap. Allocate every output first: allocating can grow
 * the heap, which detaches views taken before.
 */
export function heapViews(backend: tf.KernelBackend, ...infos: tf.TensorInfo[]): Float32Array[] {
  const b = backend as WasmHeapBackend;
  return infos.map((info) => {
    if (info.dtype !== "float32") throw new Error(`expected float32, got ${info.dtype}`);
    return b.typedArrayFromHeap(info) as Float32Array;
  });
}

/**
 * Views of tensors' raw bits on the wasm heap for copying kernels: Int32Array for 4-byte
 * types (copying float32 data as integers keeps every bit, NaN payloads included),
 * Uint8Array for bool. All tensors must have the same dtype.
 */
export function bitViews(
  backend: tf.KernelBackend,
  ...infos: tf.TensorInfo[]
): Int32Array[] | Uint8Array[] {
  const b = backend as WasmHeapBackend;
  const dtype = infos[0].dtype;
  if (infos.some((i) => i.dtype !== dtype)) throw new Error("bitViews: mixed dtypes");
  if (dtype === "bool") return infos.map((i) => b.typedArrayFromHeap(i) as Uint8Array);
  if (dtype !== "float32" && dtype !== "int32") throw new Error(`bitViews: dtype ${dtype}`);
  return infos.map((i) => {
    const v = b.typedArrayFromHeap(i);
    return new Int32Array(v.buffer, v.byteOffset, v.length);
  });
}

/** A new float32 output on the wasm heap (uninitialized). */
export function makeOutput(backend: tf.KernelBackend, shape: number[]): tf.TensorInfo {
  return (backend as WasmHeapBackend).makeOutput(shape, "float32");
}

/** Product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
