/**
 * Measurement (not a test): the finite-difference HVP of `core/metrics/hvp.ts` on ResNet-20 with
 * train-mode BatchNorm against the exact Hessian of PyTorch's double backpropagation (the
 * authors' HVP) on the same weights and images, over a range of ε. The loss and gradient are
 * compared in float64, the products in float32 (exact to rounding; `hvp_batchnorm.py` says why).
 *
 *     TORCH_PYTHON=/usr/bin/python3 deno run -A tests/bench/hvp_batchnorm.ts CHECKPOINT \
 *       [IMAGES=256] [TRAIN_SIZE=2000] [DATASET=fashion-mnist]
 *
 * CHECKPOINT is a `resnet20` checkpoint (e.g. `deno task train --model resnet20 …`); the
 * images are the first IMAGES unaugmented training images of the fixed TRAIN_SIZE subset, in
 * chunks of 128 (the sweeps' chunk), each chunk normalized by its own batch statistics, plain
 * cross-entropy. TORCH_PYTHON names a python3 with torch (default `python3`; Debian's
 * python3-torch installs it for the system Python). `hvp_batchnorm.py` runs as a child process
 * and answers products through two named pipes, so the exact operator is a synchronous
 * `LinearOperator` and both sides use the same Lanczos.
 *
 * Prints: loss and gradient of tfjs (float32) against PyTorch (float64); for each ε, the
 * relative error ‖H̃v − Hv‖/‖Hv‖ of the FD product for three random unit vectors, uᵀH̃u along
 * the exact top eigenvector u, and the FD Lanczos λ_max (tolerance 1e-3, as the sweeps) with its
 * iterations, relative residual and asymmetry; the exact Lanczos λ_max (tolerance 1e-4) first.
 * Then a control on the first random vector: PyTorch's own central difference of its gradient
 * in float32 (every ε) and float64 (two; up to 128 images), which tells float32 rounding from the ReLU kinks.
 * Progress (one line per Lanczos iteration) goes to stderr.
 *
 * @module
 */
import { join } from "node:path";
import { DEFAULT_BACKEND, useBackend } from "../../core/backend.ts";
import {
  createHvp,
  lanczos,
  type LanczosResult,
  type LanczosStep,
  type LinearOperator,
  randomUnitVector,
  vectorDot,
  vectorNorm,
} from "../../core/metrics/mod.ts";
import { rngKey } from "../../core/random.ts";
import { evalBatches, loadDataset } from "../../data/mod.ts";
import { loadCheckpointFor } from "../../experiments/load_checkpoint.ts";
import { crossEntropy } from "../../models/mod.ts";
import { relativeError } from "../core/metrics/_helpers.ts";

const USAGE = "usage: deno run -A tests/bench/hvp_batchnorm.ts CHECKPOINT [IMAGES=256] " +
  "[TRAIN_SIZE=2000] [DATASET=fashion-mnist]";
if (Deno.args.includes("--help") || Deno.args.includes("-h") || Deno.args.length === 0) {
  console.log(USAGE);
  Deno.exit(Deno.args.length === 0 ? 2 : 0);
}
const [checkpoint, imagesArg = "256", trainSizeArg = "2000", dataset = "fashion-mnist"] = Deno.args;
const images = Number(imagesArg);
const CHUNK = 128;
const EPSILONS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1];
/**
 * ε of the float64 control, at most 128 images (a float64 gradient takes PyTorch tens of
 * seconds per 128 images on the CPU).
 */
const CONTROL_FLOAT64 = images <= 128 ? [1e-2, 1e-1] : [];
const backend = await useBackend(DEFAULT_BACKEND);
const data = await loadDataset(dataset as "fashion-mnist", {
  trainSize: Number(trainSizeArg) || undefined,
});
const { model, run } = await loadCheckpointFor(checkpoint, data);
if (model.name !== "resnet20") {
  console.error(`${checkpoint}: a ${model.name} checkpoint; this script validates resnet20`);
  Deno.exit(2);
}
const batches = [...evalBatches(data, "train", { batchSize: CHUNK, limit: images })];
const fdOperator = (epsilon: number) =>
  createHvp({
    model,
    params: run.params,
    state: run.modelState,
    data: batches,
    loss: crossEntropy,
    chunk: CHUNK,
    epsilon,
    bnMode: "train",
  });

// ---- The exact side: hvp_batchnorm.py behind two named pipes -------------------------------
const folder = await Deno.makeTempDir({ prefix: "hvp-batchnorm-" });
const probe = fdOperator(1e-2);
const layout = probe.layout;
const [h, w] = data.imageShape;
await Deno.writeTextFile(
  join(folder, "layout.json"),
  JSON.stringify({ names: layout.names, shapes: layout.shapes, chunk: CHUNK, height: h, width: w }),
);
const x = new Float32Array(batches.reduce((n, b) => n + b.x.length, 0));
const y = new Int32Array(batches.reduce((n, b) => n + b.size, 0));
let xo = 0;
let yo = 0;
for (const b of batches) {
  x.set(b.x, xo);
  y.set(b.y, yo);
  xo += b.x.length;
  yo += b.size;
}
await Deno.writeFile(join(folder, "images.f32"), new Uint8Array(x.buffer));
await Deno.writeFile(join(folder, "labels.i32"), new Uint8Array(y.buffer));
for (const pipe of ["request", "response"]) {
  const made = new Deno.Command("mkfifo", { args: [join(folder, pipe)] }).outputSync();
  if (!made.success) throw new Error(`mkfifo ${pipe} failed`);
}
const python = Deno.env.get("TORCH_PYTHON") ?? "python3";
const script = new URL("./hvp_batchnorm.py", import.meta.url).pathname;
const child = new Deno.Command(python, {
  args: [script, checkpoint, folder],
  stdout: "inherit",
  stderr: "inherit",
})
  .spawn();
const request = Deno.openSync(join(folder, "request"), { write: true });
const response = Deno.openSync(join(folder, "response"), { read: true });

function readFloat64(count: number): Float64Array {
  const bytes = new Uint8Array(count * 8);
  for (let got = 0; got < bytes.length;) {
    const n = response.readSync(bytes.subarray(got));
    if (n === null) throw new Error("hvp_batchnorm.py closed its response pipe (see its stderr)");
    got += n;
  }
  return new Float64Array(bytes.buffer);
}

const exactLoss = readFloat64(1)[0];
const exactGrad = readFloat64(layout.dim);
let exactProducts = 0;
/** Asks the Python side: mode 0 = exact H·v; ε > 0 (< 0) = its float64 (float32) FD product. */
function torchProduct(mode: number, v: Float64Array): Float64Array {
  const message = new Float64Array(v.length + 1);
  message[0] = mode;
  message.set(v, 1);
  const bytes = new Uint8Array(message.buffer);
  for (let sent = 0; sent < bytes.length;) sent += request.writeSync(bytes.subarray(sent));
  return readFloat64(layout.dim);
}
const exact: LinearOperator = {
  dim: layout.dim,
  apply(v) {
    exactProducts++;
    return torchProduct(0, v);
  },
};

// ---- Loss and gradient ----------------------------------------------------------------------
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(0);
const tfjs = probe.gradient();
probe.dispose();
console.log(
  `${checkpoint}: resnet20, ${layout.dim} parameters, ${y.length} ${dataset} images in chunks ` +
    `of ${CHUNK}, train-mode BatchNorm, backend ${backend}`,
);
console.log(
  `loss: tfjs float32 ${tfjs.loss.toPrecision(8)}, PyTorch float64 ${exactLoss.toPrecision(8)} ` +
    `(relative difference ${(Math.abs(tfjs.loss - exactLoss) / exactLoss).toExponential(1)}); ` +
    `gradient: ‖g‖ ${vectorNorm(exactGrad).toPrecision(4)}, relative error ` +
    `${relativeError(tfjs.grad, exactGrad).toExponential(1)}`,
);

// ---- Exact spectrum -------------------------------------------------------------------------
const key = rngKey(0, "hvp-batchnorm");
let t0 = performance.now();
const progress = (label: string) => (s: LanczosStep) =>
  console.error(`${label} ${s.iteration}: ${s.values[0]} (${s.relativeResiduals[0]})`);
const reference = lanczos(exact, {
  key,
  k: 1,
  maxIterations: 40,
  tolerance: 1e-4,
  returnVectors: true,
  onIteration: progress("exact"),
});
const describe = (r: LanczosResult) =>
  `λ_max ${r.eigenvalues[0].toFixed(4)}, ${r.iterations} iterations, ` +
  `relative residual ${r.relativeResiduals[0].toExponential(1)}, asymmetry ` +
  `${(r.asymmetries[0] / Math.abs(r.eigenvalues[0])).toExponential(1)}` +
  (r.converged ? "" : " UNCONVERGED");
console.log(`exact Hessian (double backprop, float32): ${describe(reference)}, ${seconds(t0)} s`);
const top = reference.vectors![0];
const lambdaMax = reference.eigenvalues[0];

// ---- FD products against the exact ones, per ε ------------------------------------------------
const probes = [0, 1, 2].map((i) => randomUnitVector(layout.dim, rngKey(i, "hvp-batchnorm", "v")));
const exactProbes = probes.map((v) => exact.apply(v));
console.log(
  "random-v Rayleigh quotients vᵀHv (exact): " +
    probes.map((v, i) => vectorDot(v, exactProbes[i]).toFixed(4)).join(", "),
);
console.log(
  "epsilon\trelerr_v1\trelerr_v2\trelerr_v3\tuHu_top(exact " + lambdaMax.toFixed(4) +
    ")\tlambda_max\titers\trel_residual\tasymmetry\tseconds",
);
for (const epsilon of EPSILONS) {
  t0 = performance.now();
  const op = fdOperator(epsilon);
  const errors = probes.map((v, i) => relativeError(op.apply(v), exactProbes[i]));
  const along = vectorDot(top, op.apply(top));
  const r = lanczos(op, {
    key,
    k: 1,
    maxIterations: 30,
    tolerance: 1e-3,
    onIteration: progress(`ε ${epsilon}`),
  });
  op.dispose();
  console.log(
    [
      epsilon,
      ...errors.map((e) => e.toExponential(2)),
      along.toFixed(4),
      ...r.eigenvalues.map((v) => v.toFixed(4)),
      r.iterations + (r.converged ? "" : "*"),
      r.relativeResiduals[0].toExponential(1),
      (r.asymmetries[0] / Math.abs(r.eigenvalues[0])).toExponential(1),
      seconds(t0),
    ].join("\t"),
  );
}
console.log(`(* = unconverged; ${exactProducts} exact products)`);

// ---- Control: PyTorch's own central difference on v1, float32 and float64 --------------------
console.log("control, v1: relative error of PyTorch's central difference of its own gradient");
console.log("epsilon\ttorch_float32\ttorch_float64");
for (const epsilon of EPSILONS) {
  const f32 = relativeError(torchProduct(-epsilon, probes[0]), exactProbes[0]);
  const f64 = CONTROL_FLOAT64.includes(epsilon)
    ? relativeError(torchProduct(epsilon, probes[0]), exactProbes[0]).toExponential(2)
    : "-";
  console.log(`${epsilon}\t${f32.toExponential(2)}\t${f64}`);
}
request.close();
response.close();
const status = await child.status;
await Deno.remove(folder, { recursive: true });
if (!status.success) throw new Error(`hvp_batchnorm.py exited with ${status.code}`);
