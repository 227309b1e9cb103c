import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../core/backend.ts";
import { collapseTranspose, outerInnerSwap } from "../../../core/wasm/transpose.ts";
import { assertBitwise, onFastWasm, onStockWasm, read, valuesTensor } from "./_helpers.ts";

interface Case {
  shape: number[];
  perm: number[];
}

/** The conv gradient's transposes, matrix transposes, and seeded ones of ranks 1–6. */
function cases(): Case[] {
  let s = 777;
  const rnd = (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
  const out: Case[] = [
    { shape: [20, 12, 12, 40], perm: [3, 1, 2, 0] }, // x → [C, H, W, N]: the blocked copy
    { shape: [37, 5, 3], perm: [2, 1, 0] }, // N not a multiple of the block
    { shape: [70, 45], perm: [1, 0] },
    { shape: [1, 70, 1, 45], perm: [3, 2, 1, 0] },
    { shape: [20, 12, 12, 40], perm: [1, 2, 0, 3] }, // dy → [H, W, N, C]: stock
    { shape: [3, 3, 5, 7], perm: [0, 1, 3, 2] }, // filter in/out swap: stock
  ];
  for (let k = 0; k < 40; k++) {
    const rank = 1 + rnd(6);
    const shape = Array.from({ length: rank }, () => 1 + rnd(6));
    const perm = [...Array(rank).keys()];
    for (let i = rank - 1; i > 0; i--) {
      const j = rnd(i + 1);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    out.push({ shape, perm });
  }
  return out;
}

function transposes(list: Case[], dtype: "float32" | "int32"): Float32Array[] {
  return list.map((c, i) =>
    tf.tidy(() => {
      let x = valuesTensor(c.shape, 110 + i);
      if (dtype === "int32") x = tf.cast(tf.mul(x, 1000), "int32");
      const y = tf.transpose(x, c.perm);
      assert.deepEqual(y.shape, c.perm.map((d) => c.shape[d]));
      return read(tf.cast(y, "float32"))[0];
    })
  );
}

Deno.test("collapseTranspose merges dimensions that stay adjacent and drops unit ones", () => {
  assert.deepEqual(collapseTranspose({ shape: [16, 12, 12, 40], perm: [3, 1, 2, 0] }), {
    shape: [16, 144, 40],
    perm: [2, 1, 0],
  });
  assert.deepEqual(collapseTranspose({ shape: [16, 12, 12, 40], perm: [1, 2, 0, 3] }), {
    shape: [16, 144, 40],
    perm: [1, 0, 2],
  });
  assert.deepEqual(collapseTranspose({ shape: [2, 1, 3], perm: [1, 0, 2] }), {
    shape: [6],
    perm: [0],
  });
  assert.deepEqual(collapseTranspose({ shape: [1, 1], perm: [1, 0] }), { shape: [1], perm: [0] });
});

Deno.test("outerInnerSwap recognizes [N, S, C] → [C, S, N] and matrix transposes only", () => {
  assert.deepEqual(outerInnerSwap({ shape: [16, 12, 12, 40], perm: [3, 1, 2, 0] }), [16, 144, 40]);
  assert.deepEqual(outerInnerSwap({ shape: [7, 9], perm: [1, 0] }), [7, 1, 9]);
  assert.equal(outerInnerSwap({ shape: [16, 12, 12, 40], perm: [1, 2, 0, 3] }), null);
  assert.equal(outerInnerSwap({ shape: [2, 3, 4, 5], perm: [3, 2, 1, 0] }), null);
  assert.equal(outerInnerSwap({ shape: [2, 3], perm: [0, 1] }), null);
});

Deno.test("wasm Transpose is bitwise the stock kernel for ranks 1-6, float32 and int32", async () => {
  const list = cases();
  for (const dtype of ["float32", "int32"] as const) {
    const stock = await onStockWasm(() => transposes(list, dtype));
    const fast = await onFastWasm(() => transposes(list, dtype));
    fast.forEach((g, i) => assertBitwise(g, stock[i], `${dtype} ${JSON.stringify(list[i])}`));
  }
  await useBackend("cpu");
});
