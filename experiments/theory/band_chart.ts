/**
 * Two panels of P3's chart: the band of docs/paper.md#theory (exact growth of E[L̃] under SGD and USAM
 * across ‖H‖_F², with their lower bounds) and the distribution of the alignment γ.
 *
 * @module
 */
import type { Cell } from "../../core/csv.ts";
import type { Band } from "./band.ts";
import { fmt } from "../../core/format.ts";
import {
  chartTitle,
  type Fragment,
  nominalScale,
  OPTIMIZER_COLORS,
  quant,
  ruleLayer,
} from "../charts.ts";

type Row = Record<string, Cell>;

/** The band panel's four lines: exact growth and lower bound, for SGD and USAM. */
const SERIES = [
  { key: "sgd_growth", label: "SGD, exact", color: OPTIMIZER_COLORS.sgd, dash: [1, 0] },
  { key: "usam_growth", label: "USAM, exact", color: OPTIMIZER_COLORS.usam, dash: [1, 0] },
  { key: "sgd_bound", label: "SGD, lower bound", color: OPTIMIZER_COLORS.sgd, dash: [5, 3] },
  {
    key: "growth_bound",
    label: "USAM, lower bound C",
    color: OPTIMIZER_COLORS.usam,
    dash: [5, 3],
  },
];

/** The band panel: exact growth factors and their lower bounds across ‖H‖_F². */
export function bandPanel(rows: Row[], band: Band): Fragment {
  const labels = SERIES.map((s) => s.label);
  const legend = { title: "growth factor" };
  const sweep = rows.filter((r) => r.kind === "band_sweep");
  const long = sweep.flatMap((r) =>
    SERIES.map((s) => ({ frobenius2: r.frobenius2, growth: r[s.key], series: s.label }))
  );
  const log = { scale: { type: "log" } };
  const x = quant("frobenius2", "‖H‖_F²", log);
  const y = quant("growth", "per-step growth of E[L̃]", log);
  const edge = (name: string) => rows.find((r) => r.kind === "band_edge" && r.name === name);
  const { eta, rho, batch } = band.options;
  return {
    title: chartTitle(`The band at η = ${eta}, ρ = ${rho}, B = ${batch}`, [
      "shaded: minima SGD tolerates (exactly) that fail Thm 4.1",
      `USAM's bound ${fmt(band.usamMax)} · SGD's exact edge ${fmt(band.sgdExact)} · ` +
      `SGD's bound ${fmt(band.sgdMax)}`,
      "diamonds: the minimum built for P1 (SGD, USAM)",
    ], 460),
    width: 420,
    height: 240,
    layer: [
      {
        data: {
          values: [{ x0: edge("usam_bound")?.frobenius2, x1: edge("sgd_exact")?.frobenius2 }],
        },
        mark: { type: "rect", color: "#ffdd99", opacity: 0.5 },
        encoding: { x: quant("x0", undefined, log), x2: { field: "x1" } },
      },
      ruleLayer("y", [1], { color: "#999999" }),
      {
        data: { values: long },
        mark: { type: "line", strokeWidth: 1.8 },
        encoding: {
          x,
          y,
          color: nominalScale("series", labels, SERIES.map((s) => s.color), legend),
          strokeDash: nominalScale("series", labels, SERIES.map((s) => s.dash), legend),
        },
      },
      {
        data: {
          values: [
            { frobenius2: band.target.spectrum.frobenius2, growth: band.targetSgdGrowth },
            { frobenius2: band.target.spectrum.frobenius2, growth: band.targetUsamGrowth },
          ],
        },
        mark: { type: "point", shape: "diamond", filled: true, size: 140, color: "black" },
        encoding: { x, y },
      },
    ],
  };
}

/** The γ panel: the sampled alignment's histogram and the exact extremes. */
export function gammaPanel(rows: Row[]): Fragment {
  const hist = rows.filter((r) => r.kind === "gamma_hist");
  const g = (name: string) => rows.find((r) => r.kind === "gamma" && r.name === name)?.value;
  const marks = [
    { name: "exact inf", value: g("exact_min"), color: "#d62728" },
    { name: "sampled median", value: g("sampled_median"), color: "black" },
    { name: "exact sup", value: g("exact_max"), color: "#9467bd" },
  ];
  return {
    title: chartTitle("Alignment γ of Assumption 4.1", [
      `${hist.reduce((a, r) => a + (r.count as number), 0)} random directions; exact inf ${
        fmt(g("exact_min") as number)
      },`,
      `sampled min ${fmt(g("sampled_min") as number)}, median ${
        fmt(g("sampled_median") as number)
      }`,
    ], 300),
    width: 260,
    height: 240,
    layer: [
      {
        data: { values: hist },
        mark: { type: "rect", color: "#aec7e8", stroke: "white", strokeWidth: 0.5 },
        encoding: {
          x: quant("bin_lo", "γ(δ)", { scale: { zero: false } }),
          x2: { field: "bin_hi" },
          y: quant("count", "directions"),
        },
      },
      {
        data: { values: marks },
        mark: { type: "rule", strokeWidth: 2 },
        encoding: {
          x: quant("value"),
          color: nominalScale("name", marks.map((m) => m.name), marks.map((m) => m.color), {
            title: "γ",
          }),
        },
      },
    ],
  };
}
