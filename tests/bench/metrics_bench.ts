/**
 * Curvature-metric benchmarks on the default backend (wasm), reference CNN (28×28×1, 10
 * classes, 50,186 parameters) at its initialization, on 1,000 synthetic images in chunks of
 * 128: one full-subset gradient evaluation (the baseline) against one finite-difference HVP
 * (two gradient evaluations plus perturbing the weights, forming the difference chunk by chunk
 * and reading the result back). The group summary gives the HVP/gradient ratio (target ≤ 2.1×).
 * A second group times the HVP for chunks of 64, 128 (the default), 256 and 500.
 */
import { useBackend } from "../../core/backend.ts";
import { createHvp, type HvpOperator } from "../../core/metrics/mod.ts";
import { createRng, rngKey } from "../../core/random.ts";
import { createModel, crossEntropy } from "../../models/mod.ts";

await useBackend("wasm");

const IMAGES = 1000;
const model = createModel("cnn", { numClasses: 10, inputShape: [28, 28, 1] });
const { params, state } = model.init(rngKey(0, "bench", "cnn"));
const rng = createRng(rngKey(0, "bench", "images"));
const data = [{
  x: Float32Array.from(rng.normals(IMAGES * 784)),
  y: Int32Array.from({ length: IMAGES }, () => rng.int(10)),
  size: IMAGES,
}];
const v = rng.normals(Object.values(params).reduce((a, t) => a + t.size, 0));

const operators = new Map<number, HvpOperator>();
function operator(chunk: number): HvpOperator {
  if (!operators.has(chunk)) {
    operators.set(chunk, createHvp({ model, params, state, data, loss: crossEntropy, chunk }));
  }
  return operators.get(chunk)!;
}

const n = { n: 5, warmup: 1 };
Deno.bench(
  "reference CNN, full-subset gradient (1,000 images, chunks of 128)",
  { group: "hvp-vs-gradient", baseline: true, ...n },
  () => {
    operator(128).gradient();
  },
);
Deno.bench(
  "reference CNN, finite-difference HVP (1,000 images, chunks of 128)",
  { group: "hvp-vs-gradient", ...n },
  () => {
    operator(128).apply(v);
  },
);
for (const chunk of [64, 128, 256, 500]) {
  Deno.bench(
    `reference CNN, finite-difference HVP (1,000 images, chunks of ${chunk}) `,
    { group: "hvp-chunk", baseline: chunk === 128, n: 3, warmup: 1 },
    () => {
      operator(chunk).apply(v);
    },
  );
}
