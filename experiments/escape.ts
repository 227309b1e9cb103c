/**
 * The escape measurement shared by Figure 4(a) (toy valley) and Figure 4(b) (network): after
 * the switch from SGD to SAM, the loss grows geometrically while the iterate is near the
 * minimum; the growth factor per step is an exponential fit over that window
 * (docs/paper.md#measurements).
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
