import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../core/backend.ts";
import {
  assertBitwise,
  onFastWasm,
  onStockWasm,
  onWasmWith,
  read,
  smallNetGrads,
  valuesTensor,
} from "./_helpers.ts";

Deno.test("wasm Identity and same-type Cast share the buffer and outlive their input", async () => {
  await useBackend("wasm");
  const buffers = tf.engine().backend.numDataIds();
  const x = valuesTensor([3, 5], 1);
  const expected = Float32Array.from(x.dataSync() as Float32Array);
  const ident = tf.engine().runKernel(tf.Identity, { x }) as tf.Tensor;
  const cast = tf.cast(x, "float32");
  const clone = tf.clone(x);
  assert.equal(tf.engine().backend.numDataIds(), buffers + 1, "no new buffer");
  x.dispose();
  const [a, b, c] = read(ident, cast, clone);
  assertBitwise(a, expected, "Identity");
  assertBitwise(b, expected, "Cast");
  assertBitwise(c, expected, "clone");
  assert.equal(tf.engine().backend.numDataIds(), buffers, "every buffer freed");
});

Deno.test("wasm Cast to another type still converts like the stock kernel", async () => {
  const cast = () => {
    const x = tf.tensor1d([-2.7, -0.5, 0, 0.5, 2.7, 3e9]);
    const [i, b] = [tf.cast(x, "int32"), tf.cast(x, "bool")];
    const out = [Array.from(i.dataSync()), Array.from(b.dataSync())];
    tf.dispose([x, i, b]);
    return out;
  };
  assert.deepEqual(await onFastWasm(cast), await onStockWasm(cast));
  await useBackend("cpu");
});

Deno.test("gradients with zero-copy Identity/Cast are bitwise those of the stock kernels", async () => {
  const stock = await onStockWasm(smallNetGrads);
  const fast = await onWasmWith([tf.Identity, tf.Cast], smallNetGrads);
  fast.forEach((g, i) => assertBitwise(g, stock[i], `output ${i}`));
  await useBackend("cpu");
});
