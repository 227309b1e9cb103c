import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  backendInfo,
  NATIVE_THREADS_ENV,
  nativeAvailability,
  resolveBackend,
  useBackend,
} from "../../core/backend.ts";
import { BATCH_NORM_TRAIN } from "../../core/native/kernels.ts";
import { batchNorm, relu } from "../../models/layers.ts";
import { flatParams, makeStepper, type StepModel } from "../bench/step_fixture.ts";
import { CASES, convGrads, label } from "./wasm/_conv_cases.ts";
import { assertBitwise, relError, values } from "./wasm/_helpers.ts";

/** Native tests run where the shim builds and loads (gcc + libdnnl-dev); CI installs both. */
const ignore = !nativeAvailability().ok;

function convForward(c: (typeof CASES)[number]): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(2 * c.h * c.w * 3, 1), [2, c.h, c.w, 3]);
    const w = tf.tensor4d(values(c.k[0] * c.k[1] * 3 * 4, 2), [c.k[0], c.k[1], 3, 4]);
    return tf.conv2d(x, w, c.stride, c.pad).dataSync() as Float32Array;
  });
}

Deno.test({
  name: "native conv forward and gradients match the cpu backend's stock kernels",
  ignore,
  fn: async () => {
    const run = () =>
      CASES.flatMap((c) => [convForward(c), ...convGrads(c), ...convGrads(c, true)]);
    await useBackend("cpu");
    const expected = run();
    await useBackend("native");
    const got = run();
    const errors: string[] = [];
    got.forEach((g, i) => {
      const e = relError(g, expected[i]);
      if (!(e <= 1e-5)) errors.push(`${label(CASES[Math.floor(i / 5)])} #${i % 5}: ${e}`);
    });
    assert.deepEqual(errors, []);
  },
});

Deno.test({
  name: "native conv: batch 1, dilation 2 and an odd-sized strided layer match the cpu backend",
  ignore,
  fn: async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(values(1 * 11 * 9 * 5, 3), [1, 11, 9, 5]);
        const w = tf.tensor4d(values(3 * 3 * 5 * 7, 4), [3, 3, 5, 7]);
        const dilated = tf.conv2d(x, w, 1, "same", "NHWC", 2);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "valid")))
        )([x, w]);
        return [dilated, dx, dw].map((t) => t.dataSync() as Float32Array);
      });
    await useBackend("cpu");
    const expected = run();
    await useBackend("native");
    run().forEach((g, i) => assert.ok(relError(g, expected[i]) <= 1e-5, `output ${i}`));
  },
});

Deno.test({
  name: "native matmul: transposes and batch broadcasting match the cpu backend",
  ignore,
  fn: async () => {
    const run = () =>
      tf.tidy(() => {
        const a = tf.tensor(values(3 * 5 * 4, 5), [3, 5, 4]);
        const b = tf.tensor(values(4 * 6, 6), [1, 4, 6]);
        const c = tf.tensor(values(6 * 5, 7), [6, 5]);
        return [
          tf.matMul(a, b),
          tf.matMul(a, tf.tensor(values(3 * 6 * 4, 8), [3, 6, 4]), false, true),
          tf.matMul(c, tf.tensor(values(6 * 4, 9), [6, 4]), true, false),
          tf.matMul(c, c, false, true),
        ].map((t) => t.dataSync() as Float32Array);
      });
    await useBackend("cpu");
    const expected = run();
    await useBackend("native");
    run().forEach((g, i) => assert.ok(relError(g, expected[i]) <= 1e-6, `product ${i}`));
  },
});

/** Two optimizer steps on a small batch; the parameters after each, flattened. */
function twoSteps(model: StepModel, optimizer: "sgd" | "sam"): Float32Array[] {
  const step = makeStepper(model, optimizer, 8);
  const out: Float32Array[] = [];
  for (let i = 0; i < 2; i++) {
    const params = step();
    out.push(flatParams(params));
  }
  return out;
}

for (const model of ["cnn", "cnn-bn", "resnet20"] as const) {
  Deno.test({
    name: `native ${model} SGD and SAM steps equal the wasm steps within float32 tolerance`,
    ignore,
    fn: async () => {
      await useBackend("wasm");
      const wasm = [...twoSteps(model, "sgd"), ...twoSteps(model, "sam")];
      await useBackend("native");
      const native = [...twoSteps(model, "sgd"), ...twoSteps(model, "sam")];
      // Both sum in their own orders; BatchNorm and SAM's ascent amplify the float32 rounding
      // a little from step to step.
      native.forEach((p, i) => {
        const e = relError(p, wasm[i]);
        assert.ok(e <= 5e-4, `step ${i}: relative error ${e}`);
      });
    },
  });
}

Deno.test({
  name: "native results are bitwise repeatable and independent of the thread count",
  ignore,
  fn: async () => {
    const run = () => [...twoSteps("resnet20", "sgd"), ...twoSteps("cnn", "sam")];
    await useBackend("native", { threads: 1 });
    const one = run();
    assert.equal(backendInfo().threadCount, 1);
    const again = run();
    await useBackend("native", { threads: 2 });
    assert.equal(backendInfo().threadCount, 2);
    const two = run();
    one.forEach((p, i) => {
      assertBitwise(p, again[i], `repeat, step ${i}`);
      assertBitwise(p, two[i], `2 threads, step ${i}`);
    });
    await useBackend("native", { threads: 1 });
  },
});

Deno.test({
  name: "native results are bitwise equal across processes",
  ignore,
  fn: async () => {
    const script = new URL("./_native_probe.ts", import.meta.url).pathname;
    const outputs = await Promise.all([1, 2].map(async (threads) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script],
        env: { [NATIVE_THREADS_ENV]: String(threads) },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return new TextDecoder().decode(out.stdout).trim();
    }));
    assert.match(outputs[0], /^[0-9a-f]{64}$/);
    assert.equal(outputs[0], outputs[1]);
  },
});

Deno.test("backend auto falls back to wasm with one line saying why when native cannot build", async () => {
  const script = `
    import { resolveBackend } from ${
    JSON.stringify(new URL("../../core/backend.ts", import.meta.url).href)
  };
    console.log(resolveBackend("auto"));
    console.log(resolveBackend("auto"));
  `;
  const cache = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      env: { PATH: "/nonexistent", LATE_SAM_NATIVE_CACHE: cache },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim().split("\n");
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n");
    assert.equal(out.code, 0, stderr.join("\n"));
    assert.deepEqual(stdout, ["wasm", "wasm"]);
    assert.equal(stderr.length, 1, stderr.join("\n"));
    assert.match(stderr[0], /backend auto: using wasm.*gcc is not installed.*libdnnl-dev/);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test({
  name: "backend auto picks native where it loads; explicit choices pass through",
  ignore,
  fn: () => {
    assert.equal(resolveBackend("auto"), "native");
    assert.equal(resolveBackend("wasm"), "wasm");
    assert.equal(resolveBackend("cpu"), "cpu");
  },
});

Deno.test({
  name: "native BatchNorm (forward, running statistics, gradient) matches the cpu backend",
  ignore,
  fn: async () => {
    const run = () =>
      tf.tidy(() => {
        const out: Float32Array[] = [];
        for (const shape of [[4, 5, 3, 6], [7, 3]]) {
          const c = shape[shape.length - 1];
          const x = tf.add(tf.tensor(values(shape.reduce((a, b) => a * b), 11), shape), 0.3);
          const bn = {
            gamma: tf.tensor(values(c, 12)),
            beta: tf.tensor(values(c, 13)),
            mean: tf.zeros([c]),
            var: tf.ones([c]),
          };
          const w = tf.tensor(values(x.size, 14), shape);
          const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(batchNorm(a, { ...bn, gamma: g, beta: b }, "train").y, w));
          const grads = tf.grads(f)([x, bn.gamma, bn.beta]);
          const fwd = batchNorm(x, bn, "train");
          for (const t of [fwd.y, fwd.mean!, fwd.var!, ...grads]) {
            out.push(t.dataSync() as Float32Array);
          }
        }
        return out;
      });
    await useBackend("cpu");
    const expected = run();
    await useBackend("native");
    assert.ok(tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) != null, "fused kernel in use");
    run().forEach((g, i) => assert.ok(relError(g, expected[i]) <= 2e-6, `output ${i}`));
  },
});

Deno.test({
  name: "native ReLU and 2×2 max-pool gradients are bitwise the wasm kernels'",
  ignore,
  fn: async () => {
    const run = () =>
      tf.tidy(() => {
        // Ties (repeated values) and odd sizes: the last maximum of a window takes dy.
        const x = tf.round(tf.mul(tf.tensor4d(values(3 * 7 * 9 * 5, 15), [3, 7, 9, 5]), 3));
        const [dPool] = tf.grads((a: tf.Tensor) =>
          tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid"), 1.5))
        )([x]);
        const [dRelu] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(relu(a), a)))([x]);
        return [dPool, dRelu].map((t) => t.dataSync() as Float32Array);
      });
    await useBackend("wasm");
    const expected = run();
    await useBackend("native");
    run().forEach((g, i) => assertBitwise(g, expected[i], `gradient ${i}`));
  },
});
