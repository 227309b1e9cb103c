/**
 * What a sweep can measure on stored run states, as specs: each measurement kind's schema and
 * its estimated cost in batch-gradient evaluations. The computations are in `measures.ts`;
 * this module is pure (no tensors), so the training code can price a plan without importing
 * them (and a changed measurement never changes the hash that stored states are keyed by).
 *
 * - `sharpness` (Figs. 3, 5): top Hessian eigenvalues (docs/paper.md#measurements);
 * - `line` (Fig. 4(c)): loss, accuracy and L″ along the segment between two states;
 * - `escape` (Fig. 4(b)): SAM, ascent-only or SGD (the control) steps from a converged state.
 *
 * @module
 */
import { z } from "zod";
import { type Json, parseConfig } from "../core/config.ts";

/** Spec of a sharpness measurement. */
export const sharpnessSpecSchema = z.strictObject({
  kind: z.literal("sharpness"),
  examples: z.number().int().positive().describe(
    "the first N unaugmented training examples (authors: 5000)",
  ),
  chunk: z.number().int().positive().describe("examples per chunk (authors: 128)"),
  k: z.number().int().positive().describe("top eigenvalues (authors: 2)"),
  iterations: z.number().int().positive().describe(
    "Lanczos cap (one HVP each); values still above the tolerance are flagged unconverged",
  ),
  tolerance: z.number().positive().describe(
    "Lanczos stops when each value's relative residual βⱼ|sⱼ|/|θ| is at most this",
  ),
  epsilon: z.number().positive().describe("finite-difference step of the HVP"),
  bnMode: z.enum(["train", "eval"]).describe("BatchNorm mode (authors: train)"),
  seed: z.number().int().nonnegative().describe("root of the start-vector stream"),
});

/** A validated sharpness spec. */
export type SharpnessSpec = z.output<typeof sharpnessSpecSchema>;

/** Spec of a line profile between two end states (inputs: A at λ = 0, B at λ = 1). */
export const lineSpecSchema = z.strictObject({
  kind: z.literal("line"),
  from: z.number().describe("first λ"),
  to: z.number().describe("last λ"),
  step: z.number().positive().describe("λ spacing (h must be a multiple of it)"),
  h: z.number().positive().describe("step of L″ (paper: 0.1)"),
  trainExamples: z.number().int().positive().describe("first N training examples"),
  testExamples: z.number().int().positive().describe("first N test examples"),
});

/** A validated line spec. */
export type LineSpec = z.output<typeof lineSpecSchema>;

/** Spec of an escape trial (Fig. 4(b)). */
export const escapeSpecSchema = z.strictObject({
  kind: z.literal("escape"),
  /** Trial index: seeds the batch order through the stream (trial, escape/batches). */
  trial: z.number().int().nonnegative(),
  steps: z.number().int().positive(),
  /**
   * `sam`: full SAM steps; `ascent`: the released escape.py loop, θ ← θ + ρ·g/‖g‖ only;
   * `sgd`: plain SGD steps with the same base optimizer (the control).
   */
  variant: z.enum(["sgd", "sam", "ascent"]),
  rho: z.number().positive(),
  lr: z.number().nonnegative(),
  momentum: z.number().min(0).lt(1),
  weightDecay: z.number().nonnegative(),
  batchSize: z.number().int().positive(),
  /** The first `evalSize` training examples (unaugmented) on which the loss is recorded. */
  evalSize: z.number().int().positive(),
});

/** A validated escape spec. */
export type EscapeSpec = z.output<typeof escapeSpecSchema>;

/** Estimated batch-gradient evaluations of each measurement kind, from its spec. */
export const MEASURE_COSTS: Readonly<Record<string, (spec: Json) => number>> = {
  sharpness: (raw) => {
    const spec = parseConfig(sharpnessSpecSchema, raw);
    return (spec.iterations + 1) * 2 * Math.ceil(spec.examples / spec.chunk);
  },
  line: (raw) => {
    const spec = parseConfig(lineSpecSchema, raw);
    const points = Math.round((spec.to - spec.from) / spec.step) + 1;
    return Math.ceil(points * Math.ceil((spec.trainExamples + spec.testExamples) / 128) / 3);
  },
  escape: (raw) => {
    const spec = parseConfig(escapeSpecSchema, raw);
    const evalBatchesPerStep = Math.ceil(spec.evalSize / spec.batchSize) / 3; // forward only
    return Math.ceil(
      spec.steps * (spec.variant === "sam" ? 2 : 1) + (spec.steps + 1) * evalBatchesPerStep,
    );
  },
};

/** The kind a spec names (`spec.kind`), checked against `known`. */
export function measureKind(spec: Json, known: readonly string[]): string {
  const kind = (spec as { kind?: unknown })?.kind;
  if (typeof kind !== "string" || !known.includes(kind)) {
    throw new Error(`unknown measurement kind ${JSON.stringify(kind)}; known: ${known.join(", ")}`);
  }
  return kind;
}

/** Estimated batch-gradient evaluations of a measurement. */
export function measureCost(spec: Json): number {
  return MEASURE_COSTS[measureKind(spec, Object.keys(MEASURE_COSTS))](spec);
}
