/**
 * Sweep plans: a figure's runs expanded into content-addressed jobs that share prefixes.
 *
 * A run is a base config (everything that determines training except the phase schedule:
 * model, data, seed, T, learning rates, …; opaque to this module) plus a phase schedule. The
 * state after epoch e is a pure function of the base config and the phases restricted to
 * [0, e), because epoch k's data, learning rate and optimizer depend only on (seed, k, T) and
 * the phase of k (and the momentum reset on the switch into k). So that state is named
 * `stateId(base, phases, e)`, and runs with the same base whose schedules agree on [0, e)
 * share it: the authors' per-epoch reseeding (docs/paper.md#switching) turned into a cache key.
 *
 * {@link planSweep} cuts every run at its branch points (epochs after which runs that shared
 * the state part ways) into train jobs, one per segment, each named by the state it produces,
 * so the SGD trunk of a seed is trained once and every SGD→SAM tail starts from the trunk's
 * checkpoint. Measurements (sharpness, escape trials, interpolations) are jobs on states.
 *
 * @module
 */
import { configHash, type Json } from "../config.ts";
import type { Phase } from "../schedule.ts";
import { checkPhases } from "../schedule.ts";

/** One training run of a sweep. */
export interface RunRequest {
  /** Everything that determines the run except its phases (opaque here; hashed). */
  base: Json;
  /** Total epochs T. */
  epochs: number;
  /** Phases tiling [0, T). */
  phases: Phase[];
}

/** A measurement on one or more run end states. */
export interface MeasureRequest {
  /** What to measure (opaque here; hashed). */
  spec: Json;
  /** The runs whose final states it reads, by {@link runId}. */
  runs: string[];
}

/** Trains epochs [from, to) of a path, starting from `parent`'s state (null: a fresh init). */
export interface TrainJob {
  kind: "train";
  /** The state it produces: `stateId(base, phases, to)`. */
  id: string;
  base: Json;
  epochs: number;
  /** The path's phases restricted to [0, to). */
  phases: Phase[];
  from: number;
  to: number;
  /** State id at `from`, or null when `from` is 0. */
  parent: string | null;
  /** Batch-gradient evaluations (SGD step 1, SAM step 2). */
  cost: number;
}

/** Measures `spec` on the given states. */
export interface MeasureJob {
  kind: "measure";
  /** `sha256({ spec, inputs })`. */
  id: string;
  spec: Json;
  /** State ids read, in order. */
  inputs: string[];
  /** Estimated batch-gradient evaluations. */
  cost: number;
}

/** A job of a plan. */
export type Job = TrainJob | MeasureJob;

/** A planned sweep. */
export interface Plan {
  /** Jobs in a dependency-respecting order (parents and inputs first). */
  jobs: Job[];
  /** Run id (= id of its final state) per requested run, in request order. */
  runs: string[];
  /** Measure job id per requested measurement, in request order. */
  measures: string[];
  /** Batch-gradient evaluations of all jobs. */
  cost: number;
  /** What the same runs would cost trained independently from scratch (plus measurements). */
  independentCost: number;
}

/**
 * The most epochs of all runs together that a plan enumerates (it names a state after every
 * epoch of every run): far above any sweep of the paper (fig. 3 at paper scale: 5 seeds × 21
 * runs × 200 epochs = 21,000), far below what would take minutes to enumerate.
 */
export const MAX_PLAN_EPOCHS = 1_000_000;

/** The most optimizer steps (epochs × steps per epoch) one run of a plan may take. */
export const MAX_RUN_STEPS = 1e10;

/** A plan too large to enumerate or to ever finish; the message names the field. */
export class PlanSizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanSizeError";
  }
}

/**
 * Refuses absurd sizes before anything is enumerated: every run's `epochs` a positive integer,
 * all runs' epochs together at most {@link MAX_PLAN_EPOCHS}, and each run's epochs × steps per
 * epoch at most {@link MAX_RUN_STEPS}.
 *
 * @throws {PlanSizeError} naming `epochs` and the bound.
 */
export function checkPlanSize(runs: readonly RunRequest[], cost: CostModel): void {
  for (const [i, r] of runs.entries()) {
    if (!Number.isSafeInteger(r.epochs) || r.epochs < 1) {
      throw new PlanSizeError(`run ${i}: epochs must be a positive integer, got ${r.epochs}`);
    }
  }
  const total = runs.reduce((sum, r) => sum + r.epochs, 0);
  if (total > MAX_PLAN_EPOCHS) {
    const most = Math.max(...runs.map((r) => r.epochs));
    throw new PlanSizeError(
      `epochs ${most}: the plan's ${runs.length} runs would have ${total} epochs, more than ` +
        `the ${MAX_PLAN_EPOCHS} a plan may enumerate; lower --epochs`,
    );
  }
  for (const [i, r] of runs.entries()) {
    const perEpoch = cost.stepsPerEpoch(r.base);
    if (r.epochs * perEpoch > MAX_RUN_STEPS) {
      throw new PlanSizeError(
        `run ${i}: epochs ${r.epochs} × ${perEpoch} steps per epoch is more than the ` +
          `${MAX_RUN_STEPS} optimizer steps a run may take; lower --epochs`,
      );
    }
  }
}

/** How the plan prices work; supplied by the experiment, which knows the data and models. */
export interface CostModel {
  /** Optimizer steps per epoch of a run with this base config. */
  stepsPerEpoch(base: Json): number;
  /**
   * Batch-gradient evaluations of one optimizer step of a run with this base config
   * (default: 1 for SGD, 2 for the SAM family and for `at`; an adversarial step also pays
   * for its attack, which only the experiment knows).
   */
  passes?(optimizer: Phase["optimizer"], base: Json): number;
  /** Extra batch-gradient evaluations after epoch `epoch` (e.g. a robust evaluation). */
  epochCost?(base: Json, epoch: number, epochs: number): number;
  /** Estimated batch-gradient evaluations of a measurement. */
  measureCost?(spec: Json): number;
}

/**
 * The phases restricted to epochs [0, epoch), adjacent phases with the same optimizer merged
 * (so `sgd:5,sgd:5` and `sgd:10` name the same states).
 */
export function truncatePhases(phases: readonly Phase[], epoch: number): Phase[] {
  const out: Phase[] = [];
  for (const p of phases) {
    if (p.from >= epoch || p.to <= p.from) continue;
    const to = Math.min(p.to, epoch);
    const last = out[out.length - 1];
    if (last && last.optimizer === p.optimizer && last.to === p.from) last.to = to;
    else out.push({ optimizer: p.optimizer, from: p.from, to });
  }
  return out;
}

/**
 * The content address of a run's state after `epoch` epochs. It depends on the base config
 * and the phases of epochs [0, epoch) only, so runs that agree so far share it.
 */
export function stateId(base: Json, phases: readonly Phase[], epoch: number): string {
  const prefix = truncatePhases(phases, epoch) as unknown as Json;
  return configHash({ kind: "late-sam/state/v1", base, epoch, phases: prefix });
}

/** The id of a run: the id of its final state. */
export function runId(run: RunRequest): string {
  return stateId(run.base, run.phases, run.epochs);
}

/** The id of a measurement on the given states. */
export function measureId(spec: Json, inputs: readonly string[]): string {
  return configHash({ kind: "late-sam/measure/v1", spec, inputs: [...inputs] });
}

const defaultPasses = (optimizer: Phase["optimizer"]) => (optimizer === "sgd" ? 1 : 2);

function segmentCost(
  run: { base: Json; epochs: number; phases: readonly Phase[] },
  from: number,
  to: number,
  cost: CostModel,
) {
  const perStep = cost.stepsPerEpoch(run.base);
  let total = 0;
  for (const p of run.phases) {
    const overlap = Math.min(p.to, to) - Math.max(p.from, from);
    const passes = cost.passes?.(p.optimizer, run.base) ?? defaultPasses(p.optimizer);
    if (overlap > 0) total += overlap * perStep * passes;
  }
  if (cost.epochCost) {
    for (let e = from; e < to; e++) total += cost.epochCost(run.base, e, run.epochs);
  }
  return total;
}

/**
 * Expands runs and measurements into jobs with shared prefixes.
 *
 * Within each group of runs with the same base config, epoch e is a cut point of a run when
 * some other run shares its state after e but not after e + 1, or when e = T. Each run is cut
 * at its cut points into segments; a segment is a {@link TrainJob} named by the state at its
 * end, so a segment shared by several runs appears once.
 *
 * @throws {PlanSizeError} when the runs are too large to enumerate ({@link checkPlanSize}).
 * @throws {Error} when a run's phases do not tile [0, T), or a measurement names an unknown run.
 */
export function planSweep(
  requests: { runs: readonly RunRequest[]; measures?: readonly MeasureRequest[] },
  cost: CostModel,
): Plan {
  const runs = requests.runs;
  checkPlanSize(runs, cost);
  runs.forEach((r, i) => {
    try {
      checkPhases(r.phases, r.epochs);
    } catch (err) {
      throw new Error(`run ${i}: ${(err as Error).message}`);
    }
  });
  // State ids of every run after every epoch 1..T (index e holds the state after e epochs).
  const ids = runs.map((r) => {
    const out: string[] = [""];
    for (let e = 1; e <= r.epochs; e++) out.push(stateId(r.base, r.phases, e));
    return out;
  });
  // The successors each state has among all runs: a state with two is a branch point.
  const successors = new Map<string, Set<string>>();
  runs.forEach((r, i) => {
    for (let e = 1; e < r.epochs; e++) {
      const set = successors.get(ids[i][e]) ?? new Set<string>();
      set.add(ids[i][e + 1]);
      successors.set(ids[i][e], set);
    }
  });
  const jobs = new Map<string, Job>();
  const order: Job[] = [];
  runs.forEach((r, i) => {
    let from = 0;
    let parent: string | null = null;
    for (let e = 1; e <= r.epochs; e++) {
      const id = ids[i][e];
      const cut = e === r.epochs || (successors.get(id)?.size ?? 0) > 1;
      if (!cut) continue;
      if (!jobs.has(id)) {
        const job: TrainJob = {
          kind: "train",
          id,
          base: r.base,
          epochs: r.epochs,
          phases: truncatePhases(r.phases, e),
          from,
          to: e,
          parent,
          cost: segmentCost(r, from, e, cost),
        };
        jobs.set(id, job);
        order.push(job);
      }
      from = e;
      parent = id;
    }
  });
  const runIds = runs.map((_, i) => ids[i][runs[i].epochs]);
  const known = new Set(runIds);
  const measures = (requests.measures ?? []).map((m, i) => {
    for (const r of m.runs) {
      if (!known.has(r)) throw new Error(`measurement ${i} reads unknown run ${r.slice(0, 12)}`);
    }
    const id = measureId(m.spec, m.runs);
    if (!jobs.has(id)) {
      const job: MeasureJob = {
        kind: "measure",
        id,
        spec: m.spec,
        inputs: [...m.runs],
        cost: cost.measureCost?.(m.spec) ?? 0,
      };
      jobs.set(id, job);
      order.push(job);
    }
    return id;
  });
  const independentCost = runs.reduce(
    (sum, r) => sum + segmentCost(r, 0, r.epochs, cost),
    0,
  ) + order.filter((j) => j.kind === "measure").reduce((s, j) => s + j.cost, 0);
  return {
    jobs: order,
    runs: runIds,
    measures,
    cost: order.reduce((s, j) => s + j.cost, 0),
    independentCost,
  };
}

/** The ids a job needs finished before it can start. */
export function jobDependencies(job: Job): string[] {
  return job.kind === "train" ? (job.parent === null ? [] : [job.parent]) : job.inputs;
}

/**
 * The chain of train jobs that produces a state, from the first epoch on (for collecting a
 * run's per-epoch records).
 *
 * @throws {Error} when the plan does not produce `state`.
 */
export function trainChain(plan: Plan, state: string): TrainJob[] {
  const byId = new Map(plan.jobs.map((j) => [j.id, j]));
  const chain: TrainJob[] = [];
  let id: string | null = state;
  while (id !== null) {
    const job = byId.get(id);
    if (!job || job.kind !== "train") throw new Error(`plan has no train job for state ${id}`);
    chain.unshift(job);
    id = job.parent;
  }
  return chain;
}
