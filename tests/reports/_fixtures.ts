/**
 * Small synthetic result folders for the report tests, written with the real
 * `storeFigure` (so they have the exact layout and manifest a figure task writes).
 */
import { join } from "node:path";
import type { Json } from "../../core/config.ts";
import { configHash } from "../../core/config.ts";
import { storeFigure } from "../../core/figure.ts";
import type { ChartSpec } from "../../core/render.ts";
import { toCsv } from "../../core/csv.ts";

/** A two-layer line chart of `points` (proportion → value). */
export function lineChart(title: string, points: { x: number; y: number }[]): ChartSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, subtitle: ["synthetic test data"] },
    width: 200,
    height: 120,
    data: { values: points },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "x", type: "quantitative" },
      y: { field: "y", type: "quantitative" },
    },
  } as ChartSpec;
}

/** Options of {@link writeFigure}. */
export interface FixtureFigure {
  root: string;
  name: string;
  scale: string;
  config?: Record<string, Json>;
  summary?: Record<string, Json>;
  csv?: string;
  chart?: ChartSpec;
  datasets?: Record<string, string>;
}

/** Writes one figure folder `<root>/<name>/` and returns it. */
export async function writeFigure(f: FixtureFigure): Promise<string> {
  const config = f.config ?? { seeds: [0, 1], epochs: 4, model: "cnn", dataset: "fashion-mnist" };
  const dir = join(f.root, f.name);
  await storeFigure({
    dir,
    name: f.name,
    scale: f.scale,
    config,
    configHash: configHash(config),
    codeHash: "c".repeat(64),
    seeds: { roots: [0, 1], streams: { init: "<seed>:init" } },
    backend: "wasm",
    table: f.csv ?? toCsv(["kind", "x", "y", "run"], [
      { kind: "run", x: 0, y: 1, run: "a".repeat(64) },
      { kind: "run", x: 1, y: 2, run: "b".repeat(64) },
      { kind: "mean", x: 0.5, y: 1.2345678 },
      { kind: "fit", x: 1, y: 3 },
    ]),
    chart: f.chart ?? lineChart(`${f.name} (${f.scale})`, [{ x: 0, y: 1 }, { x: 1, y: 2 }]),
    datasets: f.datasets,
    summary: f.summary ?? {
      finalTestError: { SGD: 24.4140625, SAM: 25.1 },
      perProportion: [{ proportion: 0, gap: 0.5 }, { proportion: 1, gap: 0 }],
      gradientEvaluations: { planned: 224, independent: 272, spent: 100, savedFraction: 0.1765 },
      runs: [{ id: "a".repeat(64), seed: 0, epochs: 4, phases: "sgd:3,sam:1" }],
    },
    startedAt: new Date("2026-01-02T03:04:05.000Z"),
    wallSeconds: 12.5,
  });
  return dir;
}
