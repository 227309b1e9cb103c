/**
 * SGD with momentum and coupled weight decay as a pure, optax-style transform.
 *
 * A {@link Transform} turns gradients into additive updates and threads its state explicitly,
 * so a training loop owns every tensor and can checkpoint, reset or fork optimizer state
 * without hidden mutation. The semantics are those of `torch.optim.SGD` (no dampening, no
 * Nesterov), which the authors' code uses both directly and as SAM's base optimizer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertSameStructure, type Tree, treeMap, treeZip } from "../tree.ts";

/**
 * A gradient transformation with explicit state `S`.
 *
 * `update` must not mutate or dispose its arguments; the returned `updates` and `state` are
 * fresh tensors owned by the caller (who also still owns, and must dispose, the old state).
 */
export interface Transform<S> {
  /** Builds the initial state for `params` (the caller owns any tensors in it). */
  init(params: Tree): S;
  /** Maps gradients at `params` to additive updates (apply with {@link applyUpdates}). */
  update(args: { grads: Tree; state: S; params: Tree; lr: number }): { updates: Tree; state: S };
}

/** Options of {@link sgd}. */
export interface SgdOptions {
  /** Momentum coefficient μ in [0, 1); 0 keeps no buffer. */
  momentum: number;
  /** Coupled L2 coefficient: the gradient becomes g + weightDecay·θ. Must be ≥ 0. */
  weightDecay: number;
}

/**
 * State of {@link sgd}, as plain data.
 *
 * `momentum` is null until the first step (PyTorch creates the buffer lazily, as a copy of
 * the first direction) and stays null when momentum is 0.
 */
export interface SgdState {
  /** Number of updates taken so far. */
  step: number;
  /** Momentum buffer per parameter, or null (before the first step, or with momentum 0). */
  momentum: Tree | null;
}

/** Returns params + updates leaf by leaf, as fresh tensors; neither input is touched. */
export function applyUpdates(params: Tree, updates: Tree): Tree {
  return tf.tidy(() => treeZip(params, updates, (p, u) => tf.add(p, u)));
}

/**
 * SGD with `torch.optim.SGD` semantics (no dampening, no Nesterov):
 *
 * - d = g + wd·θ (coupled L2, evaluated at the `params` passed to `update`);
 * - buf = d on the first step, then buf = μ·buf + d (skipped entirely when μ = 0, so buf = d);
 * - update = −lr·buf.
 *
 * @throws {Error} naming the option when `momentum` is not a finite number in [0, 1) or
 *   `weightDecay` is not a finite number ≥ 0; `update` throws when `lr` is not finite and ≥ 0.
 */
export function sgd(options: SgdOptions): Transform<SgdState> {
  const { momentum, weightDecay } = options;
  if (!Number.isFinite(momentum) || momentum < 0 || momentum >= 1) {
    throw new Error(`sgd: option "momentum" must be a finite number in [0, 1), got ${momentum}`);
  }
  if (!Number.isFinite(weightDecay) || weightDecay < 0) {
    throw new Error(`sgd: option "weightDecay" must be a finite number >= 0, got ${weightDecay}`);
  }
  return {
    init: (_params: Tree): SgdState => ({ step: 0, momentum: null }),
    update({ grads, state, params, lr }) {
      if (!Number.isFinite(lr) || lr < 0) {
        throw new Error(`sgd: argument "lr" must be a finite number >= 0, got ${lr}`);
      }
      assertSameStructure(grads, params);
      if (state.momentum !== null) {
        // A buffer under μ = 0 means the state came from a differently configured optimizer.
        if (momentum === 0) throw new Error("sgd: state has a momentum buffer but momentum is 0");
        assertSameStructure(grads, state.momentum);
      }
      const prev = state.momentum;
      const out = tf.tidy(() => {
        // PyTorch skips the add when wd = 0; cloning keeps the result free of aliases to `grads`.
        const d = weightDecay === 0
          ? treeMap(grads, (g) => tf.clone(g))
          : treeZip(grads, params, (g, p) => tf.add(g, tf.mul(p, weightDecay)));
        // μ = 0: no buffer at all, the direction is d itself.
        if (momentum === 0) return { updates: treeMap(d, (x) => tf.mul(x, -lr)) };
        const buf = prev === null ? d : treeZip(prev, d, (b, x) => tf.add(tf.mul(b, momentum), x));
        return { updates: treeMap(buf, (x) => tf.mul(x, -lr)), buf };
      });
      return { updates: out.updates, state: { step: state.step + 1, momentum: out.buf ?? null } };
    },
  };
}
