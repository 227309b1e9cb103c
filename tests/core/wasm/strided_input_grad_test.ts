import assert from "node:assert/strict";
import { phaseTaps } from "../../../core/wasm/strided_input_grad.ts";

Deno.test("phaseTaps splits a filter's taps among the stride's phases", () => {
  // 3 taps, stride 2: rows 0 and 2 in phase 0, row 1 in phase 1.
  assert.deepEqual([0, 1].map((a) => phaseTaps(3, 2, a)), [2, 1]);
  assert.deepEqual([0, 1, 2].map((a) => phaseTaps(5, 3, a)), [2, 2, 1]);
  // Fewer taps than the stride: some phases meet no tap (their input rows get 0).
  assert.deepEqual([0, 1].map((a) => phaseTaps(1, 2, a)), [1, 0]);
  for (const [k, s] of [[3, 2], [4, 2], [5, 3], [2, 3], [7, 4]]) {
    const total = Array.from({ length: s }, (_, a) => phaseTaps(k, s, a)).reduce((x, y) => x + y);
    assert.equal(total, k, `k ${k} s ${s}`);
  }
});
