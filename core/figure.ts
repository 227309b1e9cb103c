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
import {
  CliError,
  type FigureCliSpec,
  type FlagValues,
  parseFigureArgs,
  type RunFlags,
} from "./cli.ts";
import { nativeDescription } from "./backend.ts";
import { configHash, type Json } from "./config.ts";
import { collectEnvironment, type Manifest, manifestJson, sourceHash } from "./provenance.ts";
import { type ChartSpec, renderChart } from "./render.ts";
import { writeFileAtomic } from "./atomic.ts";
import { fileSha256 } from "./hash.ts";
import { figureDir, isComplete, MANIFEST_FILE, writeOutputs } from "./store.ts";
import { join } from "node:path";

/**
 * Everything a figure script defines; see {@link runFigure}. `F` types its run flags, so
 * `compute` reads them typed (`context.flags.dryRun: boolean`).
 */
export interface FigureDefinition<S extends z.ZodObject, R, F extends RunFlags = RunFlags>
  extends FigureCliSpec<S> {
  runFlags?: F;
  /** The compute backend the figure runs on, as recorded in the manifest. */
  backend: string;
  /** The root seeds and the derivation of every stream, for the manifest. */
  seeds(config: z.output<S>): Json;
  /** Runs the experiment. */
  compute(config: z.output<S>, context: FigureContext<F>): Promise<R>;
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
  /**
   * Files the result is computed from (e.g. checkpoints), by name → path. Their sha256 go
   * into the manifest (`inputs`) and into the reuse check (`inputsHash`), so a file changed
   * at the same path is recomputed rather than served stale.
   */
  inputFiles?(config: z.output<S>): Record<string, string>;
}

/** A file a figure is computed from, as recorded in its manifest. */
export interface InputFile {
  path: string;
  sha256: string;
}

/**
 * Hashes a figure's input files (name → path).
 *
 * @throws {CliError} naming the file when one cannot be read.
 */
export async function hashInputFiles(
  files: Record<string, string>,
): Promise<Record<string, InputFile>> {
  const out: Record<string, InputFile> = {};
  for (const [name, path] of Object.entries(files)) {
    try {
      out[name] = { path, sha256: await fileSha256(path) };
    } catch (err) {
      throw new CliError(`cannot read ${name} ${path}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** What a computation may know about where it runs. */
export interface FigureContext<F extends RunFlags = RunFlags> {
  /** The result store root (`--out`), shared by every figure. */
  out: string;
  /** The named config the run started from (`--scale`). */
  scale: string;
  /** The figure's result folder (for checkpoints to resume from). */
  dir: string;
  configHash: string;
  codeHash: string;
  /** The script's run flags, parsed and typed (`flags.dryRun`, `flags.dataDir`). */
  flags: FlagValues<F>;
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
export async function runFigure<S extends z.ZodObject, R, F extends RunFlags>(
  def: FigureDefinition<S, R, F>,
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
  const inputs = def.inputFiles ? await hashInputFiles(def.inputFiles(config)) : undefined;
  const inputsHash = inputs ? configHash(inputs) : undefined;
  const expect = { configHash: hash, codeHash, ...(inputsHash ? { inputsHash } : {}) };
  if (!parsed.force && (await isComplete(dir, expect))) {
    const id = hash.slice(0, 12);
    console.log(`${def.name}: reusing ${dir} (config ${id}, same code; --force recomputes)`);
    return { dir, configHash: hash, reused: true, manifest: null };
  }
  const backend = def.backendOf?.(config) ?? def.backend;
  console.error(`${def.name}: scale ${scale}, config ${hash.slice(0, 12)}, backend ${backend}`);
  const startedAt = new Date();
  const t0 = performance.now();
  await Deno.mkdir(dir, { recursive: true });
  const result = await def.compute(config, {
    out: parsed.out,
    scale,
    dir,
    configHash: hash,
    codeHash,
    flags: parsed.flags as FlagValues<F>,
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  const summary = def.summary(result, config);
  const manifest = await storeFigure({
    dir,
    name: def.name,
    scale,
    config: config as Json,
    configHash: hash,
    codeHash,
    seeds: def.seeds(config),
    backend,
    table: def.table(result, config),
    chart: def.chart(result, config),
    files: def.files?.(result),
    datasets: def.datasets?.(result),
    inputs,
    summary,
    startedAt,
    wallSeconds,
  });
  console.log(`${def.name}: wrote ${dir}/ in ${wallSeconds.toFixed(1)} s`);
  for (const [key, value] of Object.entries(summary)) {
    console.log(`  ${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  return { dir, configHash: hash, reused: false, manifest };
}

/** Everything {@link storeFigure} writes into a figure folder. */
export interface StoredFigure {
  dir: string;
  name: string;
  scale: string;
  config: Json;
  configHash: string;
  codeHash: string;
  seeds: Json;
  backend: string;
  /** `data.csv` text. */
  table: string;
  /** The Vega-Lite spec (rendered to `figure.svg` and `figure.png`). */
  chart: ChartSpec;
  /** Extra files beside the standard ones. */
  files?: Record<string, Uint8Array | string>;
  datasets?: Record<string, string>;
  /** Input files (path and sha256), e.g. checkpoints; recorded with their combined hash. */
  inputs?: Record<string, InputFile>;
  summary: Record<string, Json>;
  startedAt: Date;
  wallSeconds: number;
}

/**
 * Writes one figure folder of the result store: renders the chart, writes `data.csv`,
 * `spec.vl.json`, `figure.svg`, `figure.png` and any extra files atomically, then the manifest
 * last (the old manifest is removed first, so an interrupted write reads as incomplete).
 * For tasks that produce several figures from one computation.
 */
export async function storeFigure(figure: StoredFigure): Promise<Manifest> {
  const { dir } = figure;
  const { svg, png } = await renderChart(figure.chart);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.remove(join(dir, MANIFEST_FILE)).catch(() => {});
  const outputs = await writeOutputs(dir, {
    "data.csv": figure.table,
    "spec.vl.json": `${JSON.stringify(figure.chart, null, 2)}\n`,
    "figure.svg": svg,
    "figure.png": png,
    ...figure.files,
  });
  const manifest: Manifest = {
    figure: figure.name,
    scale: figure.scale,
    config: figure.config,
    configHash: figure.configHash,
    codeHash: figure.codeHash,
    seeds: figure.seeds,
    backend: figure.backend,
    ...(figure.backend === "native" ? { native: nativeDescription() ?? undefined } : {}),
    environment: await collectEnvironment(),
    datasets: figure.datasets ?? {},
    ...(figure.inputs ? { inputs: figure.inputs, inputsHash: configHash(figure.inputs) } : {}),
    startedAt: figure.startedAt.toISOString(),
    wallSeconds: Math.round(figure.wallSeconds * 1000) / 1000,
    outputs,
    summary: figure.summary,
  };
  await writeFileAtomic(join(dir, MANIFEST_FILE), manifestJson(manifest));
  return manifest;
}
