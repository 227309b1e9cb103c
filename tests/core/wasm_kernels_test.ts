import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import {
  registerWasmKernels,
  unregisterWasmKernels,
  WASM_GRAD_KERNELS,
  wasmKernelsRegistered,
} from "../../core/wasm_kernels.ts";
import { type Case, CASES, CI, CO, convGrads, label, N } from "./wasm/_conv_cases.ts";
import { relError, values } from "./wasm/_helpers.ts";

for (const firstLayer of [false, true]) {
  const what = firstLayer ? "first-layer (1 → 10 channels)" : "3 → 4 channel";
  Deno.test(`wasm ${what} conv gradients match the cpu backend's stock kernels`, async () => {
    await useBackend("cpu");
    const expected = CASES.map((c) => convGrads(c, firstLayer));
    await useBackend("wasm");
    assert.ok(wasmKernelsRegistered());
    const errors: string[] = [];
    CASES.forEach((c, i) => {
      const [dx, dw] = convGrads(c, firstLayer);
      const ex = relError(dx, expected[i][0]);
      const ew = relError(dw, expected[i][1]);
      if (!(ex <= 1e-4 && ew <= 1e-4)) errors.push(`${label(c)}: dx ${ex}, dW ${ew}`);
    });
    assert.deepEqual(errors, []);
    await useBackend("cpu");
  });
}

Deno.test("wasm conv gradients leak no tensors and no backend buffers", async () => {
  await useBackend("wasm");
  const c: Case = { h: 7, w: 7, k: [3, 3], stride: 2, pad: "same" };
  convGrads(c); // warm-up
  const tensors = tf.memory().numTensors;
  const buffers = tf.engine().backend.numDataIds();
  for (const d of CASES.slice(0, 8)) [false, true].forEach((first) => convGrads(d, first));
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.engine().backend.numDataIds(), buffers);

  // The kernels' outputs are owned by the engine like any op's: they survive the tidy that
  // returns them, and disposing them frees their buffers.
  const x = tf.tensor4d(values(N * 8 * 8 * CI, 4), [N, 8, 8, CI]);
  const dy = tf.tensor4d(values(N * 4 * 4 * CO, 5), [N, 4, 4, CO]);
  const w = tf.tensor4d(values(9 * CI * CO, 6), [3, 3, CI, CO]);
  const before = tf.engine().backend.numDataIds();
  const dw = tf.tidy(() =>
    tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, v as tf.Tensor4D, 2, "same"), dy)))(w)
  );
  const dx = tf.tidy(() =>
    tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, {
      strides: 2,
      pad: "same",
      dataFormat: "NHWC",
      inputShape: [N, 8, 8, CI],
    }) as tf.Tensor
  );
  assert.equal(tf.engine().backend.numDataIds(), before + 2);
  assert.deepEqual(dw.shape, [3, 3, CI, CO]);
  assert.deepEqual(dx.shape, [N, 8, 8, CI]);
  assert.ok(dw.dataSync().every(Number.isFinite) && dx.dataSync().every(Number.isFinite));
  tf.dispose([dw, dx]);
  assert.equal(tf.engine().backend.numDataIds(), before);
  tf.dispose([x, dy, w]);
  assert.equal(tf.memory().numTensors, tensors);
  await useBackend("cpu");
});

Deno.test("wasm conv gradients are deterministic (bitwise)", async () => {
  await useBackend("wasm");
  const c: Case = { h: 8, w: 8, k: [3, 3], stride: 2, pad: "same" };
  for (const firstLayer of [false, true]) {
    const [dx1, dw1] = convGrads(c, firstLayer);
    const [dx2, dw2] = convGrads(c, firstLayer);
    assert.deepEqual(new Uint8Array(dx1.buffer), new Uint8Array(dx2.buffer));
    assert.deepEqual(new Uint8Array(dw1.buffer), new Uint8Array(dw2.buffer));
  }
  await useBackend("cpu");
});

Deno.test("wasm conv gradient kernels reject what they do not support", async () => {
  await useBackend("wasm");
  tf.tidy(() => {
    const x = tf.zeros([1, 5, 5, 2]);
    const dy = tf.zeros([1, 5, 5, 3]);
    const w = tf.zeros([3, 3, 2, 3]);
    const filterAttrs = { strides: 1, pad: "same", dataFormat: "NHWC", filterShape: [3, 3, 2, 3] };
    assert.throws(
      () =>
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
          ...filterAttrs,
          dilations: 2,
        }),
      /Conv2DBackpropFilter on wasm supports dilation 1 only, got 2/,
    );
    assert.throws(
      () =>
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, {
          strides: 1,
          pad: "same",
          dataFormat: "NCHW",
          inputShape: [1, 2, 5, 5],
        }),
      /Conv2DBackpropInput on wasm supports dataFormat NHWC only/,
    );
    assert.throws(
      () =>
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...filterAttrs, strides: 2 }),
      /dy has shape \[1,5,5,3\], expected \[1,3,3,3\]/,
    );
  });
  await useBackend("cpu");
});

Deno.test("registering the wasm kernels is idempotent and reversible", async () => {
  await useBackend("wasm");
  const fast = WASM_GRAD_KERNELS.map((k) => tf.getKernel(k, "wasm").kernelFunc);
  registerWasmKernels();
  assert.deepEqual(WASM_GRAD_KERNELS.map((k) => tf.getKernel(k, "wasm").kernelFunc), fast);
  unregisterWasmKernels();
  assert.ok(!wasmKernelsRegistered());
  // Stock wasm: a slow input gradient and no filter gradient.
  assert.ok(tf.getKernel(tf.Conv2DBackpropInput, "wasm") != null);
  assert.ok(tf.getKernel(tf.Conv2DBackpropInput, "wasm").kernelFunc !== fast[0]);
  assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, "wasm"), undefined);
  registerWasmKernels();
  assert.ok(wasmKernelsRegistered());
  assert.deepEqual(WASM_GRAD_KERNELS.map((k) => tf.getKernel(k, "wasm").kernelFunc), fast);
  await useBackend("cpu");
});

/**
 * Gradients of the reference CNN (conv3×3×32 → relu → maxpool2 → conv3×3×64 → relu → maxpool2
 * → dense10, softmax cross-entropy) on a 28×28×1 batch of 2, on the current backend.
 */
function cnnGrads(): Float32Array[] {
  return tf.tidy(() => {
    const b = 2;
    const shapes = [[3, 3, 1, 32], [32], [3, 3, 32, 64], [64], [7 * 7 * 64, 10], [10]];
    const params = shapes.map((s, i) => {
      const n = s.reduce((a, d) => a * d, 1);
      const scale = s.length === 1 ? 0.1 : 1 / Math.sqrt(n / s[s.length - 1]);
      return tf.mul(tf.tensor(values(n, 10 + i), s), scale);
    });
    const x = tf.tensor4d(values(b * 28 * 28, 20), [b, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d([3, 7], "int32"), 10);
    const loss = (...p: tf.Tensor[]) => {
      let h = tf.relu(tf.add(tf.conv2d(x, p[0] as tf.Tensor4D, 1, "same"), p[1]));
      h = tf.maxPool(h as tf.Tensor4D, 2, 2, "valid");
      h = tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, p[2] as tf.Tensor4D, 1, "same"), p[3]));
      h = tf.maxPool(h as tf.Tensor4D, 2, 2, "valid");
      const logits = tf.add(tf.matMul(tf.reshape(h, [b, -1]), p[4]), p[5]);
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    };
    return tf.grads(loss)(params).map((g) => g.dataSync() as Float32Array);
  });
}

Deno.test("the reference CNN's gradients on wasm match the cpu backend", async () => {
  await useBackend("cpu");
  const expected = cnnGrads();
  await useBackend("wasm");
  const got = cnnGrads();
  got.forEach((g, i) => {
    const e = relError(g, expected[i]);
    assert.ok(e <= 1e-4, `parameter ${i}: relative error ${e}`);
  });
  await useBackend("cpu");
});
