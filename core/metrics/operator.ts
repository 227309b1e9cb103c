/**
 * Linear operators on host vectors: the one interface every curvature estimator works on.
 *
 * A Hessian is never materialized: an operator only knows its dimension and how to multiply a
 * vector. {@link denseOperator} wraps an explicit symmetric matrix (tests, toy problems);
 * `createHvp` in `hvp.ts` wraps a model's loss Hessian.
 *
 * @module
 */

/** A linear map on ℝ^dim, given by its action on vectors. */
export interface LinearOperator {
  /** Dimension of the vectors it acts on. */
  readonly dim: number;
  /**
   * Returns A·v as a new vector (v is not modified). Estimators call it once per iteration
   * or probe; its cost dominates theirs.
   */
  apply(v: Float64Array): Float64Array;
}

/**
 * The operator of an explicit n×n matrix, row-major. Symmetry is not checked (estimators
 * assume it).
 *
 * @throws {RangeError} unless `matrix` has n² entries.
 */
export function denseOperator(matrix: ArrayLike<number>, n: number): LinearOperator {
  if (!Number.isSafeInteger(n) || n <= 0 || matrix.length !== n * n) {
    throw new RangeError(`denseOperator: need ${n}×${n} = ${n * n} entries, got ${matrix.length}`);
  }
  const a = Float64Array.from(matrix);
  return {
    dim: n,
    apply(v) {
      if (v.length !== n) throw new RangeError(`operator of dim ${n} applied to ${v.length}`);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        const row = i * n;
        for (let j = 0; j < n; j++) s += a[row + j] * v[j];
        out[i] = s;
      }
      return out;
    },
  };
}

/** An operator that counts its applications (for reporting HVP counts). */
export interface CountingOperator extends LinearOperator {
  /** Number of `apply` calls so far. */
  readonly count: number;
}

/**
 * Wraps `op` so every application is counted and reported to `onApply` (e.g. a progress
 * bar) with the running count.
 */
export function countingOperator(
  op: LinearOperator,
  onApply?: (count: number) => void,
): CountingOperator {
  let count = 0;
  return {
    dim: op.dim,
    get count() {
      return count;
    },
    apply(v) {
      const out = op.apply(v);
      count++;
      onApply?.(count);
      return out;
    },
  };
}

/**
 * Validates the options every iterative estimator shares.
 *
 * @throws {RangeError} naming `who` and the option: a non-positive or fractional iteration
 *   limit, a tolerance that is not a positive number, or an empty operator.
 */
export function checkEstimatorOptions(
  op: LinearOperator,
  maxIterations: number,
  tolerance: number,
  who: string,
): void {
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 1) {
    throw new RangeError(`${who}: maxIterations must be a positive integer, got ${maxIterations}`);
  }
  if (!(tolerance > 0) || !Number.isFinite(tolerance)) {
    throw new RangeError(`${who}: tolerance must be a positive number, got ${tolerance}`);
  }
  if (!Number.isSafeInteger(op.dim) || op.dim < 1) {
    throw new RangeError(`${who}: operator dimension must be positive, got ${op.dim}`);
  }
}
