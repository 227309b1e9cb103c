/**
 * Power iteration for the eigenvalue of largest magnitude of a symmetric operator.
 *
 * From a seeded Gaussian start vector v₀, each iteration computes w = A·v, the Rayleigh
 * quotient λ = vᵀw and the residual ‖w − λv‖ (free: no extra product), then v ← w/‖w‖. It
 * stops when |λₖ − λₖ₋₁| ≤ tolerance·|λₖ| or after `maxIterations` products. At a minimum of a
 * loss the dominant eigenvalue is λ_max of the Hessian; near a saddle it may be a negative one
 * (the sign is kept). Convergence is linear in |λ₂/λ₁|; Lanczos (`lanczos.ts`) needs far
 * fewer products for the same accuracy and is the primary estimator.
 *
 * @module
 */
import { createRng, type RngKey } from "../random.ts";
import { checkEstimatorOptions, type LinearOperator } from "./operator.ts";
import { vectorAxpy, vectorDot, vectorNorm, vectorNormalize, vectorScale } from "./vector.ts";

/** Options of {@link powerIteration}. */
export interface PowerOptions {
  /** Stream of the Gaussian start vector (ignored when `start` is given). */
  key: RngKey;
  /** Start vector (normalized internally); default: Gaussian from `key`. */
  start?: Float64Array;
  /** Most operator applications; default 100. */
  maxIterations?: number;
  /** Stop when the relative change of the eigenvalue estimate is at most this; default 1e-3. */
  tolerance?: number;
  /** Called after every iteration (progress). */
  onIteration?: (step: PowerStep) => void;
}

/** One iteration's estimate. */
export interface PowerStep {
  iteration: number;
  eigenvalue: number;
  /** ‖Av − λv‖ for the unit vector v of this iteration. */
  residual: number;
}

/** What {@link powerIteration} found. */
export interface PowerResult {
  /** The Rayleigh quotient of the last iterate. */
  eigenvalue: number;
  /** The last iterate (unit norm). */
  vector: Float64Array;
  /** ‖Av − λv‖ of the last iterate. */
  residual: number;
  /** Operator applications used (one per iteration). */
  iterations: number;
  /** Whether the tolerance was met before `maxIterations`. */
  converged: boolean;
  history: PowerStep[];
}

/** A unit Gaussian vector from `key`'s stream (the start vector of the estimators). */
export function randomUnitVector(dim: number, key: RngKey): Float64Array {
  return vectorNormalize(createRng(key).normals(dim));
}

/**
 * Estimates the dominant eigenvalue of a symmetric operator (see the module documentation).
 *
 * @throws {RangeError} on a bad option or a start vector of the wrong length.
 * @throws {Error} when the operator returns a non-finite vector.
 */
export function powerIteration(op: LinearOperator, options: PowerOptions): PowerResult {
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-3;
  checkEstimatorOptions(op, maxIterations, tolerance, "powerIteration");
  if (options.start && options.start.length !== op.dim) {
    throw new RangeError(`powerIteration: start has ${options.start.length} values, dim ${op.dim}`);
  }
  let v = options.start ? vectorNormalize(options.start) : randomUnitVector(op.dim, options.key);
  const history: PowerStep[] = [];
  let previous = NaN;
  for (let it = 1;; it++) {
    const w = op.apply(v);
    const lambda = vectorDot(v, w);
    const residual = vectorNorm(vectorAxpy(-lambda, v, Float64Array.from(w)));
    if (!Number.isFinite(lambda) || !Number.isFinite(residual)) {
      throw new Error(`powerIteration: the operator returned a non-finite vector at step ${it}`);
    }
    const step = { iteration: it, eigenvalue: lambda, residual };
    history.push(step);
    options.onIteration?.(step);
    const converged = it > 1 && Math.abs(lambda - previous) <= tolerance * Math.abs(lambda);
    const wNorm = vectorNorm(w);
    if (converged || it >= maxIterations || wNorm === 0) {
      return {
        eigenvalue: lambda,
        vector: v,
        residual,
        iterations: it,
        converged: converged || wNorm === 0,
        history,
      };
    }
    v = vectorScale(1 / wNorm, w);
    previous = lambda;
  }
}
