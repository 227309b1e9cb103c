import assert from "node:assert/strict";
import { createRng, rngKey } from "../../../core/random.ts";
import {
  column,
  dot,
  identity,
  matMul,
  symmetricEigen,
  trace,
  transpose,
} from "../../../models/theory/linalg.ts";

function randomSymmetric(n: number, seed: number): Float64Array {
  const r = createRng(rngKey(seed, "test", "linalg"));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = r.normal();
  }
  return a;
}

Deno.test("symmetricEigen: known 2×2 answer, ascending", () => {
  const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
  assert.ok(Math.abs(values[0] - 1) < 1e-15 && Math.abs(values[1] - 3) < 1e-15);
  // The eigenvector of 3 is (1, 1)/√2 up to sign.
  const v = column(vectors, 2, 1);
  assert.ok(Math.abs(Math.abs(v[0]) - Math.SQRT1_2) < 1e-15);
  assert.ok(Math.abs(v[0] - v[1]) < 1e-15);
});

Deno.test("symmetricEigen reconstructs random symmetric matrices with orthonormal vectors", () => {
  for (const n of [1, 3, 8, 20]) {
    const a = randomSymmetric(n, n);
    const { values, vectors } = symmetricEigen(a, n);
    for (let k = 1; k < n; k++) assert.ok(values[k] >= values[k - 1]);
    const vt = transpose(vectors, n);
    const orth = matMul(vt, vectors, n);
    const id = identity(n);
    for (let i = 0; i < n * n; i++) assert.ok(Math.abs(orth[i] - id[i]) < 1e-13, `VᵀV at ${i}`);
    const d = new Float64Array(n * n);
    for (let i = 0; i < n; i++) d[i * n + i] = values[i];
    const back = matMul(matMul(vectors, d, n), vt, n);
    for (let i = 0; i < n * n; i++) assert.ok(Math.abs(back[i] - a[i]) < 1e-12, `VΛVᵀ at ${i}`);
    assert.ok(Math.abs(trace(a, n) - values.reduce((x, y) => x + y, 0)) < 1e-12);
  }
});

Deno.test("symmetricEigen rejects non-square and non-symmetric input", () => {
  assert.throws(() => symmetricEigen(new Float64Array(3), 2), RangeError);
  assert.throws(() => symmetricEigen(Float64Array.of(1, 2, 3, 4), 2), /not symmetric/);
});

Deno.test("matMul, transpose, dot and trace agree with hand-computed values", () => {
  const a = Float64Array.of(1, 2, 3, 4);
  const b = Float64Array.of(5, 6, 7, 8);
  assert.deepEqual([...matMul(a, b, 2)], [19, 22, 43, 50]);
  assert.deepEqual([...transpose(a, 2)], [1, 3, 2, 4]);
  assert.equal(dot(a, b), 70);
  assert.equal(trace(a, 2), 5);
});
