/**
 * The shared life cycle of a figure task: parse and validate the command line, reuse a
 * completed result with the same config hash, compute, write the five files of the result
 * store atomically (manifest last), and print where they went.
 *
 * An experiment script supplies only what is specific to its figure: the schema and named
 * configs, the computation, and how a result becomes a table, a chart and a summary.
 *
 * @module
 */
import type { z } from "zod";
import { type FigureCliSpec, parseFigureArgs } from "./cli.ts";
import { configHash, type Json } from "./config.ts";
import { collectEnvironment, type Manifest, manifestJson, sourceHash } from "./provenance.ts";
import { type ChartSpec, renderChart } from "./render.ts";
import { figureDir, isComplete, MANIFEST_FILE, writeFileAtomic, writeOutputs } from "./store.ts";
import { join } from "node:path";

/** Everything a figure script defines; see {@link runFigure}. */
export interface FigureDefinition<S extends z.ZodObject, R> extends FigureCliSpec<S> {
  /** The compute backend the figure runs on, as recorded in the manifest. */
  backend: string;
  /** The root seeds and the derivation of every stream, for the manifest. */
  seeds(config: z.output<S>): Json;
  /** Runs the experiment. */
  compute(config: z.output<S>, context: FigureContext): Promise<R>;
  /** The figure's numbers as CSV text. */
  table(result: R, config: z.output<S>): string;
  /** The figure's Vega-Lite spec, data inlined. */
  chart(result: R, config: z.output<S>): ChartSpec;
  /** Headline numbers for the manifest and the console. */
  summary(result: R, config: z.output<S>): Record<string, Json>;
  /** Extra files to store beside the five standard ones (e.g. a final checkpoint). */
  files?(result: R): Record<string, Uint8Array | string>;
  /** sha256 per dataset file the result was computed from. */
  datasets?(result: R): Record<string, string>;
  /** The backend actually used, when it depends on the config (default: `backend`). */
  backendOf?(config: z.output<S>): string;
}

/** What a computation may know about where it runs. */
export interface FigureContext {
  /** The figure's result folder (for checkpoints to resume from). */
  dir: string;
  configHash: string;
  codeHash: string;
  /** Values of the script's run flags. */
  run: Record<string, string | undefined>;
}

/**
 * A computation that stopped on purpose before the end (e.g. `--stop-after`), leaving a
 * checkpoint to resume from: no outputs are written, and the command exits 0.
 */
export class RunPaused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunPaused";
  }
}

/** What {@link runFigure} did. */
export interface FigureOutcome {
  dir: string;
  configHash: string;
  reused: boolean;
  manifest: Manifest | null;
}

/**
 * Runs a figure task end to end from its command-line arguments.
 *
 * @returns `null` when `--help` was printed, otherwise where the result is and whether an
 *   existing complete result was reused.
 */
export async function runFigure<S extends z.ZodObject, R>(
  def: FigureDefinition<S, R>,
  args: string[],
): Promise<FigureOutcome | null> {
  const parsed = parseFigureArgs(def, args);
  if ("help" in parsed) {
    console.log(parsed.help);
    return null;
  }
  const { config, scale } = parsed;
  const hash = configHash(config);
  const dir = figureDir(parsed.out, def.name);
  const codeHash = await sourceHash();
  if (!parsed.force && (await isComplete(dir, { configHash: hash, codeHash }))) {
    const id = hash.slice(0, 12);
    console.log(`${def.name}: reusing ${dir} (config ${id}, same code; --force recomputes)`);
    return { dir, configHash: hash, reused: true, manifest: null };
  }
  const backend = def.backendOf?.(config) ?? def.backend;
  console.error(`${def.name}: scale ${scale}, config ${hash.slice(0, 12)}, backend ${backend}`);
  const startedAt = new Date();
  const t0 = performance.now();
  await Deno.mkdir(dir, { recursive: true });
  const result = await def.compute(config, { dir, configHash: hash, codeHash, run: parsed.run });
  const wallSeconds = (performance.now() - t0) / 1000;
  const spec = def.chart(result, config);
  const { svg, png } = await renderChart(spec);
  // The old manifest goes first: until the new one is written the folder reads as incomplete.
  await Deno.remove(join(dir, MANIFEST_FILE)).catch(() => {});
  const outputs = await writeOutputs(dir, {
    "data.csv": def.table(result, config),
    "spec.vl.json": `${JSON.stringify(spec, null, 2)}\n`,
    "figure.svg": svg,
    "figure.png": png,
    ...def.files?.(result),
  });
  const summary = def.summary(result, config);
  const manifest: Manifest = {
    figure: def.name,
    scale,
    config: config as Json,
    configHash: hash,
    codeHash,
    seeds: def.seeds(config),
    backend,
    environment: await collectEnvironment(),
    datasets: def.datasets?.(result) ?? {},
    startedAt: startedAt.toISOString(),
    wallSeconds: Math.round(wallSeconds * 1000) / 1000,
    outputs,
    summary,
  };
  await writeFileAtomic(join(dir, MANIFEST_FILE), manifestJson(manifest));
  console.log(`${def.name}: wrote ${dir}/ in ${wallSeconds.toFixed(1)} s`);
  for (const [key, value] of Object.entries(summary)) {
    console.log(`  ${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  return { dir, configHash: hash, reused: false, manifest };
}
