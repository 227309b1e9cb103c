/**
 * The ascent (perturbation) step of the SAM family.
 *
 * Only the perturbation lives here: the full two-pass step is in `step.ts`. Weight decay
 * never enters the ascent, because in the authors' code it lives inside the base SGD
 * optimizer, which only sees the descent gradient.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertSameStructure, type Tree, treeGlobalNorm, treeMap, treeZip } from "../tree.ts";

/**
 * Which member of the SAM family to use:
 * - `"sam"`: normalized SAM (Eq. 3 of the paper, used in all its experiments);
 * - `"usam"`: unnormalized SAM (Eq. 4, used in its theory);
 * - `"asam"`: adaptive SAM (the davda54 `adaptive=True` flag).
 */
export type SamVariant = "sam" | "usam" | "asam";

const VARIANTS: readonly string[] = ["sam", "usam", "asam"];

/** Arguments of {@link samPerturbation}. */
export interface SamPerturbationArgs {
  /** Loss gradient at `params` (no weight decay). */
  grads: Tree;
  /** Current parameters θ (only ASAM reads their values). */
  params: Tree;
  /** Perturbation radius ρ ≥ 0. */
  rho: number;
  /** Which SAM variant. */
  variant: SamVariant;
  /** Added to the norm so a zero gradient gives e = 0 instead of NaN; default 1e-12. */
  eps?: number;
}

/**
 * Computes the SAM perturbation e, to be added to θ before the second pass:
 *
 * - sam:  e = ρ·g / (‖g‖ + eps);
 * - usam: e = ρ·g;
 * - asam: e = ρ·θ²⊙g / (‖|θ|⊙g‖ + eps);
 *
 * where ‖·‖ is the GLOBAL L2 norm over all leaves (one parameter group, as in the authors'
 * code), summed in canonical key order. Returns fresh tensors; inputs are untouched.
 *
 * @throws {Error} naming the argument when `rho` or `eps` is not a finite number ≥ 0, when
 *   `variant` is unknown, or when `grads` and `params` differ in structure.
 */
export function samPerturbation(args: SamPerturbationArgs): Tree {
  const { grads, params, rho, variant, eps = 1e-12 } = args;
  if (!Number.isFinite(rho) || rho < 0) {
    throw new Error(`samPerturbation: argument "rho" must be a finite number >= 0, got ${rho}`);
  }
  if (!Number.isFinite(eps) || eps < 0) {
    throw new Error(`samPerturbation: argument "eps" must be a finite number >= 0, got ${eps}`);
  }
  if (!VARIANTS.includes(variant)) {
    throw new Error(
      `samPerturbation: argument "variant" must be one of ${VARIANTS.join(", ")}, got ${variant}`,
    );
  }
  assertSameStructure(grads, params);
  return tf.tidy(() => {
    if (variant === "usam") return treeMap(grads, (g) => tf.mul(g, rho));
    if (variant === "sam") {
      const scale = tf.div(rho, tf.add(treeGlobalNorm(grads), eps));
      return treeMap(grads, (g) => tf.mul(g, scale));
    }
    // ASAM: the norm is taken of |θ|⊙g, and the direction is θ²⊙g (davda54's order).
    const weighted = treeZip(params, grads, (p, g) => tf.mul(tf.abs(p), g));
    const scale = tf.div(rho, tf.add(treeGlobalNorm(weighted), eps));
    return treeZip(params, grads, (p, g) => tf.mul(tf.mul(tf.square(p), g), scale));
  });
}
