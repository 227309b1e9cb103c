/**
 * Curvature metrics: finite-difference Hessian-vector products over a fixed subset, the
 * estimators that run on any linear operator (power iteration, Lanczos with full
 * reorthogonalization, Hutchinson's trace), the loss along the line between two solutions,
 * and the high-level {@link measureSharpness} and {@link lineProfile} the figures call.
 *
 * @example
 * ```ts
 * import { measureSharpness, rngKey } from "../mod.ts";
 * const result = measureSharpness({
 *   model, params, state,
 *   data: evalBatches(dataset, "train", { batchSize: 128, limit: 5000 }),
 *   loss: crossEntropy,
 *   key: rngKey(0, "sharpness"),
 * });
 * console.log(result.lambdaMax, result.eigenvalues, result.hvps);
 * ```
 *
 * @module
 */
export * from "./chunks.ts";
export * from "./hutchinson.ts";
export * from "./hvp.ts";
export * from "./lanczos.ts";
export * from "./line.ts";
export * from "./operator.ts";
export * from "./power.ts";
export * from "./sharpness.ts";
export * from "./symmetric_eigen.ts";
export * from "./vector.ts";
