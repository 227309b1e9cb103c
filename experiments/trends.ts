/**
 * The paper's qualitative claims as checks on a figure's `data.csv`, so CI fails when a trend
 * breaks. Each check reads only the CSV (the hash-locked numbers) and reports what it
 * measured next to what it expects.
 *
 * Margins come from the spread over seeds: an effect counts as present when it exceeds the
 * standard deviation over seeds of the quantity it compares (`*_std` columns of the mean rows),
 * so a claim passes only where seed noise cannot explain it.
 *
 * @module
 */
import {
  escapeContrasts,
  type EscapeVariant,
  escapeVerdicts,
  ratioVerdict,
  type Verdict,
} from "./escape_rate.ts";

/** One trend check's outcome. */
export interface TrendCheck {
  figure: string;
  claim: string;
  pass: boolean;
  /** What was measured, with the numbers. */
  detail: string;
  /**
   * Three-way outcome where a check judges an interval: "pass" (shown), "fail" (contradicted)
   * or "unresolved" (not resolved at this scale, and `pass` stays true). Absent: `pass` says it.
   */
  verdict?: Verdict;
}

type Row = Record<string, string>;
const num = (row: Row | undefined, column: string) => Number(row?.[column] ?? NaN);
const f3 = (x: number) => (Number.isFinite(x) ? x.toPrecision(3) : String(x));

function meanRows(rows: Row[]): Row[] {
  return rows.filter((r) => r.kind === "mean").sort((a, b) =>
    num(a, "proportion") - num(b, "proportion")
  );
}

/**
 * Figure 3 (SGD→SAM): the smallest SAM proportion > 0 brings λ_max from SGD's most of the
 * way to full SAM's, and full SAM is flatter than SGD by more than the seed spread; the late
 * switch's test error is closer to full SAM's than SGD's is.
 */
export function fig3Trends(rows: Row[]): TrendCheck[] {
  const means = meanRows(rows);
  const sgd = means.find((r) => num(r, "proportion") === 0);
  const sam = means.find((r) => num(r, "proportion") === 1);
  const late = means.find((r) => num(r, "proportion") > 0 && num(r, "proportion") < 1);
  const [lSgd, lSam, lLate] = [sgd, sam, late].map((r) => num(r, "lambda_max"));
  const spread = Math.max(num(sgd, "lambda_max_std"), num(sam, "lambda_max_std"));
  const reduction = (lSgd - lLate) / (lSgd - lSam);
  const gapNoise = Math.hypot(num(late, "gap_std"), num(sgd, "gap_std"));
  return [
    {
      figure: "fig3",
      claim: "full SAM ends flatter than SGD (by more than the seed spread)",
      pass: lSgd - lSam > spread,
      detail: `λ_max SGD ${f3(lSgd)}, SAM ${f3(lSam)}, largest seed std ${f3(spread)}`,
    },
    {
      figure: "fig3",
      claim: "a late switch recovers most of SAM's flatness",
      pass: reduction >= 0.5,
      detail: `proportion ${late?.proportion}: λ_max ${f3(lLate)}, ${
        f3(100 * reduction)
      }% of the way from SGD to SAM (need ≥ 50%)`,
    },
    {
      figure: "fig3",
      claim:
        "a late switch's test error is no worse than full SAM's beyond SGD's gap (within noise)",
      pass: noWorseThanSam(num(late, "gap"), num(sgd, "gap"), gapNoise),
      detail: `gap to full SAM: late ${f3(num(late, "gap"))} pp, SGD ${f3(num(sgd, "gap"))} pp, ` +
        `noise √(std_late² + std_SGD²) ${f3(gapNoise)} pp`,
    },
  ];
}

/**
 * The paper's test-error claim is one-sided: switching late loses (almost) nothing against
 * full SAM. So a late run's signed gap `late − SAM` (percentage points) passes when it is no
 * larger than SGD's gap (or zero, where SGD is not behind SAM) plus the noise; a late switch
 * that beats full SAM passes. Small runs often have SAM no better than SGD on test error,
 * which a two-sided check would misread as the late switch failing.
 */
export function noWorseThanSam(lateGap: number, sgdGap: number, noise: number): boolean {
  return lateGap <= Math.max(sgdGap, 0) + noise;
}

/**
 * Figure 5 (SAM→SGD): a short early SAM phase ends nearer SGD's sharpness than SAM's.
 */
export function fig5Trends(rows: Row[]): TrendCheck[] {
  const means = meanRows(rows);
  const sgd = means.find((r) => num(r, "proportion") === 0);
  const sam = means.find((r) => num(r, "proportion") === 1);
  const early = means.find((r) => num(r, "proportion") > 0 && num(r, "proportion") < 1);
  const [lSgd, lSam, lEarly] = [sgd, sam, early].map((r) => num(r, "lambda_max"));
  return [{
    figure: "fig5",
    claim: "early SAM barely matters: its λ_max stays nearer SGD's than SAM's",
    pass: Math.abs(lEarly - lSgd) < Math.abs(lEarly - lSam),
    detail: `proportion ${early?.proportion}: λ_max ${f3(lEarly)}; SGD ${f3(lSgd)}, SAM ${
      f3(lSam)
    }`,
  }];
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

/**
 * Figure 4(c): no barrier between the end points on the train loss (the maximum over
 * λ ∈ [0, 1] exceeds the larger end point by less than the seed spread there), and L″ is
 * larger near the SGD end (λ ∈ [0.6, 1]) than near the switched end (λ ∈ [0, 0.4]).
 */
export function fig4cTrends(rows: Row[]): TrendCheck[] {
  const train = rows.filter((r) => r.kind === "mean" && r.split === "train");
  const at = (lambda: number) => train.find((r) => Math.abs(num(r, "lambda") - lambda) < 1e-9);
  const inside = train.filter((r) => num(r, "lambda") >= 0 && num(r, "lambda") <= 1);
  const top = Math.max(...inside.map((r) => num(r, "loss")));
  const ends = Math.max(num(at(0), "loss"), num(at(1), "loss"));
  const spread = Math.max(...inside.map((r) => num(r, "loss_std") || 0));
  const meanCurv = (lo: number, hi: number) => {
    const values = inside.filter((r) => num(r, "lambda") >= lo && num(r, "lambda") <= hi)
      .map((r) => num(r, "curvature")).filter(Number.isFinite);
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const [near0, near1] = [meanCurv(0, 0.4), meanCurv(0.6, 1)];
  return [
    {
      figure: "fig4c",
      claim: "no loss barrier between the switched and the SGD end point",
      pass: top - ends <= spread + 1e-6,
      detail: `max train loss on [0, 1] ${f3(top)}, larger end ${f3(ends)}, seed spread ${
        f3(spread)
      }`,
    },
    {
      figure: "fig4c",
      claim: "L″ grows toward the SGD end",
      pass: near1 > near0,
      detail: `mean L″ on λ ∈ [0.6, 1] ${f3(near1)} vs [0, 0.4] ${f3(near0)}`,
    },
  ];
}

/**
 * Figure 1: every curve's test error falls, and the late switch ends no further from full
 * SAM's final test error than SGD does, beyond the combined seed spread.
 */
export function fig1Trends(rows: Row[]): TrendCheck[] {
  const means = rows.filter((r) => r.kind === "mean");
  const last = Math.max(...means.map((r) => num(r, "epoch")));
  const final = (curve: string) => means.find((r) => r.curve === curve && num(r, "epoch") === last);
  const first = (curve: string) => means.find((r) => r.curve === curve && num(r, "epoch") === 1);
  const curves = ["SGD", "SAM", "SGD→SAM"];
  const error = (curve: string) => num(final(curve), "test_error");
  const std = (curve: string) => num(final(curve), "test_error_std");
  const late = error("SGD→SAM") - error("SAM");
  const sgd = error("SGD") - error("SAM");
  const noise = Math.hypot(std("SGD→SAM"), std("SGD"));
  return [
    {
      figure: "fig1",
      claim: "training lowers the test error of every curve",
      pass: curves.every((c) => num(final(c), "test_error") < num(first(c), "test_error")),
      detail: curves.map((c) =>
        `${c} ${f3(num(first(c), "test_error"))}→${f3(num(final(c), "test_error"))}%`
      ).join(", "),
    },
    {
      figure: "fig1",
      claim:
        "the late switch ends no worse than full SAM's test error beyond SGD's gap (within noise)",
      pass: noWorseThanSam(late, sgd, noise),
      detail: `late − SAM ${f3(late)} pp, SGD − SAM ${f3(sgd)} pp, noise ${f3(noise)} pp`,
    },
  ];
}

/** Figure 4(a) on the toy: USAM escapes exponentially and SAM/USAM end flatter than SGD. */
export function fig4aTrends(rows: Row[]): TrendCheck[] {
  const end = (optimizer: string) =>
    num(rows.find((r) => r.kind === "endpoint" && r.optimizer === optimizer), "sharpness");
  const usamFit = rows.find((r) => r.kind === "rate" && r.optimizer === "usam");
  return [
    {
      figure: "fig4a",
      claim: "SAM and USAM settle at flatter minima than SGD's",
      pass: end("sam") < end("sgd") && end("usam") < end("sgd"),
      detail: `end sharpness SGD ${f3(end("sgd"))}, SAM ${f3(end("sam"))}, USAM ${f3(end("usam"))}`,
    },
    {
      figure: "fig4a",
      claim: "USAM's loss grows geometrically after the switch",
      pass: num(usamFit, "growth_fitted_mean") > 1,
      detail: `fitted mean growth ×${f3(num(usamFit, "growth_fitted_mean"))} per step`,
    },
  ];
}

/** The theory checks (P1–P4): every claim's verdict in the summary table is PASS. */
export function theoryTrends(rows: Row[]): TrendCheck[] {
  return ["P1", "P2", "P3", "P4"].map((claim) => {
    const row = rows.find((r) => r.claim === claim);
    return {
      figure: "theory",
      claim: `${claim} ${row?.statement ?? "(missing)"} holds numerically`,
      pass: row?.verdict === "PASS",
      detail: row ? `${row.verdict}: ${row.measured}` : "no row",
    };
  });
}

/**
 * Figure 6 and the AT table (ST→AT, docs/paper.md#adversarial-training), on the mean rows of `data.csv` (accuracies in
 * %): full AT is more robust than ST by more than the seed spread; the latest switch (the
 * smallest AT proportion > 0) is more robust than ST by more than the seed spread, and
 * recovers at least half of full AT's robustness gain over ST.
 */
export function atTrends(figure: string, rows: Row[]): TrendCheck[] {
  const means = meanRows(rows);
  const st = means.find((r) => num(r, "proportion") === 0);
  const full = means.find((r) => num(r, "proportion") === 1);
  const late = means.find((r) => num(r, "proportion") > 0 && num(r, "proportion") < 1);
  const [rSt, rFull, rLate] = [st, full, late].map((r) => num(r, "robust_acc"));
  const spread = (...rs: (Row | undefined)[]) =>
    Math.max(...rs.map((r) => num(r, "robust_acc_std")));
  const recovered = (rLate - rSt) / (rFull - rSt);
  const at = `${late?.label} (AT proportion ${f3(num(late, "proportion"))})`;
  return [
    {
      figure,
      claim: "full AT is more robust than ST (by more than the seed spread)",
      pass: rFull - rSt > spread(st, full),
      detail: `robust accuracy full AT ${f3(rFull)}%, ST ${f3(rSt)}%, largest seed std ${
        f3(spread(st, full))
      } pp`,
    },
    {
      figure,
      claim: "late AT's robust accuracy is far above ST's (by more than the seed spread)",
      pass: rLate - rSt > spread(st, late),
      detail: `${at}: ${f3(rLate)}% vs ST ${f3(rSt)}%, largest seed std ${f3(spread(st, late))} pp`,
    },
    {
      figure,
      claim: "late AT recovers most of full AT's robustness",
      pass: recovered >= 0.5,
      detail: `${at}: ${f3(100 * recovered)}% of the way from ST's robust accuracy to full ` +
        `AT's (need ≥ 50%); robust gap to full AT ${f3(num(late, "robust_gap"))} pp`,
    },
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
