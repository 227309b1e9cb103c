/**
 * The problems of the theory checks (`deno task theory`), in float64 plain TypeScript:
 * over-parameterized least squares with mini-batch USAM, the noise alignment γ, the exact
 * second-moment recursion of E[L̃], the reconstructed stability condition of Theorem 4.1,
 * the 1-D sub-quadratic valley of Proposition 4.1, and the PL problems of Theorem 4.3.
 * (`linalg.ts`, their small dense linear algebra, is internal.)
 *
 * @module
 */
export * from "./least_squares.ts";
export * from "./alignment.ts";
export * from "./second_moment.ts";
export * from "./shared_batch_moment.ts";
export * from "./stability_bound.ts";
export * from "./subquadratic.ts";
export * from "./pl.ts";
