/**
 * Executes any sweep job against the store: a train job trains a segment of a run
 * (`runs.ts`), a measurement job loads its input states and calls the measurement its spec
 * names in an explicit registry (by default {@link MEASURES}).
 *
 * @module
 */
import { parseConfig } from "../core/config.ts";
import type { Job, MeasureJob } from "../core/sweep/plan.ts";
import { disposeRun, loadRun } from "../core/train.ts";
import { type MeasureInput, type MeasureRegistry, MEASURES } from "./measures.ts";
import { measureKind } from "./measure_specs.ts";
import { executeTrainJob, type JobEnv, prepareRun } from "./runs.ts";
import { seededSettingsSchema } from "./run_settings.ts";

/**
 * Loads a measurement's input states, runs the measurement `measures[spec.kind]`, and stores
 * its result.
 */
export async function executeMeasureJob(
  job: MeasureJob,
  env: JobEnv,
  measures: MeasureRegistry = MEASURES,
): Promise<void> {
  const t0 = performance.now();
  const measure = measures[measureKind(job.spec, Object.keys(measures))];
  const inputs: MeasureInput[] = [];
  try {
    for (const id of job.inputs) {
      const record = await env.store.readState(id);
      if (!record) throw new Error(`input state ${id.slice(0, 12)} is not in the store`);
      const base = parseConfig(seededSettingsSchema, record.job.base);
      const prepared = await prepareRun(base, env.dataDir);
      const { run } = await loadRun(env.store.checkpointPath(id), prepared.model);
      inputs.push({ run, base, prepared });
    }
    // Progress: what the measurement reports, topped up to its estimated cost at the end.
    let ticked = 0;
    const tick = (units: number) => {
      ticked += units;
      env.tick?.(units);
    };
    const result = await measure(job.spec, inputs, { ...env, tick });
    if (ticked < job.cost) env.tick?.(job.cost - ticked);
    await env.store.writeMeasure(job, result, (performance.now() - t0) / 1000);
  } finally {
    for (const input of inputs) disposeRun(input.run);
  }
}

/** Runs any sweep job: train jobs train, measurement jobs measure with `measures`. */
export function executeJob(
  job: Job,
  env: JobEnv,
  measures: MeasureRegistry = MEASURES,
): Promise<void> {
  return job.kind === "train" ? executeTrainJob(job, env) : executeMeasureJob(job, env, measures);
}
