/**
 * The toy valley of Figure 4(a): a two-parameter loss whose global minima are the line v = 0
 * and whose sharpness grows with |u|.
 *
 * The paper's Example 4.1 is not available (docs/paper.md#toy-valley); this is the project's
 * reconstruction:
 *
 *     L(u, v) = h(u) · q(v)
 *
 * - h(u) > 0 sets the sharpness along the valley floor: `quadratic` h = h0 + a·u², or
 *   `cosh` h = h0·cosh(a·u). Smaller |u| is flatter.
 * - q(v) is the cross-section: `quadratic` q = v²/2 (the plain ½h(u)v² suggested in
 * docs/paper.md#toy-valley), or
 *   `subquadratic` q = b·(√(b² + v²) − b), quadratic for |v| ≪ b and linear (slope b) beyond:
 *   the "sub-quadratic landscape with p = 1" of the paper's Definition 4.2, which is what keeps
 *   SAM inside the valley after its escape (Proposition 4.1).
 *
 * Since q″(0) = 1, the Hessian at a minimum (u, 0) is diag(0, h(u)): λ_max = h(u).
 *
 * Gradients come from tfjs autodiff of {@link valleyLoss}; the float64 functions below give the
 * exact Hessian for sharpness and the linear-stability prediction of the escape rate.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import type { Tree } from "../core/tree.ts";

/** Config of a valley. */
export const valleySchema = z.strictObject({
  sharpness: z.enum(["quadratic", "cosh"]).describe(
    "floor sharpness h(u): h0+a·u² or h0·cosh(a·u)",
  ),
  crossSection: z.enum(["subquadratic", "quadratic"]).describe(
    "cross-section q(v): b(√(b²+v²)−b) or v²/2",
  ),
  h0: z.number().positive().describe("sharpness of the flattest minimum, h(0)"),
  a: z.number().positive().describe("how fast sharpness grows with |u|"),
  b: z.number().positive().describe("width of the quadratic core of a subquadratic cross-section"),
});

/** A valley's parameters. */
export type ValleyConfig = z.output<typeof valleySchema>;

/** The toy's parameter tree: two scalars. */
export interface ValleyPoint {
  u: number;
  v: number;
}

/** Builds the `{u, v}` parameter tree (scalar tensors) of a point. */
export function valleyParams(point: ValleyPoint): Tree {
  return { u: tf.scalar(point.u), v: tf.scalar(point.v) };
}

/** Reads a `{u, v}` parameter tree back into numbers. */
export function valleyPoint(params: Tree): ValleyPoint {
  return { u: params.u.dataSync()[0], v: params.v.dataSync()[0] };
}

/** h(u) as a tensor op (differentiable). */
export function sharpnessTensor(valley: ValleyConfig, u: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    valley.sharpness === "quadratic"
      ? tf.add(valley.h0, tf.mul(valley.a, tf.square(u)))
      : tf.mul(valley.h0, tf.cosh(tf.mul(valley.a, u)))
  );
}

function crossSectionTensor(valley: ValleyConfig, v: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (valley.crossSection === "quadratic") return tf.mul(0.5, tf.square(v));
    // b(√(b²+v²) − b) rewritten as b·v²/(√(b²+v²) + b): no cancellation near v = 0, where
    // float32 would return exactly 0 and silence the loss-scaled noise.
    const b = valley.b;
    const v2 = tf.square(v);
    return tf.div(tf.mul(b, v2), tf.add(tf.sqrt(tf.add(b * b, v2)), b));
  });
}

/** L(u, v) = h(u)·q(v) as a differentiable scalar. */
export function valleyLoss(valley: ValleyConfig, params: Tree): tf.Scalar {
  return tf.tidy(() =>
    tf.mul(sharpnessTensor(valley, params.u), crossSectionTensor(valley, params.v)) as tf.Scalar
  );
}

/** h and its first two derivatives at u, in float64. */
export function sharpnessDerivatives(valley: ValleyConfig, u: number): [number, number, number] {
  const { h0, a } = valley;
  if (valley.sharpness === "quadratic") return [h0 + a * u * u, 2 * a * u, 2 * a];
  return [h0 * Math.cosh(a * u), h0 * a * Math.sinh(a * u), h0 * a * a * Math.cosh(a * u)];
}

/** q and its first two derivatives at v, in float64. */
export function crossSectionDerivatives(valley: ValleyConfig, v: number): [number, number, number] {
  if (valley.crossSection === "quadratic") return [0.5 * v * v, v, 1];
  const b = valley.b;
  const r = Math.sqrt(b * b + v * v);
  return [(b * v * v) / (r + b), (b * v) / r, (b * b * b) / (r * r * r)];
}

/** L(u, v) in float64. */
export function valleyLossExact(valley: ValleyConfig, p: ValleyPoint): number {
  return sharpnessDerivatives(valley, p.u)[0] * crossSectionDerivatives(valley, p.v)[0];
}

/** The exact 2×2 Hessian [[Luu, Luv], [Luv, Lvv]] in float64. */
export function valleyHessian(
  valley: ValleyConfig,
  p: ValleyPoint,
): [[number, number], [number, number]] {
  const [h, dh, d2h] = sharpnessDerivatives(valley, p.u);
  const [q, dq, d2q] = crossSectionDerivatives(valley, p.v);
  return [[d2h * q, dh * dq], [dh * dq, h * d2q]];
}

/** λ_max of the exact Hessian at a point: the toy's sharpness. */
export function valleySharpness(valley: ValleyConfig, p: ValleyPoint): number {
  const [[a, b], [, c]] = valleyHessian(valley, p);
  return (a + c) / 2 + Math.sqrt(((a - c) / 2) ** 2 + b * b);
}

/**
 * The toy's stochastic gradient: the exact gradient plus loss-scaled noise aligned with the
 * sharp direction,
 *
 *     g̃(θ) = ∇L(θ) + σ · √(2·L(θ)·h(u)) · z · e_v,   z ~ N(0, 1),
 *
 * i.e. noise with covariance σ²·2L(θ)·H(u, 0), the alignment of SGD noise with the Hessian
 * that the paper's Assumption 4.1 posits (docs/paper.md#theory). One data point has no
 * mini-batches, so
 * this stands in for batch sampling: the noise vanishes at a minimum, as SGD's does under
 * interpolation, and one draw `z` plays the role of one batch (SAM's two passes share it).
 *
 * @returns the loss at `params` and the noisy gradient tree, as new tensors.
 */
export function noisyLossAndGrad(
  valley: ValleyConfig,
  params: Tree,
  options: { sigma: number; z: number },
): { loss: tf.Scalar; grads: Tree } {
  return tf.tidy(() => {
    const f = (u: tf.Tensor, v: tf.Tensor) => valleyLoss(valley, { u, v });
    const { value, grads } = tf.valueAndGrads(f)([params.u, params.v]);
    const scale = tf.sqrt(tf.mul(tf.mul(2, value), sharpnessTensor(valley, params.u)));
    const noise = tf.mul(options.sigma * options.z, scale);
    return { loss: value as tf.Scalar, grads: { u: grads[0], v: tf.add(grads[1], noise) } };
  });
}

/** Per-step growth factors of the loss predicted by linear stability. */
export interface PredictedGrowth {
  /** C = E[f(z)²]: growth of the expected loss, E[L_t] = C^t·L_0. */
  mean: number;
  /** G = exp(E[ln f(z)²]): growth of a typical trial's loss (of the geometric mean). */
  typical: number;
}

/**
 * The per-step growth of the loss when USAM (Eq. 4) without momentum starts next to the
 * minimum (u, 0) with sharpness h, under the noise model of {@link noisyLossAndGrad}; with
 * ρ = 0 it is plain SGD's, where C = (1 − ηh)² + (ησh)².
 *
 * Linearized, one step multiplies v by f(z) = 1 − ηh·(w + σ|w|z) with w = 1 + ρh(1 + σz)
 * (ascent and descent share the draw z), so the loss is multiplied by f(z)² each step:
 * escape when C > 1 (Corollary 4.2 on the toy, docs/paper.md#theory). The expectations over z ~
 * N(0, 1)
 * are midpoint sums over z ∈ [−10, 10] with 20,000 cells (the midpoints avoid f = 0, where
 * ln f² has an integrable singularity).
 */
export function predictedLossGrowth(options: {
  eta: number;
  rho: number;
  sigma: number;
  sharpness: number;
}): PredictedGrowth {
  const { eta, rho, sigma, sharpness: h } = options;
  const n = 20_000;
  const dz = 20 / n;
  let mean = 0;
  let logMean = 0;
  for (let i = 0; i < n; i++) {
    const z = -10 + (i + 0.5) * dz;
    const w = 1 + rho * h * (1 + sigma * z);
    const f = 1 - eta * h * (w + sigma * Math.abs(w) * z);
    const density = (Math.exp(-0.5 * z * z) * dz) / Math.sqrt(2 * Math.PI);
    mean += density * f * f;
    logMean += density * Math.log(f * f);
  }
  return { mean, typical: Math.exp(logMean) };
}
