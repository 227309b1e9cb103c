/**
 * The AT table (docs/paper.md#figures-and-tables, inferred content): standard training (ST), full adversarial
 * training (AT) and ST→AT at a few late switch epochs, with clean and robust (PGD) test
 * accuracy (mean ± std over seeds), the robust gap to full AT (seed-paired mean with its 95 %
 * t-interval) and the share of full AT's robustness gain over ST (Fieller's 95 % interval), as
 * `data.csv` and as a rendered table (docs/statistics.md).
 *
 *     deno task table-at [--scale smoke|small|paper] [--workers N] [--shard i/n] [--dry-run]
 *                        [--FIELD VALUE ...]
 *
 * Its runs are a subset of Figure 6's at the same scale (same settings, seeds and T), so
 * after `deno task fig6` the table is read from the sweep store without training.
 *
 * @module
 */
import { runMain } from "../core/cli.ts";
import { runFigure } from "../core/figure.ts";
import type { ChartSpec } from "../core/render.ts";
import {
  atPaired,
  type AtResult,
  atScales,
  atSetupText,
  atSummary,
  type AtSweepConfig,
  atTask,
} from "./adversarial_switch.ts";
import { formatInterval } from "./paired.ts";

/** Named configs of the AT table: every scale's AT settings with its late switch epochs. */
export const TABLE_AT_SCALES: Record<string, AtSweepConfig> = atScales((s) => s.tableSwitches);

/** The table's columns, in order. */
export const TABLE_AT_COLUMNS = [
  "AT epochs",
  "clean acc. (%)",
  "robust acc. (%)",
  "robust gap to full AT (pp) [95 % CI]",
  "share of full AT's robust gain [95 % CI]",
] as const;

const pm = (s: { mean: number; std: number }, digits = 2) =>
  `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;

/** The table's cells: rows ST, ST→AT from the latest to the earliest switch, full AT. */
export function tableAtCells(result: AtResult, config: AtSweepConfig) {
  const rows = atSummary(result, config.epochs).sort((a, b) => b.switchEpoch - a.switchEpoch);
  const paired = atPaired(result, config.epochs);
  const stat = (t: number, quantity: string) =>
    paired.find((p) => p.switchEpoch === t)?.stats.find((s) => s.quantity === quantity);
  const shown = (t: number, quantity: string, digits: number) => {
    const s = stat(t, quantity);
    return s ? formatInterval(s, (x) => x.toFixed(digits)) : "—";
  };
  const cells = rows.flatMap((s) => {
    const values = [
      `${s.atEpochs} of ${config.epochs}`,
      pm(s.cleanAcc),
      pm(s.robustAcc),
      shown(s.switchEpoch, "robust_gap", 2),
      shown(s.switchEpoch, "robust_recovered", 2),
    ];
    return TABLE_AT_COLUMNS.map((column, i) => ({ row: s.label, column, value: values[i] }));
  });
  return { rows: rows.map((s) => s.label), cells };
}

/** The table as a Vega-Lite text chart (one text mark per cell, headers as axes). */
export function tableAtChart(result: AtResult, config: AtSweepConfig): ChartSpec {
  const { rows, cells } = tableAtCells(result, config);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "Table: clean and robust accuracy of ST, late ST→AT and full AT",
      subtitle: [
        atSetupText(config),
        `accuracies: mean ± std over ${config.seeds.length} seeds; robust gap = full AT's ` +
        "robust accuracy − the run's, seed-paired, with its 95 % t-interval " +
        `(${config.seeds.length - 1} df); share = (r − r_ST)/(r_AT − r_ST) with Fieller's 95 % ` +
        "interval (∞: ST and full AT not separated)",
      ],
      anchor: "start",
    },
    data: { values: cells },
    width: { step: 200 },
    height: { step: 26 },
    mark: { type: "text", fontSize: 12 },
    encoding: {
      x: {
        field: "column",
        type: "ordinal",
        sort: [...TABLE_AT_COLUMNS],
        axis: {
          orient: "top",
          title: null,
          labelAngle: 0,
          labelLimit: 400,
          ticks: false,
          domain: false,
        },
      },
      y: {
        field: "row",
        type: "ordinal",
        sort: rows,
        axis: { title: null, ticks: false, domain: false, labelFontWeight: "bold" },
      },
      text: { field: "value", type: "nominal" },
    },
    config: { view: { stroke: "#cccccc" }, title: { subtitleFontSize: 11 } },
  } as ChartSpec;
}

/** The AT table task. */
export const tableAtTask = atTask({
  name: "table-at",
  description: "The AT table: clean and robust (PGD) test accuracy of standard training, full " +
    "adversarial training and ST→AT at a few late switch epochs, mean ± std over seeds, with " +
    "the seed-paired robust gap and share of full AT's gain (95 % intervals), as " +
    "data.csv and a rendered table. Its runs are Figure 6's (shared sweep store, <out>/sweep/).",
  scales: TABLE_AT_SCALES,
  chart: tableAtChart,
});

if (import.meta.main) await runMain(() => runFigure(tableAtTask, Deno.args).then(() => {}));
