/**
 * Phase and learning-rate schedules: which optimizer and which learning rate each epoch uses.
 *
 * Epochs are 0-indexed and run 0 … T−1. A phase schedule is a list of half-open epoch ranges
 * [from, to) that tile [0, T), each with an optimizer. The authors' scripts instead select SAM
 * with an inclusive window (`start_SAM <= epoch <= end_SAM`, docs/paper.md#switching); {@link
 * authorsWindow}
 * reproduces that, off-by-one included: their SAM→SGD at t runs t + 1 SAM epochs.
 *
 * Adversarial training is the phase optimizer `at` (SGD on adversarial examples, see
 * `train.ts`), so standard→adversarial runs are schedules like any other: ST→AT at t is
 * `switchAt({ first: "sgd", then: "at", at: t, epochs })`, and the authors' inclusive
 * `start_adv <= epoch <= end_adv` window (`ERM_to_Adv.py`) is
 * `authorsWindow({ startSam: start_adv, endSam: end_adv, epochs, then: "at" })`.
 *
 * @module
 */
import { z } from "zod";

/**
 * Optimizers a phase can use: SGD, the SAM family, and `at` (adversarial training: SGD steps
 * on the adversary's examples of each batch).
 */
export const PHASE_OPTIMIZERS = ["sgd", "sam", "usam", "asam", "at"] as const;

/** An optimizer name. */
export type PhaseOptimizer = (typeof PHASE_OPTIMIZERS)[number];

/** One phase: epochs [from, to) use `optimizer`. */
export interface Phase {
  optimizer: PhaseOptimizer;
  from: number;
  to: number;
}

/** Schema of a phase list (validated further by {@link checkPhases}). */
export const phasesSchema = z.array(z.strictObject({
  optimizer: z.enum(PHASE_OPTIMIZERS),
  from: z.number().int().nonnegative(),
  to: z.number().int().positive(),
})).min(1);

/**
 * Throws unless the phases tile [0, epochs) in order without gaps or overlaps.
 *
 * @throws {Error} naming the first offending phase.
 */
export function checkPhases(phases: readonly Phase[], epochs: number): void {
  let next = 0;
  phases.forEach((p, i) => {
    if (p.from !== next) throw new Error(`phase ${i} starts at epoch ${p.from}, expected ${next}`);
    if (p.to <= p.from) throw new Error(`phase ${i} is empty: [${p.from}, ${p.to})`);
    next = p.to;
  });
  if (next !== epochs) throw new Error(`phases end at epoch ${next}, expected ${epochs}`);
}

/** Merges adjacent phases with the same optimizer and drops empty ones. */
function normalize(phases: Phase[]): Phase[] {
  const out: Phase[] = [];
  for (const p of phases) {
    if (p.to <= p.from) continue;
    const last = out[out.length - 1];
    if (last && last.optimizer === p.optimizer && last.to === p.from) last.to = p.to;
    else out.push({ ...p });
  }
  return out;
}

/**
 * A single switch: `first` for epochs [0, at), `then` for [at, epochs). `at = 0` or
 * `at = epochs` give a one-optimizer run (the pure baselines).
 */
export function switchAt(
  options: { first: PhaseOptimizer; then: PhaseOptimizer; at: number; epochs: number },
): Phase[] {
  const { first, then, at, epochs } = options;
  if (!Number.isInteger(at) || at < 0 || at > epochs) {
    throw new RangeError(`switch epoch must be an integer in [0, ${epochs}], got ${at}`);
  }
  return normalize([{ optimizer: first, from: 0, to: at }, {
    optimizer: then,
    from: at,
    to: epochs,
  }]);
}

/**
 * The authors' inclusive SAM window: SAM in every epoch e with `startSam <= e <= endSam`,
 * SGD elsewhere (`ERM_to_SAM.py`). SGD→SAM at t is `{startSam: t, endSam: T}` (T − t SAM
 * epochs); their SAM→SGD at t is `{startSam: 0, endSam: t}`, which runs t + 1 SAM epochs.
 * `then` is the optimizer switched to inside the window (default `sam`); with `then: "at"` it
 * is `ERM_to_Adv.py`'s `start_adv <= epoch <= end_adv`.
 */
export function authorsWindow(
  options: { startSam: number; endSam: number; epochs: number; then?: PhaseOptimizer },
): Phase[] {
  const { startSam, endSam, epochs, then = "sam" } = options;
  const lo = Math.max(0, startSam);
  const hi = Math.min(epochs, endSam + 1);
  return normalize([
    { optimizer: "sgd", from: 0, to: Math.min(lo, epochs) },
    { optimizer: then, from: lo, to: Math.max(lo, hi) },
    { optimizer: "sgd", from: Math.max(lo, hi), to: epochs },
  ]);
}

/** The optimizer of epoch `epoch`. */
export function optimizerAt(phases: readonly Phase[], epoch: number): PhaseOptimizer {
  const phase = phases.find((p) => epoch >= p.from && epoch < p.to);
  if (!phase) throw new RangeError(`epoch ${epoch} is outside the phase schedule`);
  return phase.optimizer;
}

/** Learning-rate schedules of the authors' code (docs/paper.md#settings). */
export const lrScheduleSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("constant"), base: z.number().positive() }),
  z.strictObject({
    kind: z.literal("multistep"),
    base: z.number().positive(),
    milestones: z.array(z.number().int().positive()),
    gamma: z.number().positive(),
  }),
  z.strictObject({ kind: z.literal("wrn"), base: z.number().positive() }),
]);

/** A learning-rate schedule. */
export type LrSchedule = z.output<typeof lrScheduleSchema>;

/**
 * The learning rate of epoch `epoch` of a run of `epochs` epochs.
 *
 * - `multistep`: `base·γ^{#{m : epoch ≥ m}}` (PyTorch MultiStepLR stepped after each epoch).
 * - `wrn`: the authors' StepLRforWRN, called after epoch e with argument e to set epoch e+1:
 *   base while e < 0.3T, 0.2·base while e < 0.6T, then 0.04·base (three levels; davda54's
 *   fourth is commented out in their code). Epoch 0 uses base.
 */
export function learningRate(schedule: LrSchedule, epoch: number, epochs: number): number {
  switch (schedule.kind) {
    case "constant":
      return schedule.base;
    case "multistep": {
      const passed = schedule.milestones.filter((m) => epoch >= m).length;
      return schedule.base * schedule.gamma ** passed;
    }
    case "wrn": {
      if (epoch === 0) return schedule.base;
      const e = epoch - 1;
      if (e < 0.3 * epochs) return schedule.base;
      if (e < 0.6 * epochs) return schedule.base * 0.2;
      return schedule.base * 0.04;
    }
  }
}

/**
 * Parses a compact phase list, `optimizer:epochs` items in order: `"sgd:8,sam:2"` is SGD for
 * epochs [0, 8) then SAM for [8, 10).
 *
 * @throws {Error} naming the bad item.
 */
export function parsePhaseSpec(spec: string): Phase[] {
  const phases: Phase[] = [];
  let from = 0;
  for (const item of spec.split(",").map((s) => s.trim())) {
    const match = /^([a-z]+):(\d+)$/.exec(item);
    const optimizer = match?.[1] as PhaseOptimizer | undefined;
    if (!match || !PHASE_OPTIMIZERS.includes(optimizer!) || Number(match[2]) <= 0) {
      throw new Error(
        `bad phase "${item}": expected optimizer:epochs with optimizer one of ${
          PHASE_OPTIMIZERS.join("|")
        } and epochs > 0, e.g. "sgd:8,sam:2"`,
      );
    }
    phases.push({ optimizer: optimizer!, from, to: from + Number(match[2]) });
    from += Number(match[2]);
  }
  return normalize(phases);
}

/** The compact form of a phase list (inverse of {@link parsePhaseSpec}). */
export function formatPhaseSpec(phases: readonly Phase[]): string {
  return phases.map((p) => `${p.optimizer}:${p.to - p.from}`).join(",");
}
