import assert from "node:assert/strict";
import { createRng, deriveKey, keyState, keyToString, Rng, rngKey } from "../../core/random.ts";

// Known answers below come from an independent Python implementation of xoshiro128** and of
// the documented key derivation (hashlib.sha256), not from this module.

Deno.test("xoshiro128** matches the reference sequence from state [1, 2, 3, 4]", () => {
  const rng = new Rng(Uint32Array.from([1, 2, 3, 4]));
  const got = Array.from({ length: 6 }, () => rng.nextUint32());
  assert.deepEqual(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

Deno.test("key state is sha256 of the documented seed:path string", () => {
  const key = rngKey(0, "run", 3, "epoch", 7, "shuffle");
  assert.equal(keyToString(key), "0:run/3/epoch/7/shuffle");
  assert.deepEqual(Array.from(keyState(key)), [2156755950, 359230480, 2147888368, 645010792]);
  const rng = createRng(key);
  const got = Array.from({ length: 4 }, () => rng.nextUint32());
  assert.deepEqual(got, [3288295901, 1647361254, 1952892978, 3675962526]);
});

Deno.test("uniform uses 53 bits from two outputs (known answer for seed 42)", () => {
  assert.equal(createRng(rngKey(42)).uniform(), 0.3498616456665703);
});

Deno.test("derived keys equal keys built from the full path", () => {
  const parent = rngKey(5, "run", 2);
  const child = deriveKey(parent, "epoch", 9);
  assert.deepEqual(child, rngKey(5, "run", 2, "epoch", 9));
  assert.deepEqual(keyState(child), keyState(rngKey(5, "run", 2, "epoch", 9)));
});

Deno.test("streams depend on seed and path, not on creation order", () => {
  const a1 = createRng(rngKey(1, "a")).nextUint32();
  createRng(rngKey(1, "b")).nextUint32();
  const a2 = createRng(rngKey(1, "a")).nextUint32();
  assert.equal(a1, a2);
  assert.notEqual(createRng(rngKey(1, "a")).nextUint32(), createRng(rngKey(2, "a")).nextUint32());
  assert.notEqual(createRng(rngKey(1, "a")).nextUint32(), createRng(rngKey(1, "b")).nextUint32());
  // "1/2" as one string would be ambiguous with [1, 2]; names may not contain "/".
  assert.throws(() => rngKey(1, "a/b"), /without "\/"/);
});

Deno.test("invalid seeds and path parts are rejected with a clear message", () => {
  assert.throws(() => rngKey(-1), /seed must be a non-negative integer/);
  assert.throws(() => rngKey(1.5), /seed must be a non-negative integer/);
  assert.throws(() => rngKey(0, -2), /non-negative integer/);
  assert.throws(() => rngKey(0, ""), /non-empty/);
});

Deno.test("uniform draws lie in [0, 1) and have mean 1/2 and variance 1/12", () => {
  const xs = createRng(rngKey(7, "uniform")).uniforms(200_000);
  let sum = 0;
  let sq = 0;
  for (const x of xs) {
    assert.ok(x >= 0 && x < 1);
    sum += x;
    sq += x * x;
  }
  const mean = sum / xs.length;
  const variance = sq / xs.length - mean * mean;
  // Standard error of the mean is sqrt(1/12/n) ≈ 6.5e-4; 5 SE bounds.
  assert.ok(Math.abs(mean - 0.5) < 3.3e-3, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 2e-3, `variance ${variance}`);
});

Deno.test("normal draws have mean 0, variance 1 and the right tail mass", () => {
  const zs = createRng(rngKey(7, "normal")).normals(200_000);
  let sum = 0;
  let sq = 0;
  let beyond2 = 0;
  for (const z of zs) {
    sum += z;
    sq += z * z;
    if (Math.abs(z) > 2) beyond2++;
  }
  const mean = sum / zs.length;
  assert.ok(Math.abs(mean) < 0.012, `mean ${mean}`); // 5 SE
  assert.ok(Math.abs(sq / zs.length - 1) < 0.016, `second moment ${sq / zs.length}`);
  // P(|Z| > 2) = 0.0455; binomial SE ≈ 4.7e-4.
  assert.ok(Math.abs(beyond2 / zs.length - 0.0455) < 2.5e-3);
});

Deno.test("normal() called n times equals normals(n), and normals applies mean and std", () => {
  const a = createRng(rngKey(3, "n"));
  const single = Array.from({ length: 5 }, () => a.normal());
  const batch = createRng(rngKey(3, "n")).normals(5);
  assert.deepEqual(single, Array.from(batch));
  const shifted = createRng(rngKey(3, "n")).normals(5, 2, 3);
  shifted.forEach((x, i) => assert.equal(x, 2 + 3 * batch[i]));
});

Deno.test("int(n) is uniform: chi-square over 7 buckets stays below the 0.999 quantile", () => {
  const rng = createRng(rngKey(11, "int"));
  const counts = new Array(7).fill(0);
  const n = 70_000;
  for (let i = 0; i < n; i++) counts[rng.int(7)]++;
  const expected = n / 7;
  const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 22.46, `chi2 ${chi2}`); // χ²(6) 0.999 quantile
  assert.throws(() => rng.int(0), /0 < n/);
});

Deno.test("permutation contains every index once and is seed-determined", () => {
  const p = createRng(rngKey(1, "perm")).permutation(1000);
  assert.deepEqual(Array.from(p).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(p, createRng(rngKey(1, "perm")).permutation(1000));
  assert.notDeepEqual(p, createRng(rngKey(2, "perm")).permutation(1000));
  // Every position is hit by every value about equally often over many permutations.
  const firstCounts = new Array(4).fill(0);
  const rng = createRng(rngKey(1, "perm4"));
  for (let i = 0; i < 8000; i++) firstCounts[rng.permutation(4)[0]]++;
  for (const c of firstCounts) assert.ok(Math.abs(c - 2000) < 200, `count ${c}`);
});
