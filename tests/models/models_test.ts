import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import { rngKey } from "../../core/random.ts";
import { assertSameStructure, type Tree, treeDispose, treeToArrays } from "../../core/tree.ts";
import { cnnForwardFlops } from "../../models/cnn.ts";
import { batchNorm, conv2d, globalAvgPool, kaimingStd } from "../../models/layers.ts";
import { smoothCrossEntropy } from "../../models/loss.ts";
import {
  createModel,
  hasBatchNorm,
  MODEL_NAMES,
  modelParameterCount,
  parameterCount,
} from "../../models/registry.ts";
import { optionAShortcut } from "../../models/resnet.ts";
import { createWideResNet } from "../../models/wrn.ts";
import type { ModelOptions } from "../../core/model.ts";

await useBackend("cpu");

const CIFAR10: ModelOptions = { numClasses: 10, inputShape: [32, 32, 3] };
const CIFAR100: ModelOptions = { numClasses: 100, inputShape: [32, 32, 3] };
const TINY: ModelOptions = { numClasses: 10, inputShape: [8, 8, 3] };
const FASHION: ModelOptions = { numClasses: 10, inputShape: [28, 28, 1] };

function input(shape: number[], seed = 1): tf.Tensor4D {
  const n = shape.reduce((a, b) => a * b);
  return tf.tensor4d(
    Array.from({ length: n }, (_, i) => Math.sin(seed * 3.1 + i * 0.731) * 1.2),
    shape as [number, number, number, number],
  );
}

function std(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m += values[i];
  m /= values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += (values[i] - m) ** 2;
  return Math.sqrt(v / values.length);
}

Deno.test("exact parameter counts (docs/paper.md#settings), from the specs", () => {
  const count = (name: string, opts = CIFAR10) => modelParameterCount(createModel(name, opts));
  assert.equal(count("resnet20"), 269_722);
  assert.equal(count("resnet32"), 464_154);
  // ResNet-n: 70,618 + 4,672·n + 92,544·(n − 1) blocks per stage n = (depth − 2)/6.
  assert.equal(count("resnet44"), 70_618 + 4_672 * 7 + 92_544 * 6);
  assert.equal(count("resnet56"), 853_018);
  assert.equal(count("wrn16-8"), 17_158_106);
  assert.equal(count("wrn16-8", CIFAR100), 17_204_276);
  // VGG-16-BN by hand: conv kernels 9·(3·64 + 64·64 + 64·128 + 128·128 + 128·256 + 2·256·256
  // + 256·512 + 2·512·512 + 3·512·512) = 14,710,464; conv biases 4,224; BN γ,β 8,448;
  // dense 512·4096 + 4096 + 4096·4096 + 4096 + 4096·K + K.
  const features = 14_710_464 + 4_224 + 8_448;
  assert.equal(features, 14_723_136);
  assert.equal(count("vgg16-bn"), features + 2_101_248 + 16_781_312 + 40_970);
  assert.equal(count("vgg16-bn"), 33_646_666);
  assert.equal(count("vgg16-bn", CIFAR100), 34_015_396);
  // Reference CNN on 28×28×1: 3·3·32+32 + 3·3·32·64+64 + 7·7·64·10+10.
  assert.equal(count("cnn", FASHION), 320 + 18_496 + 31_370);
  // With BatchNorm: the conv biases go, each BN adds γ and β per channel.
  assert.equal(count("cnn-bn", FASHION), 288 + 64 + 18_432 + 128 + 31_370);
  assert.equal(count("mlp", FASHION), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
});

Deno.test("reference CNN: same padding gives the platform's 7.74 MFLOP per 28x28x1 image", () => {
  // Multiply-adds: 28·28·32·9 + 14·14·64·9·32 + 7·7·64·10 = 3,869,824; valid convolutions
  // would give 26·26·32·9 + 11·11·64·288 + 5·5·64·10 = 2,440,960 (4.88 MFLOP).
  assert.equal(cnnForwardFlops(FASHION), 2 * 3_869_824);
  assert.equal((cnnForwardFlops(FASHION) / 1e6).toFixed(2), "7.74");
});

Deno.test("initialized trees have the spec's counts; ResNet init statistics; determinism", () => {
  for (const name of ["resnet20", "resnet32", "resnet56", "cnn", "cnn-bn", "mlp"]) {
    const model = createModel(name, name.startsWith("cnn") || name === "mlp" ? FASHION : CIFAR10);
    const { params, state } = model.init(rngKey(0, "model"));
    assert.equal(parameterCount(params), modelParameterCount(model), name);
    treeDispose(params, state);
  }
  const model = createModel("resnet20", CIFAR10);
  const a = model.init(rngKey(0, "model"));
  const b = model.init(rngKey(0, "model"));
  const c = model.init(rngKey(1, "model"));
  assert.deepEqual(treeToArrays(a.params), treeToArrays(b.params));
  assert.deepEqual(treeToArrays(a.state), treeToArrays(b.state));
  const ca = treeToArrays(c.params);
  for (const [name, v] of Object.entries(treeToArrays(a.params))) {
    if (name.endsWith("kernel") || name === "classifier/bias") {
      assert.notDeepEqual(v, ca[name], name);
    }
  }
  const k = a.params["stage3/unit2/conv2/kernel"];
  assert.deepEqual(k.shape, [3, 3, 64, 64]);
  assert.ok(Math.abs(std(k.dataSync()) / Math.sqrt(2 / 576) - 1) < 0.03);
  const bias = a.params["classifier/bias"].dataSync();
  assert.ok(bias.every((v) => Math.abs(v) <= 1 / 8) && bias.some((v) => v !== 0));
  assert.ok(a.params["stem/bn/gamma"].dataSync().every((v) => v === 1));
  assert.ok(a.params["stem/bn/beta"].dataSync().every((v) => v === 0));
  assert.ok(a.state["stage2/unit0/bn1/mean"].dataSync().every((v) => v === 0));
  assert.ok(a.state["stage2/unit0/bn1/var"].dataSync().every((v) => v === 1));
  treeDispose(a.params, a.state, b.params, b.state, c.params, c.state);
});

Deno.test("option-A shortcut subsamples x[:, ::2, ::2] and zero-pads C_out/4 channels each side", () => {
  const x = tf.tensor4d(Array.from({ length: 32 }, (_, i) => i + 1), [1, 4, 4, 2]);
  const y = optionAShortcut(x, 4);
  assert.deepEqual(y.shape, [1, 2, 2, 4]);
  // Pixels (0,0), (0,2), (2,0), (2,2) hold channel pairs (1,2), (5,6), (17,18), (21,22).
  assert.deepEqual(
    Array.from(y.dataSync()),
    [0, 1, 2, 0, 0, 5, 6, 0, 0, 17, 18, 0, 0, 21, 22, 0],
  );
  const big = optionAShortcut(tf.ones([2, 32, 32, 16]) as tf.Tensor4D, 32);
  assert.deepEqual(big.shape, [2, 16, 16, 32]);
  const col = tf.sum(big, [0, 1, 2]).dataSync();
  assert.ok(col.every((v, i) => v === (i >= 8 && i < 24 ? 512 : 0)));
  assert.throws(() => optionAShortcut(x, 6), /cannot pad/);
  // Odd sizes keep rows/columns 0, 2, 4 (PyTorch's ::2 gives ceil(5/2) = 3).
  const odd = optionAShortcut(
    tf.tensor4d(Array.from({ length: 50 }, (_, i) => Math.floor(i / 2)), [1, 5, 5, 2]),
    4,
  );
  assert.deepEqual(odd.shape, [1, 3, 3, 4]);
  const sampled = Array.from(odd.dataSync()).filter((_, i) => i % 4 === 1);
  assert.deepEqual(sampled, [0, 2, 4, 10, 12, 14, 20, 22, 24]);
  // Differentiable: the gradient of a sum is 1 on the sampled pixels and 0 elsewhere.
  const g = tf.grad((t: tf.Tensor) => tf.sum(optionAShortcut(t as tf.Tensor4D, 4)))(x);
  assert.deepEqual(
    Array.from(g.dataSync()),
    Array.from({ length: 32 }, (_, i) => {
      const row = Math.floor(i / 8);
      const col = Math.floor((i % 8) / 2);
      return row % 2 === 0 && col % 2 === 0 ? 1 : 0;
    }),
  );
});

Deno.test("forward shapes and state contract for every model (tiny batches)", () => {
  const cases: [string, ModelOptions, number][] = [
    ["mlp", FASHION, 2],
    ["cnn", FASHION, 2],
    ["cnn-bn", FASHION, 2],
    ["resnet20", CIFAR10, 2],
    ["resnet32", TINY, 2],
    ["resnet44", TINY, 2],
    ["resnet56", TINY, 2],
  ];
  for (const [name, opts, batch] of cases) {
    const model = createModel(name, opts);
    assert.equal(model.name, name);
    const { params, state } = model.init(rngKey(0, name));
    const x = input([batch, ...opts.inputShape]);
    const train = model.apply(params, state, x, "train");
    assert.deepEqual(train.logits.shape, [batch, 10], name);
    assert.ok(train.state !== null);
    assertSameStructure(train.state, state);
    if (name === "mlp" || name === "cnn") assert.deepEqual(train.state, {});
    // Fresh tensors: not the inputs.
    for (const k of Object.keys(state)) assert.notEqual(train.state[k], state[k]);
    const evalOut = model.apply(params, state, x, "eval");
    assert.deepEqual(evalOut.logits.shape, [batch, 10]);
    assert.equal(evalOut.state, null);
    assert.ok(evalOut.logits.dataSync().every(Number.isFinite));
    tf.dispose([x, train.logits, evalOut.logits]);
    treeDispose(params, state, train.state);
  }
});

Deno.test("ResNet train mode: stem running stats follow PyTorch's update of the batch stats", () => {
  const model = createModel("resnet20", TINY);
  const { params, state } = model.init(rngKey(0, "bn"));
  const x = input([3, 8, 8, 3], 4);
  const out = model.apply(params, state, x, "train");
  const h = conv2d(x, params["stem/conv/kernel"] as tf.Tensor4D);
  const mean = tf.mean(h, [0, 1, 2]);
  const variance = tf.mul(tf.mean(tf.square(tf.sub(h, mean)), [0, 1, 2]), 192 / 191);
  const m = out.state!["stem/bn/mean"].dataSync();
  const v = out.state!["stem/bn/var"].dataSync();
  mean.dataSync().forEach((bm, i) => assert.ok(Math.abs(m[i] - 0.1 * bm) < 1e-5));
  variance.dataSync().forEach((bv, i) => assert.ok(Math.abs(v[i] - (0.9 + 0.1 * bv)) < 1e-4));
});

/** Random BN statistics and affine parameters, so eval-mode BN is not the identity. */
function perturbBn(params: Tree, state: Tree): void {
  let seed = 1;
  const rand = (t: tf.Tensor, lo: number, hi: number) => {
    const v = Array.from(
      { length: t.size },
      () => lo + (hi - lo) * (0.5 + 0.5 * Math.sin(seed++ * 12.9898)),
    );
    return tf.tensor(v, t.shape);
  };
  for (const k of Object.keys(params)) {
    if (k.endsWith("/gamma")) params[k] = rand(params[k], 0.5, 1.5);
    if (k.endsWith("/beta")) params[k] = rand(params[k], -0.3, 0.3);
    if (k === "classifier/kernel") params[k] = rand(params[k], -0.5, 0.5);
  }
  for (const k of Object.keys(state)) {
    state[k] = k.endsWith("/mean") ? rand(state[k], -0.2, 0.2) : rand(state[k], 0.5, 2);
  }
}

Deno.test("WRN units follow docs/paper.md#settings (pre-activation; shortcut = 1x1 conv of ReLU(BN(x)))", () => {
  // WRN-10-1: widths 16, 32, 64; one downsample + one basic unit per stage.
  const model = createWideResNet({ ...TINY, depth: 10, widthFactor: 1 });
  const { params, state } = model.init(rngKey(0, "wrn"));
  perturbBn(params, state);
  const x = input([2, 8, 8, 3], 2);
  const got = model.apply(params, state, x, "eval").logits.dataSync();
  const expected = tf.tidy(() => {
    const bn = (n: string, h: tf.Tensor4D) =>
      batchNorm(h, {
        gamma: params[`${n}/gamma`],
        beta: params[`${n}/beta`],
        mean: state[`${n}/mean`],
        var: state[`${n}/var`],
      }, "eval").y;
    const conv = (n: string, h: tf.Tensor4D, stride = 1) =>
      conv2d(h, params[`${n}/kernel`] as tf.Tensor4D, { stride });
    let h = conv("stem/conv", x);
    for (const [s, stride] of [[1, 1], [2, 2], [3, 2]]) {
      const a = tf.relu(bn(`stage${s}/unit0/bn1`, h));
      const r = conv(
        `stage${s}/unit0/conv2`,
        tf.relu(bn(`stage${s}/unit0/bn2`, conv(`stage${s}/unit0/conv1`, a, stride))),
      );
      h = tf.add(r, conv(`stage${s}/unit0/shortcut`, a, stride));
      const b = conv(`stage${s}/unit1/conv1`, tf.relu(bn(`stage${s}/unit1/bn1`, h)));
      h = tf.add(h, conv(`stage${s}/unit1/conv2`, tf.relu(bn(`stage${s}/unit1/bn2`, b))));
    }
    assert.deepEqual(h.shape, [2, 2, 2, 64]);
    const pooled = globalAvgPool(tf.relu(bn("final/bn", h)));
    return tf.add(tf.matMul(pooled, params["classifier/kernel"]), params["classifier/bias"]);
  }).dataSync();
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-4, `${v} vs ${expected[i]}`));
});

Deno.test("wrn16-8: 17,158,106 initialized params, zero classifier, kaiming convs, forward", () => {
  const model = createModel("wrn16-8", CIFAR10);
  const { params, state } = model.init(rngKey(0, "wrn"));
  assert.equal(parameterCount(params), 17_158_106);
  assert.ok(params["classifier/kernel"].dataSync().every((v) => v === 0));
  assert.ok(params["classifier/bias"].dataSync().every((v) => v === 0));
  const k = params["stage3/unit2/conv1/kernel"];
  assert.deepEqual(k.shape, [3, 3, 512, 512]);
  assert.ok(Math.abs(std(k.dataSync()) / kaimingStd([3, 3, 512, 512]) - 1) < 0.02);
  assert.deepEqual(params["stage2/unit0/shortcut/kernel"].shape, [1, 1, 128, 256]);
  assert.equal(params["stage2/unit1/shortcut/kernel"], undefined);
  // The parameters do not depend on the spatial size: run them on 8×8 inputs (cheap on cpu).
  const tiny = createModel("wrn16-8", TINY);
  const x = input([2, 8, 8, 3]);
  const train = tiny.apply(params, state, x, "train");
  assert.deepEqual(train.logits.shape, [2, 10]);
  assert.ok(train.logits.dataSync().every((v) => v === 0)); // zero classifier
  assertSameStructure(train.state!, state);
  const evalOut = tiny.apply(params, state, x, "eval");
  assert.deepEqual(evalOut.logits.shape, [2, 10]);
  assert.equal(evalOut.state, null);
  treeDispose(params, state, train.state!);
});

Deno.test("vgg16-bn: init statistics, forward, dropout keyed by the caller (or off)", () => {
  const model = createModel("vgg16-bn", CIFAR10);
  const { params, state } = model.init(rngKey(0, "vgg"));
  assert.equal(parameterCount(params), 33_646_666);
  const k = params["features/conv12/kernel"].dataSync();
  assert.ok(Math.abs(std(k) / Math.sqrt(2 / (9 * 512)) - 1) < 0.02);
  const k0 = params["features/conv0/kernel"].dataSync(); // fan_out = 9·64
  assert.ok(Math.abs(std(k0) / Math.sqrt(2 / 576) - 1) < 0.06);
  assert.ok(Math.abs(std(params["fc2/kernel"].dataSync()) / 0.01 - 1) < 0.01);
  for (const b of ["features/conv3/bias", "fc1/bias", "classifier/bias"]) {
    assert.ok(params[b].dataSync().every((v) => v === 0), b);
  }
  const x1 = input([1, 32, 32, 3]);
  const evalOut = model.apply(params, state, x1, "eval");
  assert.deepEqual(evalOut.logits.shape, [1, 10]);
  assert.equal(evalOut.state, null);
  // Train mode on one image: the last BN layers still see 2×2 values per channel.
  const x2 = input([1, 32, 32, 3], 3);
  assert.throws(() => model.apply(params, state, x2, "train"), /dropoutKey/);
  const a = model.apply(params, state, x2, "train", { dropoutKey: rngKey(0, "step", 1) });
  const c = model.apply(params, state, x2, "train", { dropoutKey: rngKey(0, "step", 2) });
  assert.notDeepEqual(a.logits.dataSync(), c.logits.dataSync());
  assertSameStructure(a.state!, state);
  const noDropout = createModel("vgg16-bn", { ...CIFAR10, dropout: 0 });
  const d = noDropout.apply(params, state, x2, "train");
  assert.deepEqual(d.logits.shape, [1, 10]);
  treeDispose(params, state, a.state!, c.state!, d.state!);
});

Deno.test("apply does not leak tensors, inside or outside tf.tidy", () => {
  const model = createModel("resnet20", TINY);
  const { params, state } = model.init(rngKey(0, "leak"));
  const x = input([2, 8, 8, 3]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      model.apply(params, state, x, "train");
      model.apply(params, state, x, "eval");
    });
  }
  assert.equal(tf.memory().numTensors, before);
  for (let i = 0; i < 3; i++) {
    const out = model.apply(params, state, x, "train");
    out.logits.dispose();
    treeDispose(out.state!);
  }
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("gradients flow through ResNet-20 in train mode and match a finite difference", () => {
  const model = createModel("resnet20", TINY);
  const { params, state } = model.init(rngKey(0, "grad"));
  const x = input([4, 8, 8, 3], 5);
  const labels = tf.tensor1d([0, 3, 7, 9], "int32");
  const names = Object.keys(params).sort();
  const loss = (ps: Tree) =>
    smoothCrossEntropy(model.apply(ps, state, x, "train").logits, labels, {
      smoothing: 0.1,
      numClasses: 10,
    });
  let kept: Tree = {};
  const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) => {
    const ps = Object.fromEntries(names.map((n, i) => [n, ts[i]]));
    const out = model.apply(ps, state, x, "train");
    kept = out.state!;
    for (const t of Object.values(kept)) tf.keep(t); // survive the gradient scope
    return smoothCrossEntropy(out.logits, labels, { smoothing: 0.1, numClasses: 10 });
  })(names.map((n) => params[n]));
  assertSameStructure(kept, state);
  assert.ok(!kept["stem/bn/mean"].isDisposed);
  grads.forEach((g, i) => {
    assert.deepEqual(g.shape, params[names[i]].shape);
    assert.ok(g.dataSync().every(Number.isFinite), names[i]);
  });
  // Directional derivative along a unit direction mixing the gradient and a fixed vector.
  const gnorm = Math.sqrt(grads.reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0], 0));
  const dir = grads.map((g, i) =>
    tf.add(tf.div(g, gnorm), tf.mul(0.01, tf.sin(tf.range(0, g.size).reshape(g.shape).add(i))))
  );
  const dnorm = Math.sqrt(dir.reduce((s, d) => s + tf.sum(tf.square(d)).dataSync()[0], 0));
  const analytic = grads.reduce((s, g, i) => s + tf.sum(tf.mul(g, dir[i])).dataSync()[0], 0) /
    dnorm;
  const at = (sign: number, eps: number) =>
    tf.tidy(() =>
      loss(Object.fromEntries(
        names.map((n, i) => [n, tf.add(params[n], tf.mul(sign * eps / dnorm, dir[i]))]),
      )).dataSync()[0]
    );
  // ReLU kinks make the central difference converge only linearly in eps (1e-2: 3 % off,
  // 1e-3: 0.5 %); float32 rounding is ~1e-4 relative at eps = 3e-4.
  const eps = 3e-4;
  const fd = (at(1, eps) - at(-1, eps)) / (2 * eps);
  assert.ok(value.dataSync()[0] > 0);
  assert.ok(Math.abs(fd - analytic) < 0.01 * Math.abs(analytic), `fd ${fd} vs ${analytic}`);
});

Deno.test("registry: names, unknown-name error, invalid options", () => {
  assert.deepEqual([...MODEL_NAMES], [
    "mlp",
    "cnn",
    "cnn-bn",
    "resnet20",
    "resnet32",
    "resnet44",
    "resnet56",
    "wrn16-8",
    "vgg16-bn",
  ]);
  for (const name of MODEL_NAMES) assert.equal(createModel(name, CIFAR10).name, name);
  assert.throws(() => createModel("resnet18", CIFAR10), /unknown model "resnet18".*resnet20/);
  assert.throws(() => createModel("cnn", { numClasses: 1, inputShape: [28, 28, 1] }), RangeError);
  assert.throws(() => createModel("vgg16-bn", FASHION), /at least 32x32/);
  const model = createModel("cnn", FASHION);
  const { params, state } = model.init(rngKey(0));
  assert.throws(() => model.apply(params, state, input([1, 32, 32, 3]), "eval"), /expected input/);
  const missing = { ...params };
  delete missing["conv2/kernel"];
  assert.throws(() => model.apply(missing, state, input([1, 28, 28, 1]), "eval"), /conv2\/kernel/);
});

async function summary(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "models/summary.ts", ...args],
    cwd: new URL("../..", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("models/summary.ts prints the counts; bad flags exit 2", async () => {
  const ok = await summary("--dataset", "cifar10");
  assert.equal(ok.code, 0, ok.stderr);
  for (
    const [name, count] of [
      ["resnet20", "269,722"],
      ["resnet32", "464,154"],
      ["resnet56", "853,018"],
      ["wrn16-8", "17,158,106"],
      ["vgg16-bn", "33,646,666"],
    ]
  ) {
    assert.match(ok.stdout, new RegExp(`^${name}\\s+${count}\\s`, "m"));
  }
  const bad = await summary("--bogus");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bogus/);
  const badDataset = await summary("--dataset", "imagenet");
  assert.equal(badDataset.code, 2);
  assert.match(badDataset.stderr, /unknown dataset "imagenet"/);
  const help = await summary("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--dataset/);
});

Deno.test("hasBatchNorm: cnn-bn, the ResNets, WRN and VGG-BN have it; the MLP and reference CNN do not", () => {
  for (const name of ["cnn-bn", "resnet20", "resnet56", "wrn16-8", "vgg16-bn"]) {
    assert.ok(hasBatchNorm(name));
  }
  for (const name of ["mlp", "cnn", "nope"]) assert.ok(!hasBatchNorm(name), name);
});
