/**
 * Sharpness of a trained model: the top Hessian eigenvalues of its mean loss over a fixed
 * subset (docs/paper.md#measurements), optionally cross-checked by power iteration, and the
 * Hessian trace.
 *
 * One call builds the finite-difference Hessian operator (`hvp.ts`), runs Lanczos for the top
 * k eigenvalues (largest magnitude; λ_max is the first), then, when asked, power iteration
 * from an independent start and Hutchinson's trace, and frees everything it uploaded. Every
 * random vector comes from a stream below `key`:
 *
 *     Lanczos start   deriveKey(key, "lanczos")
 *     power start     deriveKey(key, "power")
 *     trace probe i   deriveKey(key, "trace", i)
 *
 * so a result is a pure function of (model, point, subset, options) and bitwise reproducible
 * on a backend.
 *
 * @module
 */
import type { Batch } from "../batch.ts";
import type { Mode, Model } from "../model.ts";
import { deriveKey, type RngKey } from "../random.ts";
import type { Tree } from "../tree.ts";
import { hutchinsonTrace, type TraceResult } from "./hutchinson.ts";
import { createHvp, DEFAULT_HVP_CHUNK, DEFAULT_HVP_EPSILON, type LossFunction } from "./hvp.ts";
import { lanczos, type LanczosResult } from "./lanczos.ts";
import { powerIteration, type PowerResult } from "./power.ts";

/** Defaults of {@link measureSharpness}. */
export const SHARPNESS_DEFAULTS = {
  k: 2,
  lanczosIterations: 40,
  tolerance: 1e-3,
  powerIterations: 0,
  traceProbes: 0,
} as const;

/** Options of {@link measureSharpness}. */
export interface SharpnessOptions {
  model: Model;
  params: Tree;
  /** BatchNorm running statistics (read only). */
  state: Tree;
  /** The fixed subset, e.g. the first 5,000 unaugmented training images. */
  data: Iterable<Batch>;
  /** Mean loss of a chunk: plain cross-entropy for the authors' sharpness. */
  loss: LossFunction;
  /** Root stream of the start vectors and probes. */
  key: RngKey;
  /** Examples per chunk; default 128. */
  chunk?: number;
  /** Finite-difference step; default {@link DEFAULT_HVP_EPSILON}. */
  epsilon?: number;
  /** BatchNorm mode; default `train` (per-chunk batch statistics, as the authors). */
  bnMode?: Mode;
  /** Dropout streams for models with dropout (see `hvp.ts`). */
  dropoutKey?: RngKey;
  /** Eigenvalues wanted; default 2 (the authors' `neigs`). */
  k?: number;
  /** Most Lanczos iterations (one HVP each; it stops earlier at the tolerance); default 40. */
  lanczosIterations?: number;
  /** Relative tolerance of Lanczos (Ritz residual) and power iteration (change); 1e-3. */
  tolerance?: number;
  /** Power-iteration HVPs for an independent λ_max (0: skip); default 0. */
  powerIterations?: number;
  /** Hutchinson probes for the trace (0: skip); default 0. */
  traceProbes?: number;
  /** Called after every HVP with the estimator's current estimate (progress). */
  onStep?: (step: SharpnessStep) => void;
}

/** Progress of {@link measureSharpness}: one per HVP. */
export interface SharpnessStep {
  phase: "lanczos" | "power" | "trace";
  /** HVPs so far, all estimators together. */
  hvps: number;
  /** The current estimate: top Ritz value, Rayleigh quotient, or running trace mean. */
  estimate: number;
}

/** What {@link measureSharpness} reports. */
export interface SharpnessResult {
  /** Lanczos' k eigenvalues of largest magnitude, in descending magnitude. */
  eigenvalues: number[];
  /** eigenvalues[0]: λ_max at a minimum. */
  lambdaMax: number;
  lanczos: LanczosResult;
  power: PowerResult | null;
  trace: TraceResult | null;
  /** HVPs by all estimators together, and full-subset gradient evaluations (2 per HVP). */
  hvps: number;
  gradients: number;
  /** Wall time of the whole measurement (upload included). */
  seconds: number;
  /** The operator's facts: subset size, chunks, ε, BatchNorm mode, parameters. */
  operator: { examples: number; chunks: number; epsilon: number; bnMode: Mode; dim: number };
}

function checkCount(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`measureSharpness: ${name} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

/**
 * Measures the top-k Hessian eigenvalues (and optionally power iteration's λ_max and the
 * trace) of the mean loss over `data` at (`params`, `state`). See the module documentation.
 *
 * @throws {RangeError} on a bad option (named), an empty subset or mismatched inputs.
 */
export function measureSharpness(options: SharpnessOptions): SharpnessResult {
  const t0 = performance.now();
  const k = checkCount(options.k ?? SHARPNESS_DEFAULTS.k, "k", 1);
  const lanczosIterations = checkCount(
    options.lanczosIterations ?? SHARPNESS_DEFAULTS.lanczosIterations,
    "lanczosIterations",
    k,
  );
  const powerIterations = checkCount(
    options.powerIterations ?? SHARPNESS_DEFAULTS.powerIterations,
    "powerIterations",
    0,
  );
  const traceProbes = checkCount(
    options.traceProbes ?? SHARPNESS_DEFAULTS.traceProbes,
    "traceProbes",
    0,
  );
  const tolerance = options.tolerance ?? SHARPNESS_DEFAULTS.tolerance;
  const hvp = createHvp({
    model: options.model,
    params: options.params,
    state: options.state,
    data: options.data,
    loss: options.loss,
    chunk: options.chunk ?? DEFAULT_HVP_CHUNK,
    epsilon: options.epsilon ?? DEFAULT_HVP_EPSILON,
    bnMode: options.bnMode ?? "train",
    dropoutKey: options.dropoutKey,
  });
  try {
    const report = (phase: SharpnessStep["phase"], estimate: number) =>
      options.onStep?.({ phase, hvps: hvp.hvps, estimate });
    const top = lanczos(hvp, {
      key: deriveKey(options.key, "lanczos"),
      k,
      maxIterations: lanczosIterations,
      tolerance,
      onIteration: (step) => report("lanczos", step.values[0]),
    });
    const power = powerIterations > 0
      ? powerIteration(hvp, {
        key: deriveKey(options.key, "power"),
        maxIterations: powerIterations,
        tolerance,
        onIteration: (step) => report("power", step.eigenvalue),
      })
      : null;
    let traceSum = 0;
    const trace = traceProbes > 0
      ? hutchinsonTrace(hvp, {
        key: deriveKey(options.key, "trace"),
        probes: traceProbes,
        onProbe: (i, sample) => report("trace", (traceSum += sample) / (i + 1)),
      })
      : null;
    return {
      eigenvalues: top.eigenvalues,
      lambdaMax: top.eigenvalues[0],
      lanczos: top,
      power,
      trace,
      hvps: hvp.hvps,
      gradients: hvp.gradients,
      seconds: (performance.now() - t0) / 1000,
      operator: {
        examples: hvp.examples,
        chunks: hvp.chunks,
        epsilon: hvp.epsilon,
        bnMode: hvp.bnMode,
        dim: hvp.dim,
      },
    };
  } finally {
    hvp.dispose();
  }
}
