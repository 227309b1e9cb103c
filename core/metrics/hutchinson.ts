/**
 * Hutchinson's estimator of the trace of a symmetric operator with Rademacher probes.
 *
 * Probe i is z ∈ {−1, +1}^dim drawn from the stream `deriveKey(key, i)` (one bit per entry,
 * low bit first, from consecutive 32-bit outputs), so adding probes never changes the earlier
 * ones. Each probe gives the unbiased sample zᵀAz; the estimate is their mean and its standard
 * error the sample standard deviation (n − 1) over √n. For Rademacher probes the sample
 * variance is 2·Σ_{i≠j} A_ij²: small when A is nearly diagonal.
 *
 * @module
 */
import { mean as meanOf } from "../stats.ts";
import { createRng, deriveKey, type RngKey } from "../random.ts";
import type { LinearOperator } from "./operator.ts";
import { vectorDot } from "./vector.ts";

/** Options of {@link hutchinsonTrace}. */
export interface TraceOptions {
  /** Root stream of the probes; probe i uses `deriveKey(key, i)`. */
  key: RngKey;
  /** Number of probes (operator applications); default 10. */
  probes?: number;
  /** Called after every probe with its sample (progress). */
  onProbe?: (index: number, sample: number) => void;
}

/** What {@link hutchinsonTrace} found. */
export interface TraceResult {
  /** Mean of the samples. */
  trace: number;
  /** Sample standard deviation / √probes (NaN for a single probe). */
  standardError: number;
  /** zᵢᵀAzᵢ per probe. */
  samples: number[];
  /** Operator applications used. */
  probes: number;
}

/** The Rademacher probe of index `i` under `key` (see the module documentation). */
export function rademacherProbe(dim: number, key: RngKey, i: number): Float64Array {
  const rng = createRng(deriveKey(key, i));
  const z = new Float64Array(dim);
  let bits = 0;
  for (let j = 0; j < dim; j++) {
    if (j % 32 === 0) bits = rng.nextUint32();
    z[j] = (bits >>> (j % 32)) & 1 ? 1 : -1;
  }
  return z;
}

/**
 * Estimates tr(A) with Rademacher probes (see the module documentation).
 *
 * @throws {RangeError} for a probe count that is not a positive integer.
 */
export function hutchinsonTrace(op: LinearOperator, options: TraceOptions): TraceResult {
  const probes = options.probes ?? 10;
  if (!Number.isSafeInteger(probes) || probes < 1) {
    throw new RangeError(`hutchinsonTrace: probes must be a positive integer, got ${probes}`);
  }
  const samples: number[] = [];
  for (let i = 0; i < probes; i++) {
    const z = rademacherProbe(op.dim, options.key, i);
    const s = vectorDot(z, op.apply(z));
    samples.push(s);
    options.onProbe?.(i, s);
  }
  const mean = meanOf(samples);
  const variance = probes > 1
    ? samples.reduce((a, s) => a + (s - mean) ** 2, 0) / (probes - 1)
    : NaN;
  return { trace: mean, standardError: Math.sqrt(variance / probes), samples, probes };
}
