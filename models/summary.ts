/**
 * `deno task models`: prints every registered model's parameter count for a dataset's input
 * shape and number of classes. Counts come from the model specs, so nothing is initialized.
 *
 *     deno task models [--dataset fashion-mnist|mnist|cifar10|cifar100]
 *
 * Exit codes: 0 on success, 2 on a bad command line.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { ModelOptions } from "../core/model.ts";
import { createModel, MODEL_NAMES, modelParameterCount } from "./registry.ts";
import { specSize } from "./layers.ts";

/** Input shapes and class counts of the datasets the summary knows. */
export const SUMMARY_DATASETS: Record<string, ModelOptions> = {
  "fashion-mnist": { inputShape: [28, 28, 1], numClasses: 10 },
  mnist: { inputShape: [28, 28, 1], numClasses: 10 },
  cifar10: { inputShape: [32, 32, 3], numClasses: 10 },
  cifar100: { inputShape: [32, 32, 3], numClasses: 100 },
};

const USAGE = `Usage: deno task models [--dataset NAME]

Prints the number of trainable parameters (and BatchNorm running-statistic scalars) of every
registered model for a dataset's input shape and number of classes.

Options:
  --dataset NAME   one of ${Object.keys(SUMMARY_DATASETS).join(", ")} (default cifar10)
  -h, --help       show this help`;

/** The summary table for one dataset, as text lines. */
export function summaryTable(dataset: string): string[] {
  const options = SUMMARY_DATASETS[dataset];
  if (!options) throw new Error(`unknown dataset "${dataset}"`);
  const notes: string[] = [];
  const rows = MODEL_NAMES.map((name) => {
    let model;
    try {
      model = createModel(name, options);
    } catch (err) {
      // A model that cannot take this input (VGG needs at least 32×32 for its five pools).
      notes.push((err as Error).message);
      return [name, "n/a", "n/a"];
    }
    return [
      name,
      modelParameterCount(model).toLocaleString("en-US"),
      specSize(model.spec.state).toLocaleString("en-US"),
    ];
  });
  const header = ["model", "parameters", "bn state"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const [h, w, c] = options.inputShape;
  return [
    `dataset ${dataset}: input ${h}x${w}x${c}, ${options.numClasses} classes`,
    line(header),
    line(widths.map((n) => "-".repeat(n))),
    ...rows.map(line),
    ...notes.map((n) => `n/a — ${n}`),
  ];
}

/** Runs the command line; returns the exit code. */
export function main(args: string[]): number {
  let values: { dataset?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { dataset: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`models: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dataset = values.dataset ?? "cifar10";
  if (!(dataset in SUMMARY_DATASETS)) {
    console.error(
      `models: unknown dataset "${dataset}"; choose one of ${
        Object.keys(SUMMARY_DATASETS).join(", ")
      }`,
    );
    return 2;
  }
  console.log(summaryTable(dataset).join("\n"));
  return 0;
}

if (import.meta.main) Deno.exit(main(Deno.args));
