import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import { rngKey } from "../../core/random.ts";
import {
  batchNorm,
  conv2d,
  dense,
  dropout,
  fans,
  globalAvgPool,
  initFromSpec,
  kaimingNormal,
  kaimingStd,
  maxPool2,
  normalInit,
  onesInit,
  SpecBuilder,
  torchDefaultInit,
  zerosInit,
} from "../../models/layers.ts";

await useBackend("cpu");

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = "") {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(
      err <= tol * Math.max(1, Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

function stats(values: ArrayLike<number>) {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i];
  mean /= values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(v / values.length) };
}

/** Deterministic pseudo-random values for inputs (not the project PRNG on purpose). */
function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 1.5);
}

/**
 * Naive NHWC convolution with PyTorch padding p on every side, in float64, and the gradient
 * of Σ w·y with respect to the kernel.
 */
function referenceConv(
  x: number[],
  [n, h, wd, c]: number[],
  k: number[],
  [kh, kw, , co]: number[],
  stride: number,
  pad: number,
) {
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  const xAt = (b: number, i: number, j: number, ch: number) =>
    i < 0 || j < 0 || i >= h || j >= wd ? 0 : x[((b * h + i) * wd + j) * c + ch];
  const y = new Array(n * oh * ow * co).fill(0);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let a = 0; a < kh; a++) {
            for (let d = 0; d < kw; d++) {
              for (let ch = 0; ch < c; ch++) {
                s += xAt(b, i * stride - pad + a, j * stride - pad + d, ch) *
                  k[((a * kw + d) * c + ch) * co + o];
              }
            }
          }
          y[((b * oh + i) * ow + j) * co + o] = s;
        }
      }
    }
  }
  const kernelGrad = (w: number[]) => {
    const g = new Array(k.length).fill(0);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          for (let o = 0; o < co; o++) {
            const wv = w[((b * oh + i) * ow + j) * co + o];
            for (let a = 0; a < kh; a++) {
              for (let d = 0; d < kw; d++) {
                for (let ch = 0; ch < c; ch++) {
                  g[((a * kw + d) * c + ch) * co + o] += wv *
                    xAt(b, i * stride - pad + a, j * stride - pad + d, ch);
                }
              }
            }
          }
        }
      }
    }
    return g;
  };
  return { y, shape: [n, oh, ow, co], kernelGrad };
}

Deno.test("conv2d: stride-2 3x3 on 8x8 pads symmetrically like PyTorch (hand-computed corners)", () => {
  // x[i][j] = 8i + j + 1, all-ones kernel: output (r, c) sums rows 2r−1…2r+1, cols 2c−1…2c+1.
  const x = tf.tensor4d(Array.from({ length: 64 }, (_, i) => i + 1), [1, 8, 8, 1]);
  const k = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
  const y = conv2d(x, k, { stride: 2 });
  assert.deepEqual(y.shape, [1, 4, 4, 1]);
  const v = y.dataSync();
  assert.equal(v[0], 1 + 2 + 9 + 10); // 22; TF's asymmetric "same" would give 90
  assert.equal(v[3], 6 + 7 + 8 + 14 + 15 + 16); // 66
  assert.equal(v[15], 46 + 47 + 48 + 54 + 55 + 56 + 62 + 63 + 64); // 495
  tf.dispose([x, k, y]);
});

Deno.test("conv2d: same/valid, strides 1 and 2, odd and even sizes match a naive reference", () => {
  const cases = [
    { h: 8, stride: 1, padding: "same" as const, k: 3 },
    { h: 8, stride: 2, padding: "same" as const, k: 3 },
    { h: 7, stride: 2, padding: "same" as const, k: 3 },
    { h: 7, stride: 1, padding: "valid" as const, k: 3 },
    { h: 8, stride: 2, padding: "same" as const, k: 1 },
    { h: 9, stride: 2, padding: "same" as const, k: 5 },
  ];
  for (const { h, stride, padding, k: ks } of cases) {
    const xs = [2, h, h + 1, 2];
    const ksh = [ks, ks, 2, 3];
    const xv = values(xs.reduce((a, b) => a * b), 1 + h);
    const kv = values(ksh.reduce((a, b) => a * b), 7 + ks);
    const ref = referenceConv(xv, xs, kv, ksh, stride, padding === "same" ? (ks - 1) / 2 : 0);
    const bias = tf.tensor1d([0.5, -1, 2]);
    const x = tf.tensor4d(xv, xs as [number, number, number, number]);
    const kernel = tf.tensor4d(kv, ksh as [number, number, number, number]);
    const y = conv2d(x, kernel, { stride, padding, bias });
    const what = `h=${h} s=${stride} ${padding} k=${ks}`;
    assert.deepEqual(y.shape, ref.shape, what);
    close(y.dataSync(), ref.y.map((v, i) => v + [0.5, -1, 2][i % 3]), 1e-5, what);
    // Gradient with respect to the kernel (the explicit-padding path included).
    const w = values(ref.y.length, 3);
    const wt = tf.tensor(w, ref.shape);
    const [gk] = tf.grads((kk: tf.Tensor) =>
      tf.sum(tf.mul(conv2d(x, kk as tf.Tensor4D, { stride, padding }), wt))
    )([kernel]);
    close(gk.dataSync(), ref.kernelGrad(w), 1e-4, `${what} grad`);
    tf.dispose([bias, x, kernel, y, wt, gk]);
  }
});

Deno.test("conv2d: rejects even kernels with same padding and channel mismatches", () => {
  const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
  assert.throws(() => conv2d(x, tf.zeros([2, 2, 2, 1]) as tf.Tensor4D), /odd kernel/);
  assert.throws(() => conv2d(x, tf.zeros([3, 3, 3, 1]) as tf.Tensor4D), /channels/);
  x.dispose();
});

Deno.test("dense, maxPool2 (floors odd sizes) and globalAvgPool", () => {
  const y = dense(
    tf.tensor2d([[1, 2]]),
    tf.tensor2d([[1, 0, 2], [3, 1, -1]]),
    tf.tensor1d([1, 1, 1]),
  );
  assert.deepEqual(Array.from(y.dataSync()), [8, 3, 1]);
  const x = tf.tensor4d(Array.from({ length: 25 }, (_, i) => i), [1, 5, 5, 1]);
  const p = maxPool2(x);
  assert.deepEqual(p.shape, [1, 2, 2, 1]);
  assert.deepEqual(Array.from(p.dataSync()), [6, 8, 16, 18]);
  const g = globalAvgPool(tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2]));
  assert.deepEqual(g.shape, [1, 2]);
  assert.deepEqual(Array.from(g.dataSync()), [2.5, 25]);
});

Deno.test("batchNorm train mode (2-D): hand-computed output and running statistics", () => {
  // Column 0: 1, 2, 3, 6 → mean 3, biased var 3.5, unbiased 14/3.
  // Column 1: 0, 0, 4, 4 → mean 2, biased var 4, unbiased 16/3.
  const x = tf.tensor2d([[1, 0], [2, 0], [3, 4], [6, 4]]);
  const bn = {
    gamma: tf.tensor1d([2, 0.5]),
    beta: tf.tensor1d([0.1, -1]),
    mean: tf.tensor1d([0.5, -1]),
    var: tf.tensor1d([2, 1]),
  };
  const out = batchNorm(x, bn, "train");
  const s0 = Math.sqrt(3.5 + 1e-5);
  const s1 = Math.sqrt(4 + 1e-5);
  const expected = [[1, 0], [2, 0], [3, 4], [6, 4]].flatMap(([a, b]) => [
    ((a - 3) / s0) * 2 + 0.1,
    ((b - 2) / s1) * 0.5 - 1,
  ]);
  close(out.y.dataSync(), expected, 1e-6, "y");
  close(out.mean!.dataSync(), [0.9 * 0.5 + 0.1 * 3, 0.9 * -1 + 0.1 * 2], 1e-6, "mean");
  close(out.var!.dataSync(), [0.9 * 2 + 0.1 * 14 / 3, 0.9 * 1 + 0.1 * 16 / 3], 1e-6, "var");
});

Deno.test("batchNorm train mode (4-D) reduces over N,H,W; momentum and eps are parameters", () => {
  // One channel: 1, 3, 5, 7 → mean 4, biased var 5, unbiased 20/3.
  const x = tf.tensor4d([1, 3, 5, 7], [2, 1, 2, 1]);
  const bn = { gamma: tf.ones([1]), beta: tf.zeros([1]), mean: tf.zeros([1]), var: tf.ones([1]) };
  const out = batchNorm(x, bn, "train", { momentum: 0.2, eps: 1e-3 });
  close(out.y.dataSync(), [1, 3, 5, 7].map((v) => (v - 4) / Math.sqrt(5 + 1e-3)), 1e-6, "y");
  close(out.mean!.dataSync(), [0.2 * 4], 1e-6, "mean");
  close(out.var!.dataSync(), [0.8 + 0.2 * 20 / 3], 1e-6, "var");
  // Two channels are normalized independently.
  const x2 = tf.tensor4d([1, 100, 3, 300, 5, 500, 7, 700], [2, 2, 1, 2]);
  const bn2 = {
    gamma: tf.ones([2]),
    beta: tf.zeros([2]),
    mean: tf.zeros([2]),
    var: tf.ones([2]),
  };
  const y2 = batchNorm(x2, bn2, "train").y.dataSync();
  close([y2[0], y2[2], y2[4], y2[6]], [1, 3, 5, 7].map((v) => (v - 4) / Math.sqrt(5 + 1e-5)), 1e-5);
  close([y2[1], y2[3]], [-3 / Math.sqrt(5 + 1e-5 / 1e4), -1 / Math.sqrt(5 + 1e-5 / 1e4)], 1e-5);
});

Deno.test("batchNorm eval mode uses the running statistics and returns no new state", () => {
  const x = tf.tensor4d([1, 2, 3, 4], [2, 1, 1, 2]);
  const bn = {
    gamma: tf.tensor1d([2, 3]),
    beta: tf.tensor1d([1, 0]),
    mean: tf.tensor1d([0.5, 1]),
    var: tf.tensor1d([4, 0.25]),
  };
  const out = batchNorm(x, bn, "eval");
  assert.equal(out.mean, null);
  assert.equal(out.var, null);
  const e = (v: number, c: number) =>
    c === 0 ? ((v - 0.5) / Math.sqrt(4 + 1e-5)) * 2 + 1 : ((v - 1) / Math.sqrt(0.25 + 1e-5)) * 3;
  close(out.y.dataSync(), [e(1, 0), e(2, 1), e(3, 0), e(4, 1)], 1e-6);
});

Deno.test("batchNorm refuses train mode with a single value per channel", () => {
  const bn = { gamma: tf.ones([2]), beta: tf.zeros([2]), mean: tf.zeros([2]), var: tf.ones([2]) };
  assert.throws(() => batchNorm(tf.ones([1, 2]), bn, "train"), /more than one value/);
  assert.equal(batchNorm(tf.ones([1, 2]), bn, "eval").y.shape[0], 1);
});

Deno.test("batchNorm gradient matches the analytic formula and a finite difference", () => {
  const shape = [3, 2, 2, 2];
  const n = 12;
  const xv = values(24, 5).map((v, i) => v + (i % 2) * 3);
  const wv = values(24, 9);
  const gamma = [1.5, -0.7];
  const beta = [0.2, 0.4];
  const x = tf.tensor(xv, shape);
  const w = tf.tensor(wv, shape);
  const g = tf.tensor1d(gamma);
  const b = tf.tensor1d(beta);
  const state = { mean: tf.zeros([2]), var: tf.ones([2]) };
  const loss = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
    tf.sum(tf.mul(batchNorm(xx, { gamma: gg, beta: bb, ...state }, "train").y, w)) as tf.Scalar;
  const [dx, dg, db] = tf.grads((a, c, d) => loss(a, c, d))([x, g, b]);
  // Analytic: dβ = Σw, dγ = Σw·x̂, dx = γ/σ·(w − mean(w) − x̂·mean(w·x̂)), per channel.
  const edx = new Array(24).fill(0);
  const edg = [0, 0];
  const edb = [0, 0];
  for (let c = 0; c < 2; c++) {
    const idx = Array.from({ length: n }, (_, i) => 2 * i + c);
    const mu = idx.reduce((s, i) => s + xv[i], 0) / n;
    const sigma = Math.sqrt(idx.reduce((s, i) => s + (xv[i] - mu) ** 2, 0) / n + 1e-5);
    const xhat = idx.map((i) => (xv[i] - mu) / sigma);
    const mw = idx.reduce((s, i) => s + wv[i], 0) / n;
    const mwx = idx.reduce((s, i, j) => s + wv[i] * xhat[j], 0) / n;
    edb[c] = mw * n;
    edg[c] = mwx * n;
    idx.forEach((i, j) => {
      edx[i] = (gamma[c] / sigma) * (wv[i] - mw - xhat[j] * mwx);
    });
  }
  close(dx.dataSync(), edx, 1e-4, "dx");
  close(dg.dataSync(), edg, 1e-4, "dgamma");
  close(db.dataSync(), edb, 1e-4, "dbeta");
  // Central finite differences on a few input entries.
  const h = 1e-2;
  for (const i of [0, 7, 13, 22]) {
    const bump = (d: number) => {
      const v = xv.slice();
      v[i] += d;
      return tf.tidy(() => loss(tf.tensor(v, shape), g, b).dataSync()[0]);
    };
    const fd = (bump(h) - bump(-h)) / (2 * h);
    assert.ok(
      Math.abs(fd - edx[i]) < 2e-3 * Math.max(1, Math.abs(edx[i])),
      `fd[${i}] ${fd} vs ${edx[i]}`,
    );
  }
});

/** Train-mode BatchNorm written as plain ops, differentiated op by op (the old formulation). */
function plainBatchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const mean = tf.mean(x, [0, 1, 2]);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), [0, 1, 2]);
  return tf.add(tf.mul(centered, tf.mul(gamma, tf.rsqrt(tf.add(variance, 1e-5)))), beta);
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`batchNorm's closed-form gradient matches op-by-op autodiff on ${backend}`, async () => {
    await useBackend(backend);
    const shape = [8, 6, 6, 5];
    const size = 8 * 6 * 6 * 5;
    const x = tf.tensor(values(size, 11).map((v, i) => 3 * v + (i % 5)), shape);
    const w = tf.tensor(values(size, 12), shape);
    const g = tf.tensor1d([1.5, -0.7, 0.3, 2, 1]);
    const b = tf.tensor1d([0.2, 0.4, 0, -1, 3]);
    const state = { mean: tf.zeros([5]), var: tf.ones([5]) };
    const before = tf.memory().numTensors;
    const fast = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.tidy(() => {
        const out = batchNorm(xx, { gamma: gg, beta: bb, ...state }, "train");
        tf.dispose([out.mean!, out.var!]);
        return tf.sum(tf.mul(out.y, w)) as tf.Scalar;
      })
    )([x, g, b]);
    const plain = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(plainBatchNorm(xx, gg, bb), w)) as tf.Scalar
    )([x, g, b]);
    ["dx", "dgamma", "dbeta"].forEach((what, i) => {
      const scale = Math.max(...Array.from(plain[i].dataSync()).map(Math.abs));
      close(fast[i].dataSync(), plain[i].dataSync(), 2e-5 * scale, what);
    });
    tf.dispose([...fast, ...plain]);
    assert.equal(tf.memory().numTensors, before, "no tensor leaks");
    tf.dispose([x, w, g, b, state.mean, state.var]);
    await useBackend("cpu");
  });
}

Deno.test("dropout: deterministic per key, zeroes about `rate` and rescales survivors", () => {
  const x = tf.ones([50, 40]);
  const a = dropout(x, 0.5, rngKey(1, "drop")).dataSync();
  const b = dropout(x, 0.5, rngKey(1, "drop")).dataSync();
  const c = dropout(x, 0.5, rngKey(2, "drop")).dataSync();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a.every((v) => v === 0 || v === 2));
  const zeros = a.filter((v) => v === 0).length / a.length;
  assert.ok(Math.abs(zeros - 0.5) < 0.05, `dropped fraction ${zeros}`);
  assert.deepEqual(dropout(x, 0, rngKey(1)).dataSync(), x.dataSync());
  assert.throws(() => dropout(x, 1, rngKey(1)), RangeError);
});

Deno.test("fans follow PyTorch for conv [KH,KW,Cin,Cout] and dense [in,out] kernels", () => {
  assert.deepEqual(fans([3, 3, 16, 32]), { fanIn: 144, fanOut: 288 });
  assert.deepEqual(fans([64, 10]), { fanIn: 64, fanOut: 10 });
  assert.throws(() => fans([5]), /2-D or 4-D/);
  assert.equal(kaimingStd([3, 3, 16, 32]), Math.SQRT2 / 12); // PyTorch: gain / √fan
  assert.equal(kaimingStd([3, 3, 16, 32], "fan_out"), Math.SQRT2 / Math.sqrt(288));
});

Deno.test("initializers: kaiming normal (fan_in/fan_out, untruncated), uniform, normal, constants", () => {
  const shape = [3, 3, 64, 64];
  const kin = kaimingNormal(rngKey(0, "k"), shape).dataSync();
  const sIn = stats(kin);
  assert.ok(Math.abs(sIn.mean) < 0.01 * Math.sqrt(2 / 576) * 10);
  assert.ok(Math.abs(sIn.std / Math.sqrt(2 / 576) - 1) < 0.03, `std ${sIn.std}`);
  // Untruncated: a normal sample of 36,864 has values beyond 2σ (truncation cuts at 2σ).
  assert.ok(kin.some((v) => Math.abs(v) > 3 * Math.sqrt(2 / 576)));
  const kout = kaimingNormal(rngKey(0, "k2"), [3, 3, 16, 512], { mode: "fan_out" }).dataSync();
  assert.ok(Math.abs(stats(kout).std / Math.sqrt(2 / 4608) - 1) < 0.03);
  const u = torchDefaultInit(rngKey(0, "u"), [400, 100], 400).dataSync();
  const bound = 1 / 20;
  assert.ok(u.every((v) => v >= -bound && v < bound));
  assert.ok(Math.abs(stats(u).std / (bound / Math.sqrt(3)) - 1) < 0.03);
  const nn = normalInit(rngKey(0, "n"), [200, 200], 0.01).dataSync();
  assert.ok(Math.abs(stats(nn).std / 0.01 - 1) < 0.03);
  assert.ok(zerosInit([3, 2]).dataSync().every((v) => v === 0));
  assert.ok(onesInit([3, 2]).dataSync().every((v) => v === 1));
  // Same key → bitwise identical; different key → different.
  assert.deepEqual(kaimingNormal(rngKey(0, "k"), shape).dataSync(), kin);
  assert.notDeepEqual(kaimingNormal(rngKey(1, "k"), shape).dataSync(), kin);
});

Deno.test("initFromSpec: one stream per tensor name, independent of declaration order", () => {
  const init = { weight: { kind: "kaimingNormal", mode: "fan_in" } as const };
  const a = new SpecBuilder().conv("a/conv", 3, 2, 4, init).dense("b/fc", 5, 3, init).build();
  const b = new SpecBuilder().dense("b/fc", 5, 3, init).conv("a/conv", 3, 2, 4, init).build();
  const ta = initFromSpec(a, rngKey(3, "model"));
  const tb = initFromSpec(b, rngKey(3, "model"));
  assert.deepEqual(ta.params["a/conv/kernel"].dataSync(), tb.params["a/conv/kernel"].dataSync());
  assert.deepEqual(ta.params["b/fc/kernel"].dataSync(), tb.params["b/fc/kernel"].dataSync());
  const bn = initFromSpec(new SpecBuilder().batchNorm("x/bn", 3).build(), rngKey(0));
  assert.deepEqual(Object.keys(bn.params).sort(), ["x/bn/beta", "x/bn/gamma"]);
  assert.deepEqual(Object.keys(bn.state).sort(), ["x/bn/mean", "x/bn/var"]);
  assert.deepEqual(Array.from(bn.state["x/bn/var"].dataSync()), [1, 1, 1]);
});
