import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../core/backend.ts";
import {
  assertBitwise,
  onCpu,
  onFastWasm,
  onStockWasm,
  onWasmWith,
  read,
  smallNetGrads,
  values,
} from "./_helpers.ts";

/** The MaxPoolGrad kernel's dx for input `x` (values, shape) and dy = 1, 2, 3, … */
function poolGrad(
  xs: Float32Array,
  shape: [number, number, number, number],
  filter = 2,
  stride = 2,
): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, shape);
    const y = tf.maxPool(x, filter, stride, "valid");
    const dy = tf.reshape(tf.range(1, y.size + 1), y.shape);
    const dx = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input: x, output: y }, {
      filterSize: filter,
      strides: stride,
      pad: "valid",
    }) as tf.Tensor;
    return read(dx)[0];
  });
}

/** d/dz of sum(maxPool(relu(z)) · r) through the registered kernels. */
function reluPoolGrad(zs: Float32Array, shape: [number, number, number, number]): Float32Array {
  return tf.tidy(() => {
    const z = tf.tensor4d(zs, shape);
    const f = (t: tf.Tensor) => {
      const p = tf.maxPool(tf.relu(t) as tf.Tensor4D, 2, 2, "valid");
      return tf.sum(tf.mul(p, tf.tensor(values(p.size, 7), p.shape)));
    };
    return read(tf.grad(f)(z))[0];
  });
}

const SHAPES: [number, number, number, number][] = [
  [2, 8, 8, 3],
  [2, 7, 7, 4], // odd: the last row and column get no gradient
  [1, 6, 9, 5],
  [3, 28, 28, 32],
];

Deno.test("wasm 2x2 MaxPoolGrad equals the cpu backend on inputs without ties", async () => {
  const inputs = SHAPES.map((s, i) => values(s.reduce((a, b) => a * b, 1), 30 + i));
  const expected = await onCpu(() => SHAPES.map((s, i) => poolGrad(inputs[i], s)));
  const got = await onFastWasm(() => SHAPES.map((s, i) => poolGrad(inputs[i], s)));
  got.forEach((g, i) => assertBitwise(g, expected[i], `shape [${SHAPES[i]}]`));
  await useBackend("cpu");
});

Deno.test("wasm ReLU → 2x2 max-pool gradient equals the stock wasm one, ties included", async () => {
  // Coarse values: many exact ties, positive (constant regions, like a conv's bias over an
  // empty background) and zero (whole windows of negatives).
  const inputs = SHAPES.map((s, i) =>
    values(s.reduce((a, b) => a * b, 1), 40 + i).map((v) => Math.round(v * 2) / 2)
  );
  const stock = await onStockWasm(() => SHAPES.map((s, i) => reluPoolGrad(inputs[i], s)));
  const fast = await onFastWasm(() => SHAPES.map((s, i) => reluPoolGrad(inputs[i], s)));
  // Equal as numbers; the sign of zeros in all-zero windows may differ (see the kernel).
  fast.forEach((g, i) => {
    const differ = g.findIndex((v, j) => v !== stock[i][j]); // === treats −0 and +0 as equal
    assert.equal(differ, -1, `[${SHAPES[i]}] index ${differ}: ${g[differ]} vs ${stock[i][differ]}`);
  });
  await useBackend("cpu");
});

Deno.test("wasm 2x2 MaxPoolGrad sends a tied window's gradient to its last maximum", async () => {
  await useBackend("wasm");
  const cases: [number[], number[]][] = [
    [[1, 1, 1, 1], [0, 0, 0, 7]],
    [[2, 1, 2, 1], [0, 0, 7, 0]],
    [[-2, -1, -1, -2], [0, 0, 7, 0]], // the stock kernel would pick element 0 here
    [[-1, 0, -3, 0], [0, 0, 0, 7]], // the stock kernel would pick element 0 here
    [[0, -0, 0, -0], [0, 0, 7, 0]], // −0 counts below +0
    [[NaN, 1, 2, 3], [7, 0, 0, 0]], // a (positive) NaN above everything
    [[NaN, NaN, NaN, NaN], [0, 0, 0, 7]],
  ];
  for (const [x, want] of cases) {
    const got = tf.tidy(() => {
      const t = tf.tensor4d(x, [1, 2, 2, 1]);
      const dy = tf.tensor4d([7], [1, 1, 1, 1]);
      const out = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input: t, output: t }, {
        filterSize: 2,
        strides: 2,
        pad: "valid",
      }) as tf.Tensor;
      return Array.from(out.dataSync());
    });
    assert.deepEqual(got, want, `window ${JSON.stringify(x)}`);
  }
  await useBackend("cpu");
});

Deno.test("wasm MaxPoolGrad falls back to the stock kernel for other pools", async () => {
  const shape: [number, number, number, number] = [2, 9, 9, 3];
  const xs = values(2 * 81 * 3, 50);
  for (const [filter, stride] of [[3, 2], [2, 1]]) {
    const stock = await onStockWasm(() => poolGrad(xs, shape, filter, stride));
    const fast = await onFastWasm(() => poolGrad(xs, shape, filter, stride));
    assertBitwise(fast, stock, `filter ${filter} stride ${stride}`);
  }
  await useBackend("cpu");
});

Deno.test("small-net gradients with the fast MaxPoolGrad are bitwise the stock ones", async () => {
  const stock = await onStockWasm(smallNetGrads);
  const fast = await onWasmWith([tf.MaxPoolGrad], smallNetGrads);
  fast.forEach((g, i) => assertBitwise(g, stock[i], `output ${i}`));
  await useBackend("cpu");
});
