/**
 * The escape measurement shared by Figure 4(a) (toy valley) and Figure 4(b) (network): after
 * the switch from SGD to SAM, the loss grows geometrically while the iterate is near the
 * minimum; the growth factor per step is an exponential fit over that window
 * (docs/paper.md#measurements).
 *
 * Figure 4(b) fits the loss excess L_t − L_0 over the starting loss instead of the loss
 * itself, because a converged network sits on a non-zero loss floor that would flatten a fit of
 * ln L_t ({@link fitExcessGrowth}, docs/sharpness.md#escape-rate).
 *
 * @module
 */
import { fitLogLinear } from "../core/stats.ts";

/** An exponential fit L(t′) ≈ exp(intercept)·growth^t′ over the first `steps` steps. */
export interface EscapeFit {
  /** Per-step growth factor; null when the window is shorter than 3 steps. */
  growth: number | null;
  intercept: number | null;
  /** Steps in the fit window. */
  steps: number;
}

/**
 * The escape window: the first steps while the mean loss stays below `below` (the linear
 * regime around the minimum, where the linear-stability prediction applies).
 */
export function escapeWindow(meanLoss: readonly number[], below: number): number {
  let n = 0;
  while (n < meanLoss.length && meanLoss[n] > 0 && meanLoss[n] < below) n++;
  return n;
}

/** Least-squares fit of ln(loss) against the step over the first `steps` steps. */
export function fitEscapeRate(loss: readonly number[], steps: number): EscapeFit {
  const n = Math.min(steps, loss.length);
  const fit = fitLogLinear(loss, { from: 0, to: n - 1 });
  return fit === null
    ? { growth: null, intercept: null, steps: n }
    : { growth: fit.rate, intercept: fit.intercept, steps: n };
}

/** The fitted curve at steps 0…steps − 1 (empty without a fit), for the dashed chart line. */
export function escapeFitCurve(fit: EscapeFit): { step: number; loss: number }[] {
  const { growth, intercept } = fit;
  if (growth === null || intercept === null) return [];
  return Array.from({ length: fit.steps }, (_, step) => ({
    step,
    loss: Math.exp(intercept + step * Math.log(growth)),
  }));
}

/** The excess L_t − L_0 of a loss curve over its starting value. */
export function lossExcess(losses: readonly number[]): number[] {
  return losses.map((loss) => loss - losses[0]);
}

/** The fit-window rule of {@link fitExcessGrowth}. */
export interface ExcessWindowRule {
  /** The window ends at the first step whose excess reaches this fraction of the maximum. */
  fraction: number;
  /** Fewest positive excesses a fit needs (at least 3, a line's minimum). */
  minPoints: number;
}

/** An exponential fit of the loss excess, E_t ≈ exp(intercept)·growth^t over steps from…to. */
export interface ExcessFit {
  /** Per-step growth factor of the excess; null when the window has too few points. */
  growth: number | null;
  intercept: number | null;
  /** First and last step of the window (inclusive). */
  from: number;
  to: number;
  /** Positive excesses in the window, the points fitted. */
  points: number;
}

/**
 * The window over which the excess grows before it saturates: from step 1 (the excess at step
 * 0 is zero by definition) to the first step t whose excess reaches `fraction` of the largest
 * excess of the curve, inclusive, and to `last` at the latest. A curve that never rises (no
 * positive excess) gives the empty window [1, 0].
 */
export function excessWindow(
  excess: readonly number[],
  fraction: number,
  last = Infinity,
): { from: number; to: number } {
  const top = Math.max(0, ...excess.slice(1));
  if (!(top > 0)) return { from: 1, to: 0 };
  const to = excess.findIndex((e, t) => t >= 1 && e >= fraction * top);
  return { from: 1, to: Math.min(to, last) };
}

/**
 * Least-squares fit of ln E_t against t over {@link excessWindow}'s window (ending at `last`
 * at the latest), skipping non-positive excesses (fitLogLinear's rule); growth is null when
 * fewer than `rule.minPoints` positive excesses remain, i.e. the excess saturates (or never
 * rises, or leaves the regime `last` marks) too soon for a geometric phase to be measured.
 */
export function fitExcessGrowth(
  excess: readonly number[],
  rule: ExcessWindowRule,
  last = Infinity,
): ExcessFit {
  const { from, to } = excessWindow(excess, rule.fraction, last);
  const points = excess.slice(from, to + 1).filter((e) => e > 0).length;
  const fit = points >= Math.max(3, rule.minPoints) ? fitLogLinear(excess, { from, to }) : null;
  return fit === null
    ? { growth: null, intercept: null, from, to, points }
    : { growth: fit.rate, intercept: fit.intercept, from, to, points };
}
