import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../core/backend.ts";
import { columnSums, leadingAxes } from "../../../core/wasm/reduce.ts";
import {
  assertBitwise,
  onCpu,
  onFastWasm,
  onStockWasm,
  read,
  relError,
  smallNetGrads,
  valuesTensor,
} from "./_helpers.ts";

interface Case {
  shape: number[];
  axis: number | number[];
  keepDims: boolean;
}

const LEADING: Case[] = [
  { shape: [4, 5, 6, 7], axis: [0, 1, 2], keepDims: false }, // bias gradient, BN statistics
  { shape: [4, 5, 6, 7], axis: [2, 0, 1], keepDims: true },
  { shape: [4, 5, 6, 7], axis: [0, 1], keepDims: false },
  { shape: [4, 5, 6, 7], axis: 0, keepDims: false },
  { shape: [9, 3], axis: [0], keepDims: false }, // dense bias gradient
  { shape: [7, 1], axis: [-2], keepDims: true },
  { shape: [3, 11, 13, 1], axis: [0, 1, 2], keepDims: false },
  { shape: [64, 32, 32, 16], axis: [0, 1, 2], keepDims: false },
];

/** Sum and mean of each case on the current backend. */
function reduce(cases: Case[]): Float32Array[] {
  return cases.flatMap((c, i) =>
    tf.tidy(() => {
      const x = valuesTensor(c.shape, 60 + i);
      const s = tf.sum(x, c.axis, c.keepDims);
      const m = tf.mean(x, c.axis, c.keepDims);
      const want = tf.sum(tf.zeros(c.shape), c.axis, c.keepDims).shape;
      assert.deepEqual(s.shape, want);
      assert.deepEqual(m.shape, want);
      return read(s, m);
    })
  );
}

Deno.test("leadingAxes recognizes reductions over the first k < rank axes only", () => {
  assert.equal(leadingAxes([2, 3, 4, 5], [0, 1, 2]), 3);
  assert.equal(leadingAxes([2, 3, 4, 5], [1, 0]), 2);
  assert.equal(leadingAxes([2, 3, 4, 5], -4), 1);
  assert.equal(leadingAxes([2, 3, 4, 5], [0, 1, 2, 3]), 0); // full: stock
  assert.equal(leadingAxes([2, 3, 4, 5], [1, 2]), 0);
  assert.equal(leadingAxes([2, 3, 4, 5], [3]), 0); // innermost: stock
  assert.equal(leadingAxes([2, 3], []), 0);
});

Deno.test("columnSums adds rows in float64 in a fixed order, remainder rows included", () => {
  const rows = 7;
  const x = Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 ? 1e8 : 1) * (i + 1));
  const out = new Float32Array(2);
  columnSums(x, rows, 2, out);
  let a = 0;
  let b = 0;
  for (let r = 0; r < rows; r++) (a += x[2 * r]), (b += x[2 * r + 1]);
  assert.deepEqual(Array.from(out), [Math.fround(a), Math.fround(b)]);
  columnSums(x, rows, 2, out, rows);
  assert.deepEqual(Array.from(out), [Math.fround(a / rows), Math.fround(b / rows)]);
});

Deno.test("wasm Sum/Mean over leading axes match the cpu backend", async () => {
  const expected = await onCpu(() => reduce(LEADING));
  const got = await onFastWasm(() => reduce(LEADING));
  got.forEach((g, i) => {
    const e = relError(g, expected[i]);
    assert.ok(e <= 1e-6, `case ${i >> 1} (${i % 2 ? "mean" : "sum"}): relative error ${e}`);
  });
  await useBackend("cpu");
});

Deno.test("wasm Sum/Mean over other axes are the stock kernels", async () => {
  const others: Case[] = [
    { shape: [4, 5, 6, 7], axis: [3], keepDims: false },
    { shape: [4, 5, 6, 7], axis: [1, 2], keepDims: true },
    { shape: [4, 5, 6, 7], axis: [0, 1, 2, 3], keepDims: false },
  ];
  const stock = await onStockWasm(() => reduce(others));
  const fast = await onFastWasm(() => reduce(others));
  fast.forEach((g, i) => assertBitwise(g, stock[i], `case ${i >> 1}`));
  await useBackend("cpu");
});

Deno.test("small-net gradients with the fast Sum/Mean match the cpu backend", async () => {
  const expected = await onCpu(smallNetGrads);
  const got = await onFastWasm(smallNetGrads);
  got.forEach((g, i) => {
    const e = relError(g, expected[i]);
    assert.ok(e <= 1e-5, `output ${i}: relative error ${e}`);
  });
  await useBackend("cpu");
});
