/**
 * Benchmarks of the reproducibility core and the optimizer steps (`deno task bench`).
 * Timings live here, not in tests; each group compares variants side by side in one run.
 */
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../core/backend.ts";
import { disposeSgdState, type OptimizerSpec, optimizerStep, sgd } from "../../core/optim/mod.ts";
import { createRng, rngKey } from "../../core/random.ts";
import { renderChart } from "../../core/render.ts";
import { type Tree, treeDispose } from "../../core/tree.ts";
import { noisyLossAndGrad, valleyParams } from "../../models/toy_valley.ts";

await useBackend("cpu");

// A quadratic loss ½Σ d_i θ_i² over a two-leaf tree of 20k parameters: its gradient costs about
// as much as the optimizer's own arithmetic, so the SAM/SGD ratio shows the optimizer overhead.
const rng = createRng(rngKey(0, "bench", "optim"));
const n = 10_000;
const curvature: Tree = {
  a: tf.tensor1d(Float32Array.from(rng.uniforms(n, 0.1, 2))),
  b: tf.tensor1d(Float32Array.from(rng.uniforms(n, 0.1, 2))),
};
const start: Tree = {
  a: tf.tensor1d(Float32Array.from(rng.normals(n))),
  b: tf.tensor1d(Float32Array.from(rng.normals(n))),
};
const lossAndGrad = (p: Tree) =>
  tf.tidy(() => {
    const grads: Tree = { a: tf.mul(curvature.a, p.a), b: tf.mul(curvature.b, p.b) };
    const loss = tf.mul(0.5, tf.add(tf.sum(tf.mul(grads.a, p.a)), tf.sum(tf.mul(grads.b, p.b))));
    return { loss: loss as tf.Scalar, grads };
  });

function benchStep(spec: OptimizerSpec) {
  const base = sgd({ momentum: 0.9, weightDecay: 5e-4 });
  return () => {
    const state = base.init(start);
    const next = optimizerStep({ spec, lossAndGrad, params: start, state, base, lr: 0.01 });
    next.loss.dispose();
    treeDispose(next.params);
    disposeSgdState(next.state);
  };
}

Deno.bench(
  "SGD step, 20k-parameter quadratic",
  { group: "optimizer step", baseline: true },
  benchStep({ kind: "sgd" }),
);
Deno.bench(
  "SAM step, 20k-parameter quadratic",
  { group: "optimizer step" },
  benchStep({ kind: "sam", rho: 0.05 }),
);
Deno.bench(
  "USAM step, 20k-parameter quadratic",
  { group: "optimizer step" },
  benchStep({ kind: "usam", rho: 0.05 }),
);

const valley = {
  sharpness: "quadratic",
  crossSection: "subquadratic",
  h0: 1,
  a: 1,
  b: 0.5,
} as const;
const toyParams = valleyParams({ u: 3.7, v: 0.01 });
Deno.bench("toy valley noisy loss and gradient (tfjs cpu)", { group: "toy" }, () => {
  const { loss, grads } = noisyLossAndGrad(valley, toyParams, { sigma: 0.3, z: 0.5 });
  loss.dispose();
  treeDispose(grads);
});

Deno.bench("1e5 normal draws", { group: "prng" }, () => {
  createRng(rngKey(1, "bench")).normals(100_000);
});
Deno.bench("permutation of 60,000 (one epoch's shuffle)", { group: "prng" }, () => {
  createRng(rngKey(1, "bench")).permutation(60_000);
});

const spec = {
  data: { values: Array.from({ length: 200 }, (_, i) => ({ x: i, y: Math.sin(i / 10) })) },
  mark: "line",
  encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
} as const;
Deno.bench("render a 200-point line chart to SVG and PNG", { group: "render" }, async () => {
  await renderChart(spec);
});
