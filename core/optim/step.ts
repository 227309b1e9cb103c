/**
 * Full optimizer steps (SGD and the two-pass SAM family) over explicit state.
 *
 * A step takes the loss-and-gradient function of the current mini-batch, so SAM can run its
 * second pass on the same batch. Nothing is mutated: θ is never moved to θ + e, so
 * "restoring" θ after the second pass is simply using the original `params` again.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { type Tree, treeClone, treeDispose } from "../tree.ts";
import { samPerturbation, type SamVariant } from "./sam.ts";
import { applyUpdates, type SgdState, type Transform } from "./sgd.ts";

/**
 * Loss and gradient of one mini-batch at `params` (the closure *is* the batch).
 *
 * It must not mutate or dispose `params`, and must return fresh tensors that the caller
 * owns: the scalar loss, the gradient (same names and shapes as `params`) and, optionally,
 * the model's non-trainable state after the pass (e.g. BatchNorm running statistics).
 */
export type LossAndGrad = (params: Tree) => { loss: tf.Scalar; grads: Tree; state?: Tree };

/** Which optimizer takes the step: plain SGD, or a SAM variant with radius `rho`. */
export type OptimizerSpec = { kind: "sgd" } | { kind: SamVariant; rho: number };

/** Arguments of {@link optimizerStep}. */
export interface OptimizerStepArgs {
  /** Which optimizer. */
  spec: OptimizerSpec;
  /** Loss and gradient of the current mini-batch. */
  lossAndGrad: LossAndGrad;
  /** Current parameters θ. */
  params: Tree;
  /** Current state of the base transform. */
  state: SgdState;
  /** Base transform (SGD with momentum and weight decay); SAM's descent goes through it. */
  base: Transform<SgdState>;
  /** Learning rate of this step. */
  lr: number;
}

/** Result of {@link optimizerStep}; every tensor in it is fresh and owned by the caller. */
export interface OptimizerStepResult {
  /** New parameters. */
  params: Tree;
  /** New base-transform state. */
  state: SgdState;
  /** Mini-batch loss at the unperturbed θ (pass 1), as the authors log it. */
  loss: tf.Scalar;
  /** Model state from pass 1, when the closure returns one. */
  modelState?: Tree;
}

const SAM_KINDS: readonly string[] = ["sam", "usam", "asam"];

/**
 * Takes one optimizer step.
 *
 * - `sgd`: one pass at θ, then the base update with its gradient.
 * - `sam` / `usam` / `asam` (docs/paper.md#update-rules): pass 1 at θ gives the loss, g and model
 * state 1;
 *   e = {@link samPerturbation}(g); pass 2 at θ + e on the same batch gives g₂ and model
 *   state 2. Model state 2 is disposed and model state 1 returned, because SAM's second pass
 *   must not update BatchNorm running statistics. The base transform then steps with g₂ at
 *   the original θ, so coupled weight decay is evaluated at θ, not at θ + e.
 *
 * Inputs are neither mutated nor disposed; the caller disposes the old params and state.
 *
 * @throws {Error} when `spec.kind` is unknown, or from the base transform / perturbation on
 *   invalid `lr` or `rho`.
 */
export function optimizerStep(args: OptimizerStepArgs): OptimizerStepResult {
  const { spec, lossAndGrad, params, state, base, lr } = args;
  if (spec.kind !== "sgd" && !SAM_KINDS.includes(spec.kind)) {
    throw new Error(`optimizerStep: unknown spec "kind" ${String(spec.kind)}`);
  }
  const pass1 = lossAndGrad(params);
  let descentGrads = pass1.grads;
  try {
    if (spec.kind !== "sgd") descentGrads = secondPassGrads(spec, lossAndGrad, params, pass1.grads);
    const { updates, state: next } = base.update({ grads: descentGrads, state, params, lr });
    const newParams = applyUpdates(params, updates);
    treeDispose(updates);
    return { params: newParams, state: next, loss: pass1.loss, modelState: pass1.state };
  } catch (err) {
    pass1.loss.dispose();
    treeDispose(pass1.state);
    throw err;
  } finally {
    treeDispose(pass1.grads);
    if (descentGrads !== pass1.grads) treeDispose(descentGrads);
  }
}

/** SAM's pass 2: the gradient at θ + e on the same batch; its loss and model state are freed. */
function secondPassGrads(
  spec: { kind: SamVariant; rho: number },
  lossAndGrad: LossAndGrad,
  params: Tree,
  grads: Tree,
): Tree {
  const e = samPerturbation({ grads, params, rho: spec.rho, variant: spec.kind });
  const perturbed = applyUpdates(params, e);
  treeDispose(e);
  try {
    const pass2 = lossAndGrad(perturbed);
    pass2.loss.dispose();
    treeDispose(pass2.state);
    return pass2.grads;
  } finally {
    treeDispose(perturbed);
  }
}

/** Arguments of {@link switchOptimizerState}. */
export interface SwitchOptimizerStateArgs {
  /** State of the optimizer being switched away from (not disposed here). */
  state: SgdState;
  /** Base transform of the optimizer being switched to. */
  base: Transform<SgdState>;
  /** Current parameters (for `base.init`). */
  params: Tree;
  /** Keep the momentum buffer and step count instead of resetting; default false. */
  keepMomentum?: boolean;
}

/**
 * Base-transform state to use after switching between SGD and a SAM variant.
 *
 * The authors' `ERM_to_SAM.py` builds a separate optimizer for each phase (SAM wraps a new
 * SGD instance), so the momentum buffer is effectively RESET at every switch, in both
 * directions: by default this returns a fresh `base.init(params)`. `keepMomentum: true`
 * keeps a copy of the buffer (and the step count), as `ERM_to_Adv.py` does with its single
 * optimizer across the standard→adversarial switch. The input state is not disposed; the
 * returned state holds fresh tensors.
 */
export function switchOptimizerState(args: SwitchOptimizerStateArgs): SgdState {
  const { state, base, params, keepMomentum = false } = args;
  if (!keepMomentum) return base.init(params);
  return { step: state.step, momentum: state.momentum === null ? null : treeClone(state.momentum) };
}

/** Disposes the tensors of an {@link SgdState} (its momentum buffer, if any). */
export function disposeSgdState(state: SgdState): void {
  if (state.momentum !== null) treeDispose(state.momentum);
}
