/**
 * Parameter trees: flat, name-keyed maps of tensors.
 *
 * Every model, optimizer state and checkpoint in the project stores its tensors in a
 * {@link Tree}: a plain object from a path-like name (`"block1/conv/kernel"`) to a tensor.
 * A flat map keeps serialization trivial, and iterating in sorted key order makes every
 * reduction over a tree (global norms, hashes) independent of insertion order, which the
 * bitwise-determinism guarantee relies on.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A flat map from parameter name to tensor. */
export type Tree = Record<string, tf.Tensor>;

/** The names of a tree in the canonical (sorted) order used by every reduction. */
export function treeKeys(tree: Tree): string[] {
  return Object.keys(tree).sort();
}

/** Applies `fn` to every leaf, keeping names. The caller owns the returned tensors. */
export function treeMap(tree: Tree, fn: (leaf: tf.Tensor, name: string) => tf.Tensor): Tree {
  const out: Tree = {};
  for (const name of treeKeys(tree)) out[name] = fn(tree[name], name);
  return out;
}

/**
 * Applies `fn` leaf by leaf to two trees with the same names.
 *
 * @throws {Error} when the trees do not have exactly the same names.
 */
export function treeZip(
  a: Tree,
  b: Tree,
  fn: (x: tf.Tensor, y: tf.Tensor, name: string) => tf.Tensor,
): Tree {
  assertSameStructure(a, b);
  const out: Tree = {};
  for (const name of treeKeys(a)) out[name] = fn(a[name], b[name], name);
  return out;
}

/** Throws unless both trees have the same names and each pair of leaves the same shape. */
export function assertSameStructure(a: Tree, b: Tree): void {
  const ka = treeKeys(a);
  const kb = treeKeys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    throw new Error(`tree structure mismatch: [${ka.join(", ")}] vs [${kb.join(", ")}]`);
  }
  for (const k of ka) {
    const sa = a[k].shape.join("x");
    const sb = b[k].shape.join("x");
    if (sa !== sb) throw new Error(`tree leaf "${k}" shape mismatch: ${sa} vs ${sb}`);
  }
}

/** Global L2 norm over all leaves, summed in canonical order (a scalar tensor). */
export function treeGlobalNorm(tree: Tree): tf.Scalar {
  return tf.tidy(() => {
    const squares = treeKeys(tree).map((k) => tf.sum(tf.square(tree[k])));
    const total = squares.reduce((acc, s) => tf.add(acc, s) as tf.Scalar, tf.scalar(0));
    return tf.sqrt(total) as tf.Scalar;
  });
}

/** Copies every leaf (a new tensor per leaf), so the copy survives disposal of the source. */
export function treeClone(tree: Tree): Tree {
  return treeMap(tree, (t) => tf.clone(t));
}

/** Disposes every leaf of each given tree. */
export function treeDispose(...trees: (Tree | undefined)[]): void {
  for (const tree of trees) {
    if (tree) { for (const k of Object.keys(tree)) tree[k].dispose(); }
  }
}

/** Reads every leaf as float32 data, in canonical order (for tests, hashes and checkpoints). */
export function treeToArrays(tree: Tree): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const k of treeKeys(tree)) out[k] = tree[k].dataSync() as Float32Array;
  return out;
}
