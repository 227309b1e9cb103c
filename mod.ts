/**
 * late-sam: a reproduction of "Sharpness-Aware Minimization Efficiently Selects Flatter Minima
 * Late in Training" (Zhou, Wang, Mao, Li, Yan; ICLR 2025) in Deno and TensorFlow.js.
 *
 * The public API, by layer: `core` (reproducibility core, optimizers, backends, the training
 * loop and checkpoints), `models`, `data`, and `experiments` (one definition per figure or
 * task).
 *
 * @example
 * ```ts
 * import { createRng, rngKey } from "./mod.ts";
 * const shuffle = createRng(rngKey(0, "run", 3, "epoch", 7, "shuffle")).permutation(60000);
 * ```
 *
 * @module
 */
export * from "./core/mod.ts";
export * from "./models/mod.ts";
export * from "./data/mod.ts";
export * from "./experiments/mod.ts";
