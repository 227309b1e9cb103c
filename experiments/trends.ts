/**
 * The paper's qualitative claims as checks on a figure's `data.csv`, so CI fails when a run
 * contradicts one. Each check reads only the CSV (the hash-locked numbers) and reports what it
 * measured next to what the claim needs.
 *
 * The comparisons between runs are the figures' `kind = paired` rows (`experiments/paired.ts`,
 * docs/statistics.md): per seed (or per trial in Figure 4(a)) a difference or a share, and over
 * seeds its mean with a 95 % interval — Student's t with n − 1 df for differences, Fieller's
 * interval for shares. A check compares that interval with the claim's threshold and gives one
 * of three verdicts:
 *
 * - `pass` ("shown"): the interval lies wholly on the claim's side of the threshold;
 * - `fail` ("contradicted"): it lies wholly on the other side;
 * - `unresolved` ("not resolved at this scale"): it touches or straddles the threshold, is
 *   unbounded, or does not exist (fewer than 2 seeds).
 *
 * Nothing else decides a verdict: no margin from a standard deviation, no comparison of means.
 * `pass: true` on a check means "not contradicted" (`verdict !== "fail"`).
 *
 * @module
 */
import { intervalSide } from "../core/stats.ts";
import { formatInterval } from "./paired.ts";

/** A check's verdict: shown (`pass`), contradicted (`fail`) or not resolved at this scale. */
export type Verdict = "pass" | "fail" | "unresolved";
import {
  escapeContrasts,
  type EscapeVariant,
  escapeVerdicts,
  ratioVerdict,
} from "./escape_rate.ts";

/** One trend check's outcome. */
export interface TrendCheck {
  figure: string;
  claim: string;
  /** Not contradicted (`verdict !== "fail"`); the only field of checks without a verdict. */
  pass: boolean;
  /** The three-way verdict; absent on checks that only decide pass or fail. */
  verdict?: Verdict;
  /** What was measured, with the numbers (and, when unresolved, why). */
  detail: string;
}

/** The verdict of a check: its own, or pass/fail from `pass` for checks without one. */
export function verdictOf(check: TrendCheck): Verdict {
  return check.verdict ?? (check.pass ? "pass" : "fail");
}

/** The words a verdict is printed with. */
export const VERDICT_WORDS: Record<Verdict, string> = {
  pass: "PASS (shown)",
  fail: "FAIL (contradicted)",
  unresolved: "UNRESOLVED (not resolved at this scale)",
};

type Row = Record<string, string>;
const num = (row: Row | undefined, column: string) => Number(row?.[column] || NaN);
const f3 = (x: number) => (Number.isFinite(x) ? x.toPrecision(3) : String(x));

/** The `kind = paired` row of `quantity` whose other columns equal `where`. */
export function pairedRow(
  rows: readonly Row[],
  quantity: string,
  where: Record<string, string | number> = {},
): Row | undefined {
  return rows.find((r) =>
    r.kind === "paired" && r.quantity === quantity &&
    Object.entries(where).every(([k, v]) => typeof v === "number" ? num(r, k) === v : r[k] === v)
  );
}

/** A claim about one paired row: its value lies above (or below) `threshold`. */
export interface IntervalClaim {
  figure: string;
  claim: string;
  /** The compared quantity in words, e.g. "λ_SGD − λ_SAM". */
  what: string;
  row: Row | undefined;
  side: "above" | "below";
  threshold: number;
  /** "t" (difference, Student-t, n − 1 df) or "fieller" (share, Fieller's interval). */
  method: "t" | "fieller";
  unit?: string;
}

/** A paired row's numbers in words: `mean [lo, hi] (95 % …, n = …)`. */
export function describeInterval(row: Row | undefined, method: "t" | "fieller", unit = ""): string {
  if (!row) return "no paired row in data.csv";
  const n = num(row, "n");
  const how = method === "t" ? `95 % t-interval, ${n - 1} df` : "Fieller's 95 % interval";
  const stat = { mean: num(row, "mean"), lo: num(row, "lo"), hi: num(row, "hi") };
  const text = formatInterval(stat);
  return Number.isNaN(stat.lo)
    ? `${text}${unit} (no interval with n = ${n})`
    : `${text}${unit} (${how}, n = ${n})`;
}

/** The verdict of an {@link IntervalClaim}, decided by the row's interval alone. */
export function intervalCheck(c: IntervalClaim): TrendCheck {
  const need = `need ${c.side} ${c.threshold}`;
  const measured = `${c.what} = ${describeInterval(c.row, c.method, c.unit)}; ${need}`;
  const side = c.row
    ? intervalSide({ lo: num(c.row, "lo"), hi: num(c.row, "hi") }, c.threshold)
    : "none";
  const verdict: Verdict = side === "none" || side === "straddles"
    ? "unresolved"
    : side === c.side
    ? "pass"
    : "fail";
  const why = !c.row
    ? ""
    : side === "none"
    ? ": fewer than 2 seeds, no interval"
    : side === "straddles" && !Number.isFinite(num(c.row, "lo"))
    ? ": unbounded — the two baselines are not separated at this scale"
    : side === "straddles"
    ? `: the interval contains ${c.threshold}`
    : "";
  return {
    figure: c.figure,
    claim: c.claim,
    pass: verdict !== "fail",
    verdict,
    detail: measured + why,
  };
}

/** The proportions of the paired rows of `quantity`, ascending. */
function proportions(rows: readonly Row[], quantity: string): number[] {
  return rows.filter((r) => r.kind === "paired" && r.quantity === quantity)
    .map((r) => num(r, "proportion")).sort((a, b) => a - b);
}

/**
 * Figure 3 (SGD→SAM), on the paired rows: (1) full SAM ends flatter than SGD (λ_SGD − λ_SAM
 * per seed, t-interval above 0); (1b) full SAM ends with a lower test error than SGD (e_SGD −
 * e_SAM, t-interval above 0; the paper's premise, which the small scale does not resolve);
 * (2) the latest switch (the smallest SAM proportion > 0)
 * recovers more than half of SAM's flatness ((λ_SGD − λ)/(λ_SGD − λ_SAM), Fieller's interval
 * above ½); (3) its test error lies nearer full SAM's than SGD's (the same share of test
 * error above ½; unresolved when SGD and SAM do not differ at this scale).
 */
export function fig3Trends(rows: Row[]): TrendCheck[] {
  const late = proportions(rows, "lambda_max_recovered")[0];
  const at = `SAM proportion ${f3(late)}`;
  return [
    intervalCheck({
      figure: "fig3",
      claim: "full SAM ends flatter than SGD",
      what: "λ_SGD − λ_SAM",
      row: pairedRow(rows, "lambda_max_gap", { proportion: 0 }),
      side: "above",
      threshold: 0,
      method: "t",
    }),
    intervalCheck({
      figure: "fig3",
      claim: "full SAM ends with a lower test error than SGD",
      what: "e_SGD − e_SAM",
      row: pairedRow(rows, "test_error_gap", { proportion: 0 }),
      side: "above",
      threshold: 0,
      method: "t",
      unit: " pp",
    }),
    intervalCheck({
      figure: "fig3",
      claim: "the latest switch recovers more than half of SAM's flatness",
      what: `${at}: (λ_SGD − λ)/(λ_SGD − λ_SAM)`,
      row: pairedRow(rows, "lambda_max_recovered", { proportion: late }),
      side: "above",
      threshold: 0.5,
      method: "fieller",
    }),
    intervalCheck({
      figure: "fig3",
      claim: "the latest switch's test error lies nearer full SAM's than SGD's",
      what: `${at}: (e_SGD − e)/(e_SGD − e_SAM)`,
      row: pairedRow(rows, "test_error_recovered", { proportion: late }),
      side: "above",
      threshold: 0.5,
      method: "fieller",
    }),
  ];
}

/**
 * Figure 5 (SAM→SGD), on the paired rows at the largest SAM proportion ≤ ½ (SAM for at most
 * the first half of training — the paper: early SAM barely matters unless it lasts almost to
 * the end): (1) λ_max recovers less than half of the way from SGD's to full SAM's (Fieller's
 * interval below ½); (2) the test error likewise stays nearer SGD's than full SAM's.
 */
export function fig5Trends(rows: Row[]): TrendCheck[] {
  const early = proportions(rows, "lambda_max_recovered").filter((p) => p <= 0.5).at(-1) ?? NaN;
  const at = `SAM proportion ${f3(early)}`;
  return [
    intervalCheck({
      figure: "fig5",
      claim: "early SAM (at most half of training) leaves λ_max nearer SGD's than full SAM's",
      what: `${at}: (λ_SGD − λ)/(λ_SGD − λ_SAM)`,
      row: pairedRow(rows, "lambda_max_recovered", { proportion: early }),
      side: "below",
      threshold: 0.5,
      method: "fieller",
    }),
    intervalCheck({
      figure: "fig5",
      claim: "early SAM (at most half of training) leaves the test error nearer SGD's than SAM's",
      what: `${at}: (e_SGD − e)/(e_SGD − e_SAM)`,
      row: pairedRow(rows, "test_error_recovered", { proportion: early }),
      side: "below",
      threshold: 0.5,
      method: "fieller",
    }),
  ];
}

/**
 * Figure 4(b), from the trial rows (the loss of every trial at every step, the three rules
 * paired by trial) and the fit rows of `data.csv`. With the excess E = L_last − L_0 after the
 * last step, the escape margin Δ (the `margin` column of the `paired` rows) and 95 %
 * Student-t intervals over trials:
 *
 * - SAM's and ascent-only's excess exceeds the SGD control's by at least Δ (paired per trial):
 *   PASS when the interval of the difference lies at or above Δ, FAIL when it lies below,
 *   unresolved when it contains Δ or there are fewer than 2 trials;
 * - the SGD control does not escape: its excess stays below Δ (FAIL when its interval lies at
 *   or above Δ);
 * - SAM's and ascent-only's fitted growth of the mean excess agrees with the linearized
 *   prediction: on the same side of 1 and within the band (`band` column); unresolved without
 *   a fit (the fit window, which ends where the linear regime does, had too few points).
 *
 * `pass` means "not contradicted" (an unresolved check passes); `verdict` says which.
 */
export function fig4bTrends(rows: Row[]): TrendCheck[] {
  const trials = rows.filter((r) => r.kind === "trial");
  const finalExcess = (variant: EscapeVariant) => {
    const mine = trials.filter((r) => r.variant === variant);
    const last = Math.max(...mine.map((r) => num(r, "step")));
    const at = (trial: string, step: number) =>
      num(mine.find((r) => r.trial === trial && num(r, "step") === step), "loss");
    const ids = [...new Set(mine.map((r) => r.trial))].sort((a, b) => Number(a) - Number(b));
    return ids.map((id) => at(id, last) - at(id, 0));
  };
  const contrasts = escapeContrasts({
    sgd: finalExcess("sgd"),
    sam: finalExcess("sam"),
    ascent: finalExcess("ascent"),
  });
  const margin = num(rows.find((r) => r.kind === "paired"), "margin");
  const verdicts = escapeVerdicts(contrasts, margin);
  const interval = (variant: EscapeVariant) => {
    const c = contrasts[variant];
    return `${f3(c.mean)} [${f3(c.lo)}, ${f3(c.hi)}] (95% t-interval, n = ${c.n}), Δ ${f3(margin)}`;
  };
  const check = (claim: string, verdict: Verdict, detail: string): TrendCheck => ({
    figure: "fig4b",
    claim,
    pass: verdict !== "fail",
    verdict,
    detail,
  });
  const fit = (variant: EscapeVariant) =>
    rows.find((r) => r.kind === "fit" && r.variant === variant);
  const ratioCheck = (variant: "sam" | "ascent", name: string) => {
    const row = fit(variant);
    const fitted = row?.growth ? num(row, "growth") : null;
    const band = num(row, "band");
    return check(
      `${name}: the fitted growth of the excess matches the linearized prediction (same side ` +
        `of 1, within ×${f3(band)})`,
      ratioVerdict(fitted, num(row, "predicted"), band),
      `fitted ×${
        fitted === null ? "none" : f3(fitted)
      } per step on steps ${row?.fit_from}–${row?.fit_to} (the linear regime ends at step ${row?.linear_to}), predicted ×${
        f3(num(row, "predicted"))
      }`,
    );
  };
  return [
    check(
      "SAM's loss excess exceeds the SGD control's by the escape margin (paired over trials)",
      verdicts.sam,
      `SAM − SGD ${interval("sam")}`,
    ),
    check(
      "ascent-only's loss excess exceeds the SGD control's by the escape margin (paired)",
      verdicts.ascent,
      `ascent − SGD ${interval("ascent")}`,
    ),
    check(
      "the SGD control does not escape (its excess stays below the margin)",
      verdicts.sgd,
      `SGD excess ${interval("sgd")}`,
    ),
    ratioCheck("sam", "SAM"),
    ratioCheck("ascent", "ascent-only"),
  ];
}

/** A barrier counts when the loss rises above the larger end point by more than this share. */
export const BARRIER_TOLERANCE = 0.05;

/**
 * Figure 4(c), on the per-seed paired rows of the training loss: (1) no barrier between the
 * switched and the SGD end point (the relative barrier, (max of L on [0, 1] − the larger end)/
 * the larger end, has its t-interval below {@link BARRIER_TOLERANCE}); (2) L″ grows toward the
 * SGD end (mean L″ on λ ∈ [0.6, 1] − on [0, 0.4], t-interval above 0).
 */
export function fig4cTrends(rows: Row[]): TrendCheck[] {
  return [
    intervalCheck({
      figure: "fig4c",
      claim: "no loss barrier between the switched and the SGD end point",
      what: "(max train loss on [0, 1] − larger end)/larger end",
      row: pairedRow(rows, "barrier_relative"),
      side: "below",
      threshold: BARRIER_TOLERANCE,
      method: "t",
    }),
    intervalCheck({
      figure: "fig4c",
      claim: "L″ grows toward the SGD end",
      what: "mean L″ on [0.6, 1] − on [0, 0.4]",
      row: pairedRow(rows, "curvature_rise"),
      side: "above",
      threshold: 0,
      method: "t",
    }),
  ];
}

/**
 * Figure 1, on the paired rows (test error in %, per seed): (1–3) each curve's test error falls
 * from the first to the last epoch (t-interval of the drop above 0); (4) full SAM ends below
 * SGD (e_SGD − e_SAM, t-interval above 0); (5) the late switch ends nearer full SAM's test error
 * than SGD's ((e_SGD − e)/(e_SGD − e_SAM), Fieller's interval above ½; unresolved when SGD and
 * SAM do not differ at this scale).
 */
export function fig1Trends(rows: Row[]): TrendCheck[] {
  const drop = (curve: string) =>
    intervalCheck({
      figure: "fig1",
      claim: `${curve}'s test error falls during training`,
      what: "test error at epoch 1 − at the last epoch",
      row: pairedRow(rows, "test_error_drop", { curve }),
      side: "above",
      threshold: 0,
      method: "t",
      unit: " pp",
    });
  return [
    ...["SGD", "SAM", "SGD→SAM"].map(drop),
    intervalCheck({
      figure: "fig1",
      claim: "full SAM ends with a lower test error than SGD",
      what: "e_SGD − e_SAM at the last epoch",
      row: pairedRow(rows, "test_error_gap", { curve: "SGD" }),
      side: "above",
      threshold: 0,
      method: "t",
      unit: " pp",
    }),
    intervalCheck({
      figure: "fig1",
      claim: "the late switch ends nearer full SAM's test error than SGD's",
      what: "(e_SGD − e_SGD→SAM)/(e_SGD − e_SAM) at the last epoch",
      row: pairedRow(rows, "test_error_recovered", { curve: "SGD→SAM" }),
      side: "above",
      threshold: 0.5,
      method: "fieller",
    }),
  ];
}

/**
 * Figure 4(a) on the toy, on the per-trial paired rows (every trial starts at SGD's end point;
 * SAM's and USAM's trial i share its noise): (1, 2) SAM and USAM each end flatter than SGD's
 * minimum (SGD's sharpness − the trial's final sharpness, t-interval over trials above 0);
 * (3) USAM's loss grows geometrically after the switch (per-trial slope of ln loss over the
 * escape window, t-interval above 0, i.e. growth above ×1 per step).
 */
export function fig4aTrends(rows: Row[]): TrendCheck[] {
  const flatter = (optimizer: string, name: string) =>
    intervalCheck({
      figure: "fig4a",
      claim: `${name} settles at a flatter minimum than SGD's`,
      what: `sharpness at SGD's end − ${name}'s final sharpness, over trials`,
      row: pairedRow(rows, "sharpness_drop", { optimizer }),
      side: "above",
      threshold: 0,
      method: "t",
    });
  return [
    flatter("sam", "SAM"),
    flatter("usam", "USAM"),
    intervalCheck({
      figure: "fig4a",
      claim: "USAM's loss grows geometrically after the switch",
      what: "per-trial slope of ln loss over the escape window",
      row: pairedRow(rows, "log_growth", { optimizer: "usam" }),
      side: "above",
      threshold: 0,
      method: "t",
    }),
  ];
}

/**
 * The theory checks (P1–P4): every claim's check row in the summary table is PASS, and its
 * negative control row (the same check run outside the theorem's assumptions) is `detected`,
 * i.e. the check said FAIL there. Rows without a `kind` column count as check rows.
 */
export function theoryTrends(rows: Row[]): TrendCheck[] {
  return ["P1", "P2", "P3", "P4"].flatMap((claim) => {
    const check = rows.find((r) => r.claim === claim && (r.kind ?? "check") === "check");
    const control = rows.find((r) => r.claim === claim && r.kind === "control");
    return [
      {
        figure: "theory",
        claim: `${claim} ${check?.statement ?? "(missing)"} holds numerically`,
        pass: check?.verdict === "PASS",
        detail: check ? `${check.verdict}: ${check.measured}` : "no row",
      },
      {
        figure: "theory",
        claim: `${claim}'s check fails outside the theorem's assumptions (negative control)`,
        pass: control?.verdict === "detected",
        detail: control
          ? `${control.verdict}: ${control.statement}: ${control.measured}`
          : "no row",
      },
    ];
  });
}

/**
 * Figure 6 and the AT table (ST→AT, docs/paper.md#adversarial-training), on the paired rows of
 * robust accuracy (%): (1) full AT is more robust than ST (r_AT − r_ST per seed, t-interval
 * above 0); at the latest switch (the smallest AT proportion > 0): (2) it is more robust than
 * ST (r − r_ST, t-interval above 0) and (3) it recovers more than half of full AT's gain over ST
 * ((r − r_ST)/(r_AT − r_ST), Fieller's interval above ½).
 */
export function atTrends(figure: string, rows: Row[]): TrendCheck[] {
  const late = proportions(rows, "robust_recovered")[0];
  const label = pairedRow(rows, "robust_recovered", { proportion: late })?.label ?? "no late run";
  return [
    intervalCheck({
      figure,
      claim: "full AT is more robust than ST",
      what: "r_AT − r_ST",
      row: pairedRow(rows, "robust_gap", { proportion: 0 }),
      side: "above",
      threshold: 0,
      method: "t",
      unit: " pp",
    }),
    intervalCheck({
      figure,
      claim: "the latest switch is more robust than ST",
      what: `${label}: r − r_ST`,
      row: pairedRow(rows, "robust_gain", { proportion: late }),
      side: "above",
      threshold: 0,
      method: "t",
      unit: " pp",
    }),
    intervalCheck({
      figure,
      claim: "the latest switch recovers more than half of full AT's robustness gain over ST",
      what: `${label}: (r − r_ST)/(r_AT − r_ST)`,
      row: pairedRow(rows, "robust_recovered", { proportion: late }),
      side: "above",
      threshold: 0.5,
      method: "fieller",
    }),
  ];
}

/** The trend checks of each figure. */
export const TRENDS: Record<string, (rows: Row[]) => TrendCheck[]> = {
  fig6: (rows) => atTrends("fig6", rows),
  "table-at": (rows) => atTrends("table-at", rows),
  fig1: fig1Trends,
  fig3: fig3Trends,
  fig4a: fig4aTrends,
  fig4b: fig4bTrends,
  fig4c: fig4cTrends,
  fig5: fig5Trends,
  theory: theoryTrends,
};

/**
 * Figures whose checks are another figure's run on their own `data.csv`: the AT table's are
 * Figure 6's. When both files are byte-identical (the same runs, as at smoke scale) the
 * smoke check runs them once, for the figure named here.
 */
export const SAME_CHECKS_AS: Record<string, string> = { "table-at": "fig6" };
