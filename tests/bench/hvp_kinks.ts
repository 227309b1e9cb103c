/**
 * Measurement (not a test): how far the finite-difference HVP of a trained reference CNN is
 * from the Hessian that double backprop (the authors' HVP) computes, and how it depends on ε.
 *
 *     deno run -A tests/bench/hvp_kinks.ts CHECKPOINT [IMAGES=256] [TRAIN_SIZE=10000]
 *
 * ReLU and max pooling make the gradient jump where a unit changes sign or a pooling window
 * changes its winner. Double backprop differentiates the gradient with the activation pattern
 * fixed (the almost-everywhere Hessian); a central difference over ±ε also picks up the jumps
 * of every kink it crosses. Reference: the float64 plain-TypeScript CNN of
 * `tests/core/metrics/_float64.ts` with the pattern frozen at θ, differentiated by δ = 1e-4
 * central differences (exact up to O(δ²): with a frozen pattern the network is a polynomial).
 * Prints the top-2 eigenvalues of that Hessian (Lanczos), vᵀHv along its top eigenvector
 * for the tfjs FD-HVP over a range of ε with the number of pattern changes on ±εv, and
 * tfjs FD-HVP Lanczos eigenvalues at three ε. Images: the first IMAGES unaugmented training
 * images of the fixed TRAIN_SIZE subset (Fashion-MNIST), plain cross-entropy, wasm backend.
 */
import { useBackend } from "../../core/backend.ts";
import {
  createHvp,
  lanczos,
  type LinearOperator,
  paramLayout,
  treeToVector,
  vectorDot,
  vectorNorm,
} from "../../core/metrics/mod.ts";
import { rngKey } from "../../core/random.ts";
import { loadRun } from "../../core/train.ts";
import { evalBatches, loadDataset } from "../../data/mod.ts";
import { createModel, crossEntropy } from "../../models/mod.ts";
import { cnnPass, type CnnPattern } from "../core/metrics/_float64.ts";

const [checkpoint, imagesArg = "256", trainSizeArg = "10000"] = Deno.args;
if (!checkpoint) {
  console.error("usage: deno run -A tests/bench/hvp_kinks.ts CHECKPOINT [IMAGES] [TRAIN_SIZE]");
  Deno.exit(2);
}
const images = Number(imagesArg);
await useBackend("wasm");
const data = await loadDataset("fashion-mnist", { trainSize: Number(trainSizeArg) || undefined });
const model = createModel("cnn", { numClasses: data.numClasses, inputShape: data.imageShape });
const { run } = await loadRun(checkpoint, model);
const layout = paramLayout(run.params);
const theta = treeToVector(run.params, layout);
const batch = [...evalBatches(data, "train", { batchSize: images, limit: images })][0];
const subset = { x: batch.x, y: batch.y, n: batch.size };
const pass = (t: Float64Array, frozen?: CnnPattern) =>
  cnnPass(t, layout, subset, data.imageShape, data.numClasses, frozen);
const along = (u: Float64Array, s: number) => theta.map((t, i) => t + s * u[i]);
const frozen = pass(theta).frozen;

const exact: LinearOperator = {
  dim: layout.dim,
  apply(v) {
    const vn = vectorNorm(v);
    const u = v.map((x) => x / vn);
    const delta = 1e-4;
    const gp = pass(along(u, delta), frozen).grad;
    const gm = pass(along(u, -delta), frozen).grad;
    return gp.map((g, i) => ((g - gm[i]) * vn) / (2 * delta));
  },
};
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(0);
let t0 = performance.now();
const top = lanczos(exact, {
  key: rngKey(0, "hvp-kinks"),
  k: 2,
  maxIterations: 20,
  tolerance: 1e-4,
  returnVectors: true,
});
console.log(
  `${checkpoint}, ${images} images, ${layout.dim} parameters\n` +
    `a.e. Hessian (float64, frozen pattern): top-2 ${top.eigenvalues.map((x) => x.toFixed(4))}, ` +
    `residuals ${top.residuals.map((x) => x.toExponential(1))}, ${top.iterations} HVPs, ` +
    `${seconds(t0)} s`,
);
const v = top.vectors![0];
const changed = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let k = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) k++;
  return k;
};
console.log("epsilon\tvHv_fd_tfjs\tvHv_fd_float64\trelu1\tpool1\trelu2\tpool2 (pattern changes)");
for (const epsilon of [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]) {
  const op = createHvp({
    model,
    params: run.params,
    state: run.modelState,
    data: [batch],
    loss: crossEntropy,
    epsilon,
  });
  const q = vectorDot(v, op.apply(v));
  op.dispose();
  const pp = pass(along(v, epsilon));
  const pm = pass(along(v, -epsilon));
  const fd = vectorDot(v, pp.grad.map((g, i) => (g - pm.grad[i]) / (2 * epsilon)));
  const f = (k: keyof CnnPattern) => changed(pp.frozen[k], pm.frozen[k]);
  console.log(
    `${epsilon}\t${q.toFixed(4)}\t${fd.toFixed(4)}\t${f("relu1")}\t${f("pool1")}\t${f("relu2")}\t${
      f("pool2")
    }`,
  );
}
for (const epsilon of [3e-3, 1e-2, 3e-2]) {
  t0 = performance.now();
  const op = createHvp({
    model,
    params: run.params,
    state: run.modelState,
    data: [batch],
    loss: crossEntropy,
    epsilon,
  });
  const r = lanczos(op, { key: rngKey(0, "hvp-kinks"), k: 2, maxIterations: 20, tolerance: 1e-3 });
  op.dispose();
  console.log(
    `FD-HVP (tfjs) ε ${epsilon}: top-2 ${r.eigenvalues.map((x) => x.toFixed(4))}, ` +
      `${r.iterations} HVPs, ${seconds(t0)} s`,
  );
}
