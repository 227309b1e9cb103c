import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../core/backend.ts";
import { collapseSlice } from "../../../core/wasm/slice.ts";
import { assertBitwise, onFastWasm, onStockWasm, read, valuesTensor } from "./_helpers.ts";

interface Case {
  shape: number[];
  begin: number[];
  size: number[];
}

/** Seeded slices of ranks 1–6 (some dimensions whole, some partial, some of extent 1). */
function cases(): Case[] {
  let s = 12345;
  const rnd = (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
  const out: Case[] = [
    // ResNet's option-A subsampling, the slice that motivated the kernel.
    { shape: [4, 8, 2, 8, 2, 16], begin: [0, 0, 0, 0, 0, 0], size: [4, 8, 1, 8, 1, 16] },
    // Cropping the padded rows of a convolution gradient.
    { shape: [3, 10, 10, 5], begin: [0, 1, 1, 0], size: [3, 8, 8, 5] },
    { shape: [6, 7], begin: [2, 0], size: [3, 7] }, // contiguous
    { shape: [5], begin: [1], size: [3] },
  ];
  for (let k = 0; k < 40; k++) {
    const rank = 1 + rnd(6);
    const shape = Array.from({ length: rank }, () => 1 + rnd(5));
    const begin = shape.map((e) => rnd(e));
    const size = shape.map((e, i) => (rnd(3) === 0 ? e - begin[i] : 1 + rnd(e - begin[i])));
    out.push({ shape, begin, size });
  }
  return out;
}

function slices(list: Case[], dtype: "float32" | "int32"): Float32Array[] {
  return list.map((c, i) =>
    tf.tidy(() => {
      let x = valuesTensor(c.shape, 90 + i);
      if (dtype === "int32") x = tf.cast(tf.mul(x, 1000), "int32");
      const y = tf.slice(x, c.begin, c.size);
      assert.deepEqual(y.shape, c.size);
      return read(tf.cast(y, "float32"))[0];
    })
  );
}

Deno.test("collapseSlice merges dimensions taken whole into the one before", () => {
  assert.deepEqual(
    collapseSlice({
      shape: [4, 8, 2, 8, 2, 16],
      begin: [0, 0, 0, 0, 0, 0],
      size: [4, 8, 1, 8, 1, 16],
    }),
    { shape: [32, 16, 32], begin: [0, 0, 0], size: [32, 8, 16] },
  );
  assert.deepEqual(
    collapseSlice({ shape: [3, 10, 10, 5], begin: [0, 1, 1, 0], size: [3, 8, 8, 5] }),
    { shape: [3, 10, 50], begin: [0, 1, 5], size: [3, 8, 40] },
  );
  assert.deepEqual(
    collapseSlice({ shape: [6, 7], begin: [2, 0], size: [3, 7] }),
    { shape: [42], begin: [14], size: [21] },
  );
});

Deno.test("wasm Slice is bitwise the stock kernel for ranks 1-6, float32 and int32", async () => {
  const list = cases();
  for (const dtype of ["float32", "int32"] as const) {
    const stock = await onStockWasm(() => slices(list, dtype));
    const fast = await onFastWasm(() => slices(list, dtype));
    fast.forEach((g, i) => assertBitwise(g, stock[i], `${dtype} ${JSON.stringify(list[i])}`));
  }
  await useBackend("cpu");
});

Deno.test("wasm Slice gradients (padding) are bitwise the stock ones", async () => {
  const grad = () =>
    tf.tidy(() => {
      const x = valuesTensor([4, 8, 2, 8, 2, 16], 5);
      const f = (t: tf.Tensor) =>
        tf.sum(tf.square(tf.slice(t, [0, 0, 0, 0, 0, 0], [4, 8, 1, 8, 1, 16])));
      return read(tf.grad(f)(x))[0];
    });
  assertBitwise(await onFastWasm(grad), await onStockWasm(grad), "gradient");
  await useBackend("cpu");
});
