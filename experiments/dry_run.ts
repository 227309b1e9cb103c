/**
 * A sweep's dry run: the plan as text (runs, jobs, gradient evaluations saved by branching)
 * and a time estimate from one timed training step per distinct model setting.
 *
 * @module
 */
import { parseConfig } from "../core/config.ts";
import { formatDuration } from "../core/progress.ts";
import { criticalPathCost, jobGroups, type Plan } from "../core/sweep/mod.ts";
import { type SeededSettings, seededSettingsSchema } from "./run_settings.ts";
import { measureStepSeconds } from "./step_estimate.ts";

/** A count with thousands separators. */
export const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const settingsKey = (b: SeededSettings) =>
  JSON.stringify([b.model, b.dataset, b.backend, b.batchSize]);

/** The plan as text: runs, jobs, costs, and a time estimate per distinct model setting. */
export async function describePlan(
  plan: Plan,
  options: { label: string; workers: number; estimate?: boolean },
): Promise<string[]> {
  const train = plan.jobs.filter((j) => j.kind === "train");
  const saved = 1 - plan.cost / plan.independentCost;
  const lines = [
    `${options.label}: ${plan.runs.length} runs in ${jobGroups(plan.jobs).length} groups → ` +
    `${train.length} train jobs + ${plan.jobs.length - train.length} measurements`,
    `  gradient evaluations (mini-batches): ${fmt(plan.cost)} planned, ` +
    `${fmt(plan.independentCost)} if every run trained from scratch (${
      (100 * saved).toFixed(1)
    }% saved by branching)`,
  ];
  if (options.estimate === false) return lines;
  // One timing per distinct (model, dataset, backend, batch) among the train jobs.
  const settings = new Map<string, SeededSettings>();
  for (const job of train) {
    const base = parseConfig(seededSettingsSchema, job.base);
    settings.set(settingsKey(base), base);
  }
  let seconds = 0;
  let critical = 0;
  for (const [key, base] of settings) {
    const mine = train.filter((j) => settingsKey(j.base as SeededSettings) === key);
    const cost = mine.reduce((s, j) => s + j.cost, 0);
    const what = `${base.model} on ${base.dataset}, batch ${base.batchSize}`;
    const step = await measureStepSeconds(base).catch((err: Error) => err);
    if (typeof step === "number") {
      seconds += cost * step;
      critical = Math.max(critical, criticalPathCost(mine) * step);
      lines.push(
        `  ${what}, ${base.backend}: one step ≈ ${step.toFixed(3)} s here (timed now) → ` +
          formatDuration(cost * step),
      );
      continue;
    }
    // The chosen backend cannot run here (e.g. a GPU backend): time the wasm backend instead.
    lines.push(`  ${what}, ${base.backend}: cannot time here (${step.message.split(". ")[0]})`);
    const wasm = await measureStepSeconds({ ...base, backend: "wasm" }).catch(() => null);
    if (wasm !== null) {
      lines.push(
        `    on wasm here one step ≈ ${wasm.toFixed(3)} s (timed now) → ${
          formatDuration(cost * wasm)
        } of compute; a GPU backend is needed for this scale`,
      );
    }
  }
  const measureCost = plan.jobs.filter((j) => j.kind === "measure").reduce((s, j) => s + j.cost, 0);
  if (seconds > 0) {
    const wall = Math.max(seconds / options.workers, critical);
    lines.push(
      `  estimated training time: ${formatDuration(seconds)} of compute, ≈ ${
        formatDuration(wall)
      } with ${options.workers} workers; measurements add ≈ ${
        fmt(measureCost)
      } gradient evaluations`,
    );
  }
  return lines;
}
