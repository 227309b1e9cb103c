/**
 * Loads the native shim through Deno's FFI and exposes its entry points.
 *
 * The shim's functions take the wasm heap (a `Uint8Array` over tfjs-wasm's whole linear
 * memory, passed zero-copy as a pointer) and one `BigInt64Array` of shapes and byte offsets;
 * see `shim.c` for the layouts. A non-shared wasm memory's buffer is replaced when the heap
 * grows, so callers pass the heap's current view on every call, taken after allocating their
 * outputs.
 *
 * oneDNN runs on OpenMP; its default busy-waiting steals the core of a neighbouring worker
 * process, so `OMP_WAIT_POLICY=passive` is set (unless set already) before the library loads.
 *
 * @module
 */
import { buildShim, NativeUnavailableError } from "./build.ts";

/** Layout of the convolution parameters (mirrors the enum in `shim.c`). */
export const CONV_PARAM = {
  op: 0,
  threads: 1,
  n: 2,
  h: 3,
  w: 4,
  ci: 5,
  kh: 6,
  kw: 7,
  co: 8,
  oh: 9,
  ow: 10,
  sh: 11,
  sw: 12,
  dh: 13,
  dw: 14,
  pt: 15,
  pl: 16,
  pb: 17,
  pr: 18,
  x: 19,
  f: 20,
  y: 21,
  length: 22,
} as const;

/** Convolution directions (`CONV_PARAM.op`). */
export const CONV_OP = { forward: 0, inputGrad: 1, filterGrad: 2 } as const;

/** Layout of the matmul parameters (mirrors the enum in `shim.c`). */
export const MATMUL_PARAM = {
  threads: 0,
  transA: 1,
  transB: 2,
  m: 3,
  n: 4,
  k: 5,
  batchA: 6,
  batchB: 7,
  a: 8,
  b: 9,
  c: 10,
  length: 11,
} as const;

/** Layout of the BatchNorm forward parameters (mirrors `shim.c`). */
export const BN_FORWARD_PARAM = {
  m: 0,
  c: 1,
  x: 2,
  gamma: 3,
  beta: 4,
  y: 5,
  mean: 6,
  variance: 7,
  r: 8,
  length: 9,
} as const;

/** Layout of the BatchNorm backward parameters (mirrors `shim.c`). */
export const BN_BACKWARD_PARAM = {
  m: 0,
  c: 1,
  dy: 2,
  x: 3,
  mean: 4,
  r: 5,
  gamma: 6,
  dx: 7,
  dgamma: 8,
  dbeta: 9,
  length: 10,
} as const;

/** oneDNN's `dnnl_cpu_isa_t` values by name. */
const ISA_NAMES: Record<number, string> = {
  0x1: "sse41",
  0x3: "avx",
  0x7: "avx2",
  0x407: "avx2_vnni",
  0xf: "avx512_mic",
  0x1f: "avx512_mic_4ops",
  0x27: "avx512_core",
  0x67: "avx512_core_vnni",
  0xe7: "avx512_core_bf16",
  0x3e7: "avx512_core_amx",
};

const SYMBOLS = {
  ls_conv2d: { parameters: ["buffer", "buffer"], result: "i32" },
  ls_matmul: { parameters: ["buffer", "buffer"], result: "i32" },
  ls_bn_forward: { parameters: ["buffer", "buffer", "f64"], result: "i32" },
  ls_bn_backward: { parameters: ["buffer", "buffer"], result: "i32" },
  ls_relu_backprop: { parameters: ["buffer", "i64", "i64", "i64", "i64"], result: "i32" },
  ls_max_pool2_grad: { parameters: ["buffer", "buffer"], result: "i32" },
  ls_last_error: { parameters: [], result: "pointer" },
  ls_dnnl_version: { parameters: [], result: "i64" },
  ls_cpu_isa: { parameters: [], result: "i64" },
} as const;

/** The loaded shim. */
export interface NativeLibrary {
  /** Runs a convolution direction; throws on a oneDNN error. */
  conv2d(heap: Uint8Array, params: BigInt64Array): void;
  /** Runs a batched matmul; throws on a oneDNN error. */
  matmul(heap: Uint8Array, params: BigInt64Array): void;
  /** Train-mode BatchNorm forward ({@link BN_FORWARD_PARAM}). */
  bnForward(heap: Uint8Array, params: BigInt64Array, eps: number): void;
  /** Train-mode BatchNorm backward ({@link BN_BACKWARD_PARAM}). */
  bnBackward(heap: Uint8Array, params: BigInt64Array): void;
  /** ReLU's gradient from its output: n values at byte offsets dy, y, dx. */
  reluBackprop(heap: Uint8Array, n: number, dy: number, y: number, dx: number): void;
  /** 2×2 stride-2 max-pool gradient: [n, h, w, c, x, dy, dx]. */
  maxPool2Grad(heap: Uint8Array, params: BigInt64Array): void;
  /** oneDNN's version, as loaded (e.g. `2.6.3`). */
  dnnlVersion: string;
  /**
   * The instruction set oneDNN runs on here (e.g. `avx512_core`): its kernels, and so the
   * last bits of native results, differ between instruction sets.
   */
  isa: string;
  /** Path of the shared library. */
  path: string;
}

let loaded: NativeLibrary | null = null;

/**
 * Builds (on first use) and loads the shim, once per process.
 *
 * @throws {NativeUnavailableError} when it cannot be built or loaded, saying why.
 */
export function loadNative(): NativeLibrary {
  if (loaded != null) return loaded;
  const built = buildShim();
  try {
    if (!Deno.env.get("OMP_WAIT_POLICY")) Deno.env.set("OMP_WAIT_POLICY", "passive");
  } catch {
    // no --allow-env: OpenMP keeps its default
  }
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(built.path, SYMBOLS);
  } catch (e) {
    throw new NativeUnavailableError(
      `cannot load ${built.path}: ${e instanceof Error ? e.message : String(e)} ` +
        "(the oneDNN runtime libdnnl2 may be missing)",
      { cause: e },
    );
  }
  const check = (what: string, rc: number) => {
    if (rc === 0) return;
    const p = lib.symbols.ls_last_error();
    const why = p == null ? "" : new Deno.UnsafePointerView(p).getCString();
    throw new Error(`native ${what}: ${why || `error ${rc}`}`);
  };
  const v = Number(lib.symbols.ls_dnnl_version());
  loaded = {
    conv2d: (heap, params) => check("conv2d", lib.symbols.ls_conv2d(heap, params)),
    matmul: (heap, params) => check("matmul", lib.symbols.ls_matmul(heap, params)),
    bnForward: (heap, params, eps) =>
      check("BatchNorm", lib.symbols.ls_bn_forward(heap, params, eps)),
    bnBackward: (heap, params) => check("BatchNorm grad", lib.symbols.ls_bn_backward(heap, params)),
    reluBackprop: (heap, n, dy, y, dx) =>
      check(
        "ReluBackprop",
        lib.symbols.ls_relu_backprop(heap, BigInt(n), BigInt(dy), BigInt(y), BigInt(dx)),
      ),
    maxPool2Grad: (heap, params) =>
      check("MaxPoolGrad", lib.symbols.ls_max_pool2_grad(heap, params)),
    dnnlVersion: `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`,
    isa: ISA_NAMES[Number(lib.symbols.ls_cpu_isa())] ??
      `isa 0x${lib.symbols.ls_cpu_isa().toString(16)}`,
    path: built.path,
  };
  return loaded;
}
