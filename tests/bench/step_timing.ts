/**
 * Times our training steps in this process and prints one JSON line (run by
 * `side_by_side_bench.ts`, once per backend and thread count, since the wasm thread count is
 * fixed per process):
 *
 *     deno run -A tests/bench/step_timing.ts [--models cnn,resnet20] [--backend wasm|native]
 *       [--threads N]
 *
 * For each model: the median wall time of an SGD step, a SAM step, one loss-and-gradient
 * evaluation (`grad`), and a central-difference Hessian-vector product
 * `(g(θ + εv) − g(θ − εv)) / 2ε` with a unit vector v (`hvp`; tfjs' nested gradients are
 * broken, docs/platform.md), all at batch 128 (`step_fixture.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { backendInfo, useBackend } from "../../core/backend.ts";
import { type Tree, treeDispose, treeGlobalNorm, treeMap, treeZip } from "../../core/tree.ts";
import { makeGradFn, makeStepper, STEP_MODELS, type StepModel } from "./step_fixture.ts";

/** One timing: a model, what was timed, and the median milliseconds. */
export interface Timing {
  model: StepModel;
  what: "sgd" | "sam" | "grad" | "hvp";
  ms: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median wall time of `f` over `n` calls after `warmup` calls. */
export function timeIt(f: () => void, n: number, warmup: number): number {
  for (let i = 0; i < warmup; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** A central-difference HVP at the model's initial parameters, reading the result back. */
function makeHvp(model: StepModel): () => void {
  const { grad, params } = makeGradFn(model);
  const eps = 1e-2;
  const v: Tree = tf.tidy(() => {
    const raw = treeMap(
      params,
      (p, name) => tf.randomNormal(p.shape, 0, 1, "float32", name.length),
    );
    const norm = treeGlobalNorm(raw);
    return treeMap(raw, (r) => tf.div(r, norm));
  });
  return () => {
    const plus = tf.tidy(() => treeZip(params, v, (p, d) => tf.add(p, tf.mul(d, eps))));
    const minus = tf.tidy(() => treeZip(params, v, (p, d) => tf.sub(p, tf.mul(d, eps))));
    const gp = grad(plus);
    const gm = grad(minus);
    const hv = tf.tidy(() => treeZip(gp, gm, (a, b) => tf.div(tf.sub(a, b), 2 * eps)));
    Object.values(hv)[0].dataSync();
    treeDispose(plus, minus, gp, gm, hv);
  };
}

/** Times every measurement for the given models. */
export function timeAll(models: readonly StepModel[]): Timing[] {
  const out: Timing[] = [];
  for (const model of models) {
    const [n, warmup] = model.startsWith("cnn") ? [10, 3] : [4, 2];
    out.push({ model, what: "sgd", ms: timeIt(makeStepper(model, "sgd"), n, warmup) });
    out.push({ model, what: "sam", ms: timeIt(makeStepper(model, "sam"), n, warmup) });
    const { grad, params } = makeGradFn(model);
    const once = () => {
      const g = grad(params);
      Object.values(g)[0].dataSync();
      treeDispose(g);
    };
    out.push({ model, what: "grad", ms: timeIt(once, n, warmup) });
    out.push({ model, what: "hvp", ms: timeIt(makeHvp(model), n, warmup) });
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      models: { type: "string", default: STEP_MODELS.join(",") },
      backend: { type: "string", default: "wasm" },
      threads: { type: "string", default: "1" },
    },
    strict: true,
  });
  const models = values.models.split(",") as StepModel[];
  for (const m of models) {
    if (!STEP_MODELS.includes(m)) throw new Error(`unknown model ${m}`);
  }
  const backend = values.backend;
  if (backend !== "wasm" && backend !== "native") throw new Error(`unknown --backend ${backend}`);
  await useBackend(backend, { threads: Number(values.threads) });
  const results = timeAll(models);
  console.log(JSON.stringify({ threadCount: backendInfo().threadCount, results }));
}
