import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../core/backend.ts";
import {
  assertBitwise,
  onCpu,
  onFastWasm,
  onStockWasm,
  read,
  relError,
  valuesTensor,
} from "./_helpers.ts";

interface Case {
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
}

const TRANSPOSED: Case[] = [
  { a: [7, 5], b: [7, 3], ta: true, tb: false }, // dense dW = xᵀ·dy
  { a: [6, 3], b: [5, 3], ta: false, tb: true }, // dense dx = dy·Wᵀ
  { a: [4, 6], b: [5, 4], ta: true, tb: true },
  { a: [1, 9, 4], b: [9, 2], ta: true, tb: false }, // unit batch dimension
  { a: [128, 10], b: [3136, 10], ta: false, tb: true }, // the reference CNN's classifier
];

function products(cases: Case[]): Float32Array[] {
  return cases.map((c, i) =>
    tf.tidy(() => {
      const y = tf.matMul(valuesTensor(c.a, 70 + i), valuesTensor(c.b, 80 + i), c.ta, c.tb);
      const m = c.ta ? c.a[c.a.length - 1] : c.a[c.a.length - 2];
      const n = c.tb ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
      assert.deepEqual(y.shape, [...c.a.slice(0, -2), m, n]);
      return read(y)[0];
    })
  );
}

Deno.test("wasm matMul with transposed operands matches the cpu backend", async () => {
  const expected = await onCpu(() => products(TRANSPOSED));
  const got = await onFastWasm(() => products(TRANSPOSED));
  got.forEach((g, i) => {
    const e = relError(g, expected[i]);
    assert.ok(e <= 1e-5, `case ${i}: relative error ${e}`);
  });
  await useBackend("cpu");
});

Deno.test("wasm matMul without transposes, or batched, is the stock kernel", async () => {
  const others: Case[] = [
    { a: [7, 5], b: [5, 3], ta: false, tb: false },
    { a: [3, 4, 5], b: [3, 4, 2], ta: true, tb: false },
    { a: [2, 4, 5], b: [2, 3, 5], ta: false, tb: true },
  ];
  const stock = await onStockWasm(() => products(others));
  const fast = await onFastWasm(() => products(others));
  fast.forEach((g, i) => assertBitwise(g, stock[i], `case ${i}`));
  await useBackend("cpu");
});

Deno.test("wasm matMul with transposes leaks no backend buffers", async () => {
  await useBackend("wasm");
  products(TRANSPOSED); // warm-up
  const buffers = tf.engine().backend.numDataIds();
  const tensors = tf.memory().numTensors;
  products(TRANSPOSED);
  assert.equal(tf.engine().backend.numDataIds(), buffers);
  assert.equal(tf.memory().numTensors, tensors);
  await useBackend("cpu");
});
