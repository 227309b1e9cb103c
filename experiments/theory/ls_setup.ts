/**
 * The least-squares problem shared by P3, P1 and P4, its alignment γ, the start near the
 * global minimum, and the seeded mini-batch trials of SGD/USAM on it.
 *
 * Streams (core/random.ts): data from (seed, theory/data/x) and (seed, theory/data/theta-star),
 * the start direction from (seed, theory/data/start), γ's random directions from
 * (seed, theory/gamma/directions); a trial's batches from the key its caller names. Each step
 * draws one batch of B indices with replacement, used by both passes (`shared`, the paper's
 * Eq. 4), or an ascent and then a descent batch (`independent`, the proofs' two-half form);
 * SGD draws the same way and uses the descent batch, so SGD and USAM in the same trial see the
 * same descent batches.
 *
 * @module
 */
import { createRng, type RngKey, rngKey } from "../../core/random.ts";
import {
  type AlignmentRange,
  alignmentRange,
  type AlignmentSample,
  sampleAlignment,
} from "../../models/theory/alignment.ts";
import {
  type HessianSpectrum,
  type LeastSquares,
  leastSquaresProblem,
  lsLoss,
  lsSpectrum,
  lsUsamStep,
  rangeCoordinates,
} from "../../models/theory/least_squares.ts";
import type { BatchPairing } from "../../models/theory/second_moment.ts";

/** The data settings of the least-squares problem. */
export interface LsDataConfig {
  n: number;
  d: number;
  featureStd: number;
  /** L(θ₀) of the start near θ*. */
  startLoss: number;
}

/** A least-squares problem with its spectrum and a start near its minimum. */
export interface LsInstance {
  problem: LeastSquares;
  spectrum: HessianSpectrum;
  /** θ₀ = θ* + δ with L(θ₀) = startLoss. */
  theta0: Float64Array;
  /** δ in range coordinates (for the exact moment recursion). */
  start: Float64Array;
}

/** Everything the least-squares sections share. */
export interface LsContext {
  /** The root seed (trial streams derive from it). */
  seed: number;
  base: LsInstance;
  /** The unit start direction δ ~ N(0, I_d) before scaling. */
  direction: Float64Array;
  /** The exact range of γ over all directions. */
  alignment: AlignmentRange;
  /** γ at random directions (the estimate of docs/paper.md#theory). */
  sampled: AlignmentSample;
  /** The γ every bound uses: the exact infimum, so the bounds are valid everywhere. */
  gamma: number;
  startLoss: number;
}

/** Places the start on `problem`: θ* + δ scaled so that L(θ₀) = `startLoss`. */
export function lsInstance(
  problem: LeastSquares,
  direction: Float64Array,
  startLoss: number,
): LsInstance {
  const spectrum = lsSpectrum(problem);
  const unit = lsLoss(problem, direction.map((v, k) => v + problem.thetaStar[k]));
  const delta = direction.map((v) => v * Math.sqrt(startLoss / unit));
  return {
    problem,
    spectrum,
    theta0: delta.map((v, k) => v + problem.thetaStar[k]),
    start: rangeCoordinates(problem, spectrum, delta),
  };
}

/** Builds the shared problem and estimates γ (exactly, and over `directions` random ones). */
export function lsContext(
  seed: number,
  data: LsDataConfig,
  options: { directions: number },
): LsContext {
  const problem = leastSquaresProblem(rngKey(seed, "theory", "data"), data);
  const direction = createRng(rngKey(seed, "theory", "data", "start")).normals(data.d);
  const base = lsInstance(problem, direction, data.startLoss);
  const alignment = alignmentRange(base.spectrum);
  const sampled = sampleAlignment(
    problem,
    rngKey(seed, "theory", "gamma", "directions"),
    options.directions,
  );
  return {
    seed,
    base,
    direction,
    alignment,
    sampled,
    gamma: alignment.min,
    startLoss: data.startLoss,
  };
}

/** Settings of one batch of seeded trials. */
export interface TrialOptions {
  eta: number;
  rho: number;
  batch: number;
  /** One batch for both passes (Eq. 4) or independent ascent and descent batches. */
  batches: BatchPairing;
  steps: number;
  trials: number;
  /** The stream of trial i. */
  key: (trial: number) => RngKey;
  /** Stop a trial once L/L₀ exceeds this (float64 would overflow later); its ratio stays. */
  cap: number;
  /** Keep every step's L/L₀ (otherwise only the last). */
  curves: boolean;
}

/** What a batch of trials gives: L_t/L₀ per trial. */
export interface TrialResult {
  /** L_T/L₀ per trial (the last ratio reached when a trial hit the cap). */
  final: Float64Array;
  /** Per trial, L_t/L₀ for t = 0…steps (only with `curves`; Infinity after a capped stop). */
  curves: Float64Array[];
  /** Trials stopped at the cap. */
  capped: number;
}

/** Runs seeded mini-batch USAM (ρ = 0: SGD) trials from θ₀ of `instance`. */
export function runLsTrials(instance: LsInstance, options: TrialOptions): TrialResult {
  const { problem, theta0 } = instance;
  const { eta, rho, batch, steps } = options;
  const l0 = lsLoss(problem, theta0);
  const final = new Float64Array(options.trials);
  const curves: Float64Array[] = [];
  let capped = 0;
  const ascent = new Int32Array(batch);
  const descent = options.batches === "shared" ? ascent : new Int32Array(batch);
  for (let trial = 0; trial < options.trials; trial++) {
    const rng = createRng(options.key(trial));
    const curve = options.curves ? new Float64Array(steps + 1).fill(Infinity) : null;
    if (curve) curve[0] = 1;
    let theta = theta0;
    let ratio = 1;
    for (let t = 1; t <= steps; t++) {
      for (let j = 0; j < batch; j++) ascent[j] = rng.int(problem.n);
      if (descent !== ascent) { for (let j = 0; j < batch; j++) descent[j] = rng.int(problem.n); }
      theta = lsUsamStep(problem, theta, { eta, rho, ascent, descent });
      // Without curves the loss is only needed at the end and for the cap (every 10 steps).
      if (curve === null && t !== steps && t % 10 !== 0) continue;
      ratio = lsLoss(problem, theta) / l0;
      if (curve) curve[t] = ratio;
      if (!(ratio <= options.cap)) {
        capped++;
        break;
      }
    }
    final[trial] = ratio;
    if (curve) curves.push(curve);
  }
  return { final, curves, capped };
}
