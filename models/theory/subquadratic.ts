/**
 * The one-dimensional sub-quadratic valley of P2 (docs/paper.md#theory, the reconstruction of the
 * paper's Definition 4.2 with p = 1):
 *
 *     L(θ) = a·(√(b² + θ²) − b),   L′(θ) = aθ/√(b² + θ²),   L″(θ) = a·b²/(b² + θ²)^{3/2}
 *
 * quadratic near 0 (sharpness L″(0) = a/b), linear with slope → a beyond |θ| ≈ b, |L′| < a.
 * Full-batch SAM (Eq. 3: the ascent is ρ·sign(L′) in one dimension) and USAM (Eq. 4: ρ·L′).
 *
 * A fact the P2 check leans on (proved here, tested numerically): in both variants the ascent
 * point θ + ε lies on the same side of 0 as θ, so the descent gradient has the sign of θ and
 * magnitude below a. Hence θ_{t+1} ∈ (θ_t − ηa, θ_t) for θ_t > 0 (mirrored for θ_t < 0), and
 * |θ_t| < max(|θ₀|, ηa) for every t and every ρ ≥ 0: with ηa ≤ 2b, every start in (−b, b)
 * stays in (−2b, 2b) whatever ρ is.
 *
 * @module
 */

/** The valley's constants: slope a of the arms, width b of the quadratic core. */
export interface SubquadraticValley {
  a: number;
  b: number;
}

/** L(θ), computed as aθ²/(√(b² + θ²) + b) (no cancellation near 0). */
export function subquadraticLoss(v: SubquadraticValley, theta: number): number {
  return (v.a * theta * theta) / (Math.sqrt(v.b * v.b + theta * theta) + v.b);
}

/** L′(θ). */
export function subquadraticGrad(v: SubquadraticValley, theta: number): number {
  return (v.a * theta) / Math.sqrt(v.b * v.b + theta * theta);
}

/** L″(θ). */
export function subquadraticHess(v: SubquadraticValley, theta: number): number {
  return (v.a * v.b * v.b) / (v.b * v.b + theta * theta) ** 1.5;
}

/** The full-batch SAM variants of the paper: Eq. 3 (normalized) and Eq. 4 (USAM). */
export type FullBatchSam = "sam" | "usam";

/**
 * One full-batch step: θ − η·L′(θ + ε) with ε = ρ·L′(θ) (USAM) or ρ·L′/(|L′| + 1e-12)
 * (SAM, the authors' normalization, docs/paper.md#update-rules).
 */
export function subquadraticStep(
  v: SubquadraticValley,
  theta: number,
  options: { eta: number; rho: number; variant: FullBatchSam },
): number {
  const g = subquadraticGrad(v, theta);
  const eps = options.variant === "usam"
    ? options.rho * g
    : (options.rho * g) / (Math.abs(g) + 1e-12);
  return theta - options.eta * subquadraticGrad(v, theta + eps);
}

/**
 * Runs `steps` steps from θ₀ and returns max_t |θ_t| (t = 0…steps), stopping early once it
 * reaches `stopAt` (the iterate has left the region of interest).
 */
export function subquadraticExcursion(
  v: SubquadraticValley,
  theta0: number,
  options: { eta: number; rho: number; variant: FullBatchSam; steps: number; stopAt: number },
): number {
  let theta = theta0;
  let max = Math.abs(theta);
  for (let t = 0; t < options.steps && max < options.stopAt; t++) {
    theta = subquadraticStep(v, theta, options);
    max = Math.max(max, Math.abs(theta));
  }
  return max;
}

/**
 * The USAM linear-stability threshold at the minimum: θ = 0 is unstable (USAM escapes it
 * exponentially, factor |1 − η(a/b)(1 + ρa/b)| per step) when ρ exceeds
 * (2b/(ηa) − 1)·b/a; for ηa ≥ 2b it is unstable already for GD (ρ = 0) and this returns 0.
 */
export function usamEscapeRho(v: SubquadraticValley, eta: number): number {
  return Math.max(0, ((2 * v.b) / (eta * v.a) - 1) * (v.b / v.a));
}
