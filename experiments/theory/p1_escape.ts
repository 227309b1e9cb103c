/**
 * P1, Corollary 4.2 (exponential escape): from a minimum that SGD tolerates but that violates
 * Theorem 4.1's condition, USAM's expected loss grows at least like Cᵗ,
 * C = (η²γ/B)‖H‖_F²(1 + ρ²γ‖H‖_F²/B). USAM is the paper's Eq. 4 (one batch for both passes).
 *
 * The check (all must hold):
 *
 * 1. the setting is the corollary's: at the minimum built inside the band (band.ts), SGD is
 *    exactly stable (growth of E[L̃] < 1) and C > 1;
 * 2. the bound, exactly: E[L̃_t] ≥ Cᵗ·L̃₀ at every step t ≤ T (moment recursion);
 * 3. the bound across the band: at every minimum of the band sweep that SGD tolerates and the
 *    condition rejects, USAM's exact per-step growth is at least its C;
 * 4. the bound in simulation: the mean of the seeded trials grows at least by C per step
 *    (log-scale fit over the growth phase), while SGD's mean from the same start and on the
 *    same batches ends below its start.
 *
 * Negative control: full-batch USAM at the same minimum. Without mini-batch noise Assumption
 * 4.1 fails (S = 0); the iteration contracts, so the check must say FAIL. Variant (not the
 * verdict): independent ascent and descent batches, the proofs' two-half form.
 *
 * Streams: trial i draws from (seed, theory/p1/trial/i), shared by SGD and USAM.
 *
 * @module
 */
import { rngKey } from "../../core/random.ts";
import { expectedLossCurve } from "../../models/theory/second_moment.ts";
import type { Band, BandPoint } from "./band.ts";
import { fmt } from "../../core/format.ts";
import { fitLogLinear, mean, quantileSorted } from "../../core/stats.ts";
import type { Control, Variant, Verdict } from "./common.ts";
import { fullBatchGrowth, fullBatchLossCurve } from "./full_batch.ts";
import { type LsContext, runLsTrials } from "./ls_setup.ts";

/** Settings of P1. */
export interface P1Options {
  trials: number;
  steps: number;
  /** The growth phase the rates are fitted over: steps fitFrom…fitTo. */
  fitFrom: number;
  fitTo: number;
}

/** Per-step statistics of L_t/L₀ over trials. */
export interface TrialStats {
  mean: Float64Array;
  /** Mean of ln(L_t/L₀) (a typical trial, on the log scale). */
  meanLog: Float64Array;
  q10: Float64Array;
  q90: Float64Array;
}

/** Everything P1 computes. */
export interface P1Result {
  frobenius2: number;
  lambdaMax: number;
  /** Corollary 4.2's C at the minimum. */
  bound: number;
  exactSgdGrowth: number;
  exactUsamGrowth: number;
  /** Exact E[L̃_t]/L̃₀ for t = 0…steps: USAM (shared batch), SGD, USAM with independent batches. */
  exactUsam: Float64Array;
  exactSgd: Float64Array;
  exactIndependent: Float64Array;
  /** L̃_t/L̃₀ of full-batch USAM (the control). */
  fullBatch: Float64Array;
  usam: TrialStats;
  sgd: TrialStats;
  fitMean: number | null;
  fitTypical: number | null;
  fitExact: number | null;
  check: P1Check;
  verdict: Verdict;
}

/** What the P1 check reads: one escape, measured however. */
export interface EscapeEvidence {
  /** Corollary 4.2's C at the minimum. */
  bound: number;
  /** SGD's exact per-step growth of E[L̃] there. */
  sgdGrowth: number;
  /** E[L̃_t]/L̃₀, t = 0…T. */
  curve: Float64Array;
  /** Per-step growth of the mean over trials (fitted), and SGD's mean L_T/L₀. */
  fitMean: number | null;
  sgdMeanEnd: number;
  /** Band sweep minima: per-step growth, C and SGD's growth. */
  sweep: { growth: number; bound: number; sgdGrowth: number }[];
}

/** The outcome of the P1 check. */
export interface P1Check {
  pass: boolean;
  inSetting: boolean;
  /** E[L̃_t] ≥ Cᵗ·L̃₀ at every step; the first step where it fails (null: none). */
  boundHolds: boolean;
  firstViolation: number | null;
  /** Sweep minima in the band, and those whose growth is below their C. */
  sweepInBand: number;
  sweepBelowBound: number;
  meanAbove: boolean;
  sgdDecays: boolean;
}

/** The four parts of the P1 check (see the module doc). */
export function p1Check(e: EscapeEvidence): P1Check {
  const inSetting = e.sgdGrowth < 1 && e.bound > 1;
  const violation = e.curve.findIndex((v, t) => v < e.bound ** t * (1 - 1e-9));
  const inBand = e.sweep.filter((p) => p.sgdGrowth < 1 && p.bound > 1);
  const sweepBelowBound = inBand.filter((p) => p.growth < p.bound).length;
  const meanAbove = e.fitMean !== null && e.fitMean >= e.bound;
  const sgdDecays = e.sgdMeanEnd < 1;
  return {
    pass: inSetting && violation < 0 && sweepBelowBound === 0 && meanAbove && sgdDecays,
    inSetting,
    boundHolds: violation < 0,
    firstViolation: violation < 0 ? null : violation,
    sweepInBand: inBand.length,
    sweepBelowBound,
    meanAbove,
    sgdDecays,
  };
}

function describeCheck(c: P1Check, e: EscapeEvidence): string {
  return `SGD-stable minimum with C = ${fmt(e.bound, 4)} > 1: ${c.inSetting ? "yes" : "NO"}; ` +
    `E[L̃_t] ≥ Cᵗ·L̃₀ at every step: ${
      c.boundHolds ? "yes" : `NO (first at t = ${c.firstViolation})`
    }; sweep minima in the band with growth ≥ C: ${
      c.sweepInBand - c.sweepBelowBound
    }/${c.sweepInBand}; ` +
    `mean of trials ×${fmt(e.fitMean)}/step ${c.meanAbove ? "≥" : "<"} C; SGD's mean ends at ` +
    `×${fmt(e.sgdMeanEnd)}`;
}

function stats(curves: Float64Array[], steps: number): TrialStats {
  const out = {
    mean: new Float64Array(steps + 1),
    meanLog: new Float64Array(steps + 1),
    q10: new Float64Array(steps + 1),
    q90: new Float64Array(steps + 1),
  };
  for (let t = 0; t <= steps; t++) {
    const xs = Float64Array.from(curves, (c) => c[t]).sort();
    out.mean[t] = mean(xs);
    out.meanLog[t] = xs.reduce((a, b) => a + Math.log(b), 0) / xs.length;
    out.q10[t] = quantileSorted(xs, 0.1);
    out.q90[t] = quantileSorted(xs, 0.9);
  }
  return out;
}

const sweepEvidence = (sweep: BandPoint[], growth: (p: BandPoint) => number) =>
  sweep.map((p) => ({ growth: growth(p), bound: p.usamBound, sgdGrowth: p.sgdGrowth }));

/** Runs P1 at the band's constructed minimum, its control and its variant. */
export function computeP1(ctx: LsContext, band: Band, options: P1Options): P1Result {
  const inst = band.target;
  const { eta, rho, batch } = band.options;
  const { steps, trials } = options;
  const run = (r: number) =>
    runLsTrials(inst, {
      eta,
      rho: r,
      batch,
      batches: "shared",
      steps,
      trials,
      key: (i) => rngKey(ctx.seed, "theory", "p1", "trial", i),
      cap: 1e300,
      curves: true,
    });
  const exact = (r: number, batches: "shared" | "independent") => {
    const c = expectedLossCurve(inst.spectrum, inst.start, { eta, rho: r, batch, batches, steps });
    return c.map((v) => v / c[0]);
  };
  const exactUsam = exact(rho, "shared");
  const exactSgd = exact(0, "shared");
  const exactIndependent = exact(rho, "independent");
  const fullBatch = fullBatchLossCurve(inst.spectrum, inst.start, { eta, rho, steps });
  const usam = stats(run(rho).curves, steps);
  const sgd = stats(run(0).curves, steps);
  const bound = band.targetBound;
  const fitRange = { from: options.fitFrom, to: options.fitTo };
  const fit = (c: Float64Array) => fitLogLinear(c, fitRange)?.rate ?? null;
  const fitMean = fit(usam.mean);
  const fitTypical = fitLogLinear(usam.meanLog, { ...fitRange, logs: true })?.rate ?? null;
  const fitExact = fit(exactUsam);
  const evidence: EscapeEvidence = {
    bound,
    sgdGrowth: band.targetSgdGrowth,
    curve: exactUsam,
    fitMean,
    sgdMeanEnd: sgd.mean[steps],
    sweep: sweepEvidence(band.sweep, (p) => p.usamGrowth),
  };
  const check = p1Check(evidence);
  const base = {
    frobenius2: inst.spectrum.frobenius2,
    lambdaMax: inst.spectrum.lambdaMax,
    bound,
    exactSgdGrowth: band.targetSgdGrowth,
    exactUsamGrowth: band.targetUsamGrowth,
    exactUsam,
    exactSgd,
    exactIndependent,
    fullBatch,
    usam,
    sgd,
    fitMean,
    fitTypical,
    fitExact,
    check,
  };
  // Control: full batch, deterministic, so its one run is its mean; GD decays there too.
  const gd = { eta, rho: 0 };
  const controlEvidence: EscapeEvidence = {
    ...evidence,
    sgdGrowth: fullBatchGrowth(inst.spectrum, gd),
    sgdMeanEnd: fullBatchLossCurve(inst.spectrum, inst.start, { ...gd, steps })[steps],
    curve: fullBatch,
    fitMean: fit(fullBatch),
    sweep: sweepEvidence(band.sweep, (p) => fullBatchGrowth(scaledSpectrum(band, p), { eta, rho })),
  };
  const independentEvidence: EscapeEvidence = {
    ...evidence,
    curve: exactIndependent,
    fitMean: fit(exactIndependent),
  };
  return {
    ...base,
    verdict: p1Verdict(
      base,
      band,
      options,
      p1Control(controlEvidence),
      p1Variant(independentEvidence),
    ),
  };
}

/** The spectrum of a band sweep point (the base problem scaled). */
function scaledSpectrum(band: Band, p: BandPoint) {
  const s = band.target.spectrum;
  const k = (p.scale / band.targetScale) ** 2;
  return { ...s, lambda: s.lambda.map((v) => v * k) };
}

function p1Control(e: EscapeEvidence): Control {
  const c = p1Check(e);
  return {
    setting: "full-batch USAM at the same minimum: no mini-batch noise, Assumption 4.1 fails",
    detected: !c.pass,
    line: `the check says ${c.pass ? "PASS" : "FAIL"}: L̃_T/L̃₀ = ${
      fmt(e.curve[e.curve.length - 1])
    } after ${e.curve.length - 1} steps against Cᵀ = ${fmt(e.bound ** (e.curve.length - 1))}; ${
      describeCheck(c, e)
    }`,
    measured: `×${fmt(e.fitMean)}/step vs C = ${fmt(e.bound, 4)}`,
    numbers: { ...c, fittedGrowth: e.fitMean, bound: e.bound },
  };
}

function p1Variant(e: EscapeEvidence): Variant {
  const c = p1Check(e);
  return {
    setting: "independent ascent and descent batches, exact",
    pass: c.pass,
    line: `exact E[L̃] ×${fmt(e.fitMean)}/step against C = ${fmt(e.bound, 4)}; ${
      describeCheck(c, e)
    }`,
    measured: `exact ×${fmt(e.fitMean)}/step`,
  };
}

function p1Verdict(
  r: Omit<P1Result, "verdict">,
  band: Band,
  options: P1Options,
  control: Control,
  variant: Variant,
): Verdict {
  const ratio = (x: number | null) => (x === null ? null : x / r.bound);
  const { eta, rho, batch } = band.options;
  return {
    claim: "P1",
    statement: "Corollary 4.2 (exponential escape)",
    pass: r.check.pass,
    line:
      `shared-batch USAM (Eq. 4) at η = ${eta}, ρ = ${rho}, B = ${batch}, minimum ‖H‖_F² = ${
        fmt(r.frobenius2)
      } (λ_max ${fmt(r.lambdaMax)}), SGD exact ×${fmt(r.exactSgdGrowth, 4)}/step: ${
        describeCheck(r.check, {
          bound: r.bound,
          sgdGrowth: r.exactSgdGrowth,
          curve: r.exactUsam,
          fitMean: r.fitMean,
          sgdMeanEnd: r.sgd.mean[options.steps],
          sweep: [],
        })
      }. Fitted over steps ${options.fitFrom}–${options.fitTo}: mean of ${options.trials} trials ` +
      `×${fmt(r.fitMean)}/step (${fmt(ratio(r.fitMean))}·C), typical trial ×${fmt(r.fitTypical)} (${
        fmt(ratio(r.fitTypical))
      }·C), exact E[L̃] ×${fmt(r.fitExact)} (${fmt(ratio(r.fitExact))}·C; spectral radius ${
        fmt(r.exactUsamGrowth)
      })`,
    measured: `mean ×${fmt(r.fitMean)}/step, exact ×${fmt(r.fitExact)}/step`,
    predicted: `≥ C = ${fmt(r.bound, 4)} (a lower bound, γ = inf)`,
    numbers: {
      frobenius2: r.frobenius2,
      lambdaMax: r.lambdaMax,
      C: r.bound,
      fittedMeanGrowth: r.fitMean,
      fittedTypicalGrowth: r.fitTypical,
      exactGrowthFit: r.fitExact,
      exactGrowthFactor: r.exactUsamGrowth,
      ratioMeanToC: ratio(r.fitMean),
      ratioExactToC: ratio(r.exactUsamGrowth),
      sgdExactGrowth: r.exactSgdGrowth,
      sgdMeanRatioAtEnd: r.sgd.mean[options.steps],
      boundHoldsExactly: r.check.boundHolds,
      sweepMinimaInBand: r.check.sweepInBand,
      sweepMinimaBelowC: r.check.sweepBelowBound,
    },
    control,
    variants: [variant],
  };
}
