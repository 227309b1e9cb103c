/**
 * The loss landscape along the line through two solutions (Fig. 4(c), docs/paper.md#measurements).
 *
 * θ_λ = (1 − λ)·A + λ·B over the whole model state: the parameters and the non-trainable
 * state (BatchNorm running mean and variance), as the authors interpolate the whole
 * `state_dict`. Each interpolated model is evaluated in eval mode on fixed subsets (e.g.
 * 1,000 train and 1,000 test images), and the curvature along the line is the paper's
 *
 *     L″(λ) = (L(λ + h) + L(λ − h) − 2·L(λ)) / (2h)²,   h = 0.1,
 *
 * with the (2h)² denominator as printed (for a quadratic path L = aλ² + bλ + c it gives a/2,
 * a quarter of d²L/dλ²). L″ is reported where the grid holds both λ ± h.
 *
 * Interpolation is computed on the host in float64 and rounded once to float32; λ = 0 and
 * λ = 1 return exact copies of A and B. Outside [0, 1] an interpolated running variance can
 * turn negative (when one end's variance exceeds the other's by a factor (1 − λ)/−λ); the
 * loss is then NaN, as it would be in the authors' code.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch } from "../batch.ts";
import type { Model } from "../model.ts";
import { assertSameStructure, type Tree, treeKeys } from "../tree.ts";
import { type DeviceSubset, uploadSubset } from "./chunks.ts";
import type { LossFunction } from "./hvp.ts";

/** The paper's finite-difference step along the line. */
export const LINE_H = 0.1;

/** A model's whole state: parameters and non-trainable state. */
export interface ModelState {
  params: Tree;
  state: Tree;
}

function interpolateTree(a: Tree, b: Tree, lambda: number, what: string): Tree {
  assertSameStructure(a, b);
  const out: Tree = {};
  for (const name of treeKeys(a)) {
    const ta = a[name];
    const tb = b[name];
    if (lambda === 0) out[name] = tf.clone(ta);
    else if (lambda === 1) out[name] = tf.clone(tb);
    else if (ta.dtype !== "float32" || tb.dtype !== "float32") {
      throw new TypeError(`cannot interpolate ${what} "${name}" of dtype ${ta.dtype}/${tb.dtype}`);
    } else {
      const va = ta.dataSync() as Float32Array;
      const vb = tb.dataSync() as Float32Array;
      const values = new Float32Array(va.length);
      for (let i = 0; i < va.length; i++) values[i] = (1 - lambda) * va[i] + lambda * vb[i];
      out[name] = tf.tensor(values, ta.shape, "float32");
    }
  }
  return out;
}

/**
 * θ_λ = (1 − λ)·A + λ·B for parameters and state (see the module documentation). The caller
 * owns the returned tensors.
 *
 * @throws {Error} when A and B differ in names or shapes; {@link TypeError} for a non-float
 *   leaf at λ ∉ {0, 1}; {@link RangeError} for a non-finite λ.
 */
export function interpolateStates(a: ModelState, b: ModelState, lambda: number): ModelState {
  if (!Number.isFinite(lambda)) throw new RangeError(`λ must be finite, got ${lambda}`);
  const params = interpolateTree(a.params, b.params, lambda, "parameter");
  try {
    return { params, state: interpolateTree(a.state, b.state, lambda, "state") };
  } catch (err) {
    tf.dispose(Object.values(params));
    throw err;
  }
}

/**
 * The grid from, from + step, …, to (values rounded to 12 decimals, so λ ± h of a grid
 * point can be found again).
 *
 * @throws {RangeError} unless step > 0, to ≥ from and (to − from)/step is an integer (to 1e-9).
 */
export function lambdaGrid(from: number, to: number, step: number): number[] {
  if (!(step > 0) || !Number.isFinite(from) || !Number.isFinite(to) || to < from) {
    throw new RangeError(`λ grid needs finite from ≤ to and step > 0, got ${from}, ${to}, ${step}`);
  }
  const intervals = (to - from) / step;
  const count = Math.round(intervals);
  if (Math.abs(intervals - count) > 1e-9 * Math.max(1, count)) {
    throw new RangeError(`λ grid: (to − from)/step = ${intervals} is not a whole number`);
  }
  return Array.from({ length: count + 1 }, (_, i) => Math.round((from + i * step) * 1e12) / 1e12);
}

function findIndex(values: readonly number[], target: number): number {
  return values.findIndex((v) => Math.abs(v - target) <= 1e-9);
}

/**
 * The paper's L″(λᵢ) = (L(λᵢ + h) + L(λᵢ − h) − 2L(λᵢ))/(2h)² for each grid point whose
 * neighbours at ±h are on the grid (matched to 1e-9), else null.
 */
export function lineCurvature(
  lambdas: readonly number[],
  losses: readonly number[],
  h: number = LINE_H,
): (number | null)[] {
  if (lambdas.length !== losses.length) {
    throw new RangeError(`lineCurvature: ${lambdas.length} λ values, ${losses.length} losses`);
  }
  if (!(h > 0)) throw new RangeError(`lineCurvature: h must be positive, got ${h}`);
  return lambdas.map((lambda, i) => {
    const up = findIndex(lambdas, lambda + h);
    const down = findIndex(lambdas, lambda - h);
    if (up < 0 || down < 0) return null;
    return (losses[up] + losses[down] - 2 * losses[i]) / (2 * h) ** 2;
  });
}

/** Mean loss and accuracy of a model over an uploaded subset, BatchNorm in eval mode. */
export function evaluateSubset(
  model: Model,
  point: ModelState,
  subset: DeviceSubset,
  loss: LossFunction,
): { loss: number; acc: number } {
  let lossSum = 0;
  let correct = 0;
  for (const ch of subset.chunks) {
    const [l, c] = tf.tidy(() => {
      const { logits } = model.apply(point.params, point.state, ch.x, "eval");
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), ch.y), "float32"));
      return [loss(logits, ch.y), hits];
    });
    lossSum += l.dataSync()[0] * ch.size;
    correct += c.dataSync()[0];
    tf.dispose([l, c]);
  }
  return { loss: lossSum / subset.count, acc: correct / subset.count };
}

/** Options of {@link lineProfile}. */
export interface LineProfileOptions {
  model: Model;
  /** The end point at λ = 0 (the paper: SGD→SAM). */
  a: ModelState;
  /** The end point at λ = 1 (the paper: SGD). */
  b: ModelState;
  /** The λ values to evaluate, e.g. `lambdaGrid(-0.2, 1.2, 0.05)`. */
  lambdas: readonly number[];
  /** Named fixed subsets, e.g. `{ train, test }`; each is evaluated at every λ. */
  splits: Record<string, Iterable<Batch>>;
  /** Mean loss of a batch (plain cross-entropy). */
  loss: LossFunction;
  /** Step of L″; default {@link LINE_H}. */
  h?: number;
  /** Examples per forward pass; default 500 (eval mode: affects speed only). */
  chunk?: number;
  /** Called after every λ (progress). */
  onPoint?: (done: number, total: number) => void;
}

/** One row of a line profile. */
export interface LineRow {
  lambda: number;
  split: string;
  loss: number;
  acc: number;
  /** The paper's L″ at this λ, or null where λ ± h is not on the grid. */
  curvature: number | null;
}

/**
 * Evaluates loss and accuracy along θ_λ for every λ and split, and L″ where the grid allows
 * (see the module documentation). Rows are ordered by split (in the order given), then λ.
 *
 * @throws {Error} when A and B do not have the same structure, or as {@link lambdaGrid}.
 */
export function lineProfile(options: LineProfileOptions): LineRow[] {
  const { model, a, b, lambdas, loss } = options;
  const h = options.h ?? LINE_H;
  assertSameStructure(a.params, b.params);
  assertSameStructure(a.state, b.state);
  const names = Object.keys(options.splits);
  const subsets: DeviceSubset[] = [];
  try {
    for (const name of names) {
      subsets.push(uploadSubset(options.splits[name], model.inputShape, options.chunk ?? 500));
    }
    const results = names.map(() => [] as { loss: number; acc: number }[]);
    lambdas.forEach((lambda, i) => {
      const point = interpolateStates(a, b, lambda);
      try {
        subsets.forEach((s, k) => results[k].push(evaluateSubset(model, point, s, loss)));
      } finally {
        tf.dispose([...Object.values(point.params), ...Object.values(point.state)]);
      }
      options.onPoint?.(i + 1, lambdas.length);
    });
    return names.flatMap((split, k) => {
      const curvature = lineCurvature(lambdas, results[k].map((r) => r.loss), h);
      return lambdas.map((lambda, i) => ({
        lambda,
        split,
        loss: results[k][i].loss,
        acc: results[k][i].acc,
        curvature: curvature[i],
      }));
    });
  } finally {
    for (const s of subsets) s.dispose();
  }
}
