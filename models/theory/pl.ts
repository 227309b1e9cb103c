/**
 * Smooth PL problems for P4 (Theorem 4.3, docs/paper.md#theory) and the convergence bound of USAM
 * on
 * them.
 *
 * The non-convex example is f(x) = x² + 3·sin²(x) (Karimi, Nutini & Schmidt 2016): f* = 0 at
 * x = 0 only, f″(x) = 2 + 6cos(2x) ∈ [−4, 8] (non-convex wherever cos 2x < −1/3), so f is
 * β-smooth with β = 8, and it satisfies the PL inequality f′(x)² ≥ 2μ·f(x) with the μ that
 * {@link plConstant} computes (about 0.1755; Karimi et al. quote the looser 1/32).
 *
 * The bound (our derivation; the paper's constants are not available, docs/paper.md#theory): for a
 * β-smooth
 * loss with L* = 0 satisfying PL with μ, one full-batch USAM step θ⁺ = θ − η∇L(θ + ρ∇L(θ))
 * has, with g = ∇L(θ) and g̃ = ∇L(θ + ρg), ‖g̃ − g‖ ≤ βρ‖g‖, hence ⟨g, g̃⟩ ≥ (1 − βρ)‖g‖²
 * and ‖g̃‖ ≤ (1 + βρ)‖g‖; the descent lemma then gives
 *
 *     L(θ⁺) ≤ L(θ) − η‖g‖²·c ≤ (1 − 2ημc)·L(θ),   c = 1 − βρ − (βη/2)(1 + βρ)²,
 *
 * a geometric rate whenever c > 0 (for ρ = 0 the textbook GD rate 1 − 2ημ(1 − βη/2)).
 *
 * @module
 */

/** f(x) = x² + 3 sin²(x). */
export function nonconvexPl(x: number): number {
  const s = Math.sin(x);
  return x * x + 3 * s * s;
}

/** f′(x) = 2x + 3 sin(2x). */
export function nonconvexPlGrad(x: number): number {
  return 2 * x + 3 * Math.sin(2 * x);
}

/** f″(x) = 2 + 6 cos(2x). */
export function nonconvexPlHess(x: number): number {
  return 2 + 6 * Math.cos(2 * x);
}

/** The smoothness constant of {@link nonconvexPl}: max |f″| = 8. */
export const NONCONVEX_PL_BETA = 8;

/**
 * The PL constant μ = inf_{x ≠ 0} f′(x)²/(2f(x)) of {@link nonconvexPl}: a grid over
 * (0, `range`] (f is even, so x > 0 suffices), then golden-section refinement around the
 * best grid point. Beyond `range` the ratio exceeds (2x − 3)²/(2x² + 6), which stays above
 * the minimum for the default range of 50.
 */
export function plConstant(options: { range?: number; points?: number } = {}): {
  mu: number;
  at: number;
} {
  const range = options.range ?? 50;
  const points = options.points ?? 200_000;
  const ratio = (x: number) => nonconvexPlGrad(x) ** 2 / (2 * nonconvexPl(x));
  const h = range / points;
  let best = 1;
  for (let i = 2; i <= points; i++) if (ratio(i * h) < ratio(best * h)) best = i;
  let lo = Math.max(h / 2, (best - 1) * h);
  let hi = (best + 1) * h;
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let k = 0; k < 100; k++) {
    const m1 = hi - phi * (hi - lo);
    const m2 = lo + phi * (hi - lo);
    if (ratio(m1) < ratio(m2)) hi = m2;
    else lo = m1;
  }
  const at = (lo + hi) / 2;
  return { mu: ratio(at), at };
}

/** The constant c = 1 − βρ − (βη/2)(1 + βρ)² of the USAM bound (see the module doc). */
export function usamPlMargin(options: { eta: number; rho: number; beta: number }): number {
  const { eta, rho, beta } = options;
  return 1 - beta * rho - ((beta * eta) / 2) * (1 + beta * rho) ** 2;
}

/**
 * The per-step contraction 1 − 2ημc that bounds L(θ_{t+1})/L(θ_t) for full-batch USAM on a
 * β-smooth μ-PL loss; `null` when c ≤ 0 (the bound says nothing).
 */
export function usamPlRate(
  options: { eta: number; rho: number; beta: number; mu: number },
): number | null {
  const c = usamPlMargin(options);
  return c > 0 ? 1 - 2 * options.eta * options.mu * c : null;
}

/** One full-batch USAM step on f(x) = x² + 3 sin²(x). */
export function nonconvexPlUsamStep(x: number, options: { eta: number; rho: number }): number {
  return x - options.eta * nonconvexPlGrad(x + options.rho * nonconvexPlGrad(x));
}

/** One full-batch SAM (Eq. 3) step on f, with the authors' 1e-12 guard (docs/paper.md#update-rules). */
export function nonconvexPlSamStep(x: number, options: { eta: number; rho: number }): number {
  const g = nonconvexPlGrad(x);
  return x - options.eta * nonconvexPlGrad(x + (options.rho * g) / (Math.abs(g) + 1e-12));
}
