/**
 * The switching sweep as a task of its own, for questions beyond the paper: any optimizer
 * `first` on [0, t), any `then` on [t, T), drawn as a Figure 3-style panel (test-error gap to
 * the full `then` run, and λ_max, against `then`'s proportion (T − t)/T), with the same sweep
 * store, scales and provenance as the figures.
 *
 *     deno task switch --first sgd --then usam [--scale smoke|small|paper|…] [--switches 27,24]
 *                      [--workers N] [--shard i/n] [--dry-run] [--FIELD VALUE ...]
 *
 * Optimizers: sgd, sam, usam, asam (`core/optim/sam.ts`), and at (adversarial training, which
 * needs `--pgd.*` settings). Runs already in the store (e.g. Figure 3's, for sgd → sam) are
 * reused.
 *
 * @module
 */
import { z } from "zod";
import { runMain } from "../core/cli.ts";
import { runFigure } from "../core/figure.ts";
import { PHASE_OPTIMIZERS } from "../core/schedule.ts";
import { optimizerSwitchShape, optimizerSwitchTask } from "./optimizer_switch.ts";
import { lateSwitches, withSwitches } from "./switch_scales.ts";
import { OPTIMIZER_NAMES, optimizerSwitchChart } from "./switching_chart.ts";
import { switchesWithinT } from "./switching.ts";

/** Config of the switch task: an optimizer-switching config with its two optimizers. */
export const switchTaskSchema = switchesWithinT(z.strictObject({
  first: z.enum(PHASE_OPTIMIZERS).describe("optimizer of epochs [0, t): the trunk"),
  then: z.enum(PHASE_OPTIMIZERS).describe("optimizer of epochs [t, T): the tails"),
  ...optimizerSwitchShape,
})).refine((c) => c.first !== c.then, {
  message: "first and then must differ",
  path: ["then"],
}).refine((c) => (c.first !== "at" && c.then !== "at") || c.pgd !== undefined, {
  message: "adversarial training (at) needs a pgd attack (--pgd.*)",
  path: ["pgd"],
});

/** A validated switch-task config. */
export type SwitchTaskConfig = z.output<typeof switchTaskSchema>;

/** Named configs: Figure 3's scales, SGD → SAM by default. */
export const SWITCH_TASK_SCALES: Record<string, SwitchTaskConfig> = Object.fromEntries(
  Object.entries(
    withSwitches(lateSwitches),
  ).map(([name, config]) => [name, { first: "sgd", then: "sam", ...config }]),
);

/** The switch task. */
export const switchTask = optimizerSwitchTask({
  name: "switch",
  description: "Any optimizer switch (--first on [0, t), --then on [t, T)) as a Figure 3-style " +
    "panel: test-error gap to the full --then run and λ_max of the final model against the " +
    "--then proportion (T − t)/T, mean ± std over seeds. Runs branch from each seed's " +
    "full --first run and live in the shared sweep store (<out>/sweep/).",
  schema: switchTaskSchema,
  scales: SWITCH_TASK_SCALES,
  switching: (config) => ({ first: config.first, then: config.then, focus: "then" }),
  chart: (result, config) => {
    const [a, b] = [OPTIMIZER_NAMES[config.first], OPTIMIZER_NAMES[config.then]];
    return optimizerSwitchChart(
      result,
      config,
      `${a}→${b}: test-error gap to full ${b} and sharpness against the ${b} proportion`,
    );
  },
});

if (import.meta.main) await runMain(() => runFigure(switchTask, Deno.args).then(() => {}));
