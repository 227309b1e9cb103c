import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  type BackendChoice,
  BackendEnum,
  BackendError,
  backendInfo,
  type BackendName,
  BACKENDS,
  checkWebGpu,
  DEFAULT_BACKEND,
  DEFAULT_TFJS_NODE,
  isBackendName,
  npmPackageMissing,
  resolveConfigBackend,
  TFJS_NODE_ENV,
  tfjsNodeSpecifier,
  useBackend,
  wasmBinaryDir,
} from "../../core/backend.ts";
import { wasmKernelsRegistered } from "../../core/wasm_kernels.ts";

/** Runs `f` with the environment variable `name` set to `value` (or unset for undefined). */
async function withEnv<T>(name: string, value: string | undefined, f: () => Promise<T>) {
  const old = Deno.env.get(name);
  if (value === undefined) Deno.env.delete(name);
  else Deno.env.set(name, value);
  try {
    return await f();
  } finally {
    if (old === undefined) Deno.env.delete(name);
    else Deno.env.set(name, old);
  }
}

Deno.test("backend names form an enum; auto is the default and parses to a real backend", () => {
  assert.deepEqual([...BACKENDS], ["native", "wasm", "cpu", "webgpu", "tensorflow"]);
  assert.equal(DEFAULT_BACKEND, "auto");
  assert.equal(BackendEnum.parse("webgpu"), "webgpu");
  assert.equal(BackendEnum.parse("auto"), "auto");
  const resolved = resolveConfigBackend({ backend: "auto" as BackendChoice, seed: 1 });
  assert.ok(["native", "wasm"].includes(resolved.backend));
  assert.equal(resolved.seed, 1);
  assert.deepEqual(resolveConfigBackend({ backend: "cpu" }), { backend: "cpu" });
  assert.throws(() => BackendEnum.parse("gpu"));
  assert.ok(isBackendName("cpu"));
  assert.ok(!isBackendName("webgl"));
});

Deno.test("unknown backend names are rejected, naming the available ones", async () => {
  await assert.rejects(
    () => useBackend("webgl" as BackendName),
    (e: unknown) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /unknown backend "webgl"/);
      assert.match(e.message, /auto, native, wasm, cpu, webgpu, tensorflow/);
      return true;
    },
  );
});

Deno.test("cpu: selected without the tfjs-node banner", async () => {
  assert.equal(await useBackend("cpu"), "cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.equal((tf.backend() as unknown as { firstUse: boolean }).firstUse, false);
  assert.deepEqual(backendInfo(), { name: "cpu" });
  const t = tf.tensor([1, 2, 3]);
  assert.deepEqual([...t.dataSync()], [1, 2, 3]);
  t.dispose();
});

Deno.test("wasm: binaries found in the npm package, SIMD on, gradient kernels registered", async () => {
  const dir = wasmBinaryDir();
  assert.ok(dir.endsWith("/dist/"), dir);
  assert.ok(Deno.statSync(dir + "tfjs-backend-wasm-simd.wasm").isFile);

  assert.equal(await useBackend("wasm"), "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.ok(wasmKernelsRegistered());
  assert.ok(tf.getKernel(tf.Conv2DBackpropFilter, "wasm") != null);
  const info = backendInfo();
  assert.equal(info.name, "wasm");
  assert.equal(info.simd, true);
  assert.equal(typeof info.threads, "boolean");

  // Selecting again (and switching back and forth) is harmless and warns about nothing.
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args);
  try {
    await useBackend("cpu");
    assert.equal(await useBackend("wasm"), "wasm");
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
  const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])));
  assert.deepEqual([...y.dataSync()], [11]);
  y.dispose();
  await useBackend("cpu");
});

Deno.test("webgpu: a missing navigator.gpu explains the flag", async () => {
  await assert.rejects(
    () => checkWebGpu(null),
    (e: unknown) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /navigator\.gpu is missing/);
      assert.match(e.message, /--unstable-webgpu/);
      return true;
    },
  );
  // The same through useBackend, with navigator.gpu hidden (Deno 2.9 exposes it by default).
  Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
  try {
    await assert.rejects(() => useBackend("webgpu"), /BackendError.*--unstable-webgpu/s);
  } finally {
    delete (navigator as unknown as { gpu?: unknown }).gpu;
  }
  assert.equal(tf.getBackend(), "cpu");
});

Deno.test("webgpu: no adapter explains which driver to install", async () => {
  await assert.rejects(
    () => checkWebGpu({ requestAdapter: () => Promise.resolve(null) }),
    (e: unknown) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /no adapter/);
      assert.match(e.message, /mesa-vulkan-drivers/);
      return true;
    },
  );
  await assert.rejects(
    () => checkWebGpu({ requestAdapter: () => Promise.reject(new Error("device lost")) }),
    /requestAdapter\(\) failed: device lost.*mesa-vulkan-drivers/s,
  );
  assert.equal(
    await checkWebGpu({
      requestAdapter: () => Promise.resolve({ info: { description: "Test GPU" } }),
    }),
    "Test GPU",
  );
});

function tensorflowError(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof BackendError, String(e));
    assert.match(e.message, /^backend tensorflow: cannot load /);
    assert.match(e.message, /libtensorflow/);
    assert.match(e.message, /--allow-scripts/);
    assert.match(e.message, pattern);
    return true;
  };
}

Deno.test("tensorflow: tfjs-node-gpu is not installable here, so selecting it explains why", async () => {
  await withEnv(TFJS_NODE_ENV, undefined, async () => {
    assert.equal(tfjsNodeSpecifier(), DEFAULT_TFJS_NODE);
    // Not installed: refused before any import (which would query npm and, refused by the
    // frozen lock, break every later dynamic import in this process).
    const t0 = performance.now();
    await assert.rejects(
      () => useBackend("tensorflow"),
      tensorflowError(/npm:@tensorflow\/tfjs-node-gpu@4\.22\.0 \(.*not installed/),
    );
    assert.ok(performance.now() - t0 < 1000);
  });
  assert.equal(tf.getBackend(), "cpu");
});

Deno.test("npm packages are looked up in node_modules before importing", () => {
  assert.equal(npmPackageMissing("npm:@tensorflow/tfjs@4.22.0"), null);
  assert.equal(npmPackageMissing("npm:@tensorflow/tfjs"), null);
  assert.equal(npmPackageMissing("npm:zod@4.6.7/mini"), null);
  assert.match(
    npmPackageMissing("npm:@tensorflow/tfjs@4.21.0")!,
    /4\.22\.0 is installed, not 4\.21\.0/,
  );
  assert.match(npmPackageMissing(DEFAULT_TFJS_NODE)!, /tfjs-node-gpu is not installed/);
  assert.equal(npmPackageMissing("file:///opt/tfjs-node/index.js"), null);
});

Deno.test("tensorflow: the module comes from LATE_SAM_TFJS_NODE", async () => {
  const missing = new URL("./no_such_tfjs_node.js", import.meta.url).href;
  await withEnv(TFJS_NODE_ENV, missing, async () => {
    assert.equal(tfjsNodeSpecifier(), missing);
    await assert.rejects(() => useBackend("tensorflow"), tensorflowError(/no_such_tfjs_node/));
  });
  // A module that loads but registers no "tensorflow" backend.
  await withEnv(TFJS_NODE_ENV, "data:text/javascript,export const x = 1;", async () => {
    await assert.rejects(
      () => useBackend("tensorflow"),
      tensorflowError(/did not register a tfjs backend named tensorflow/),
    );
  });
  assert.equal(tf.getBackend(), "cpu");
});

const webgpuAdapter = await checkWebGpu().catch(() => null);

Deno.test({
  name: "webgpu: trains a conv layer where an adapter exists (values read with data())",
  ignore: webgpuAdapter == null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const xs = Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i));
    const ws = Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i));
    const grad = async () => {
      const gw = tf.tidy(() =>
        tf.grad((w: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(tf.tensor4d(xs, [2, 5, 5, 3]), w as tf.Tensor4D, 2, "same")))
        )(tf.tensor4d(ws, [3, 3, 3, 4]))
      );
      const v = await gw.data(); // dataSync needs OffscreenCanvas on webgpu under Deno
      gw.dispose();
      return v;
    };
    await useBackend("cpu");
    const expected = await grad();
    assert.equal(await useBackend("webgpu"), "webgpu");
    assert.deepEqual(backendInfo(), { name: "webgpu", device: webgpuAdapter });
    const got = await grad();
    let err = 0;
    let scale = 0;
    for (let i = 0; i < got.length; i++) {
      err = Math.max(err, Math.abs(got[i] - expected[i]));
      scale = Math.max(scale, Math.abs(expected[i]));
    }
    assert.ok(err / scale < 1e-4, `relative error ${err / scale}`);
    await useBackend("cpu");
  },
});
