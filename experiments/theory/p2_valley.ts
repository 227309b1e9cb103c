/**
 * P2, Proposition 4.1 (SAM stays in the valley) on the 1-D sub-quadratic loss
 * L(θ) = a(√(b² + θ²) − b) with full-batch USAM (the theory's variant; full batch is what the
 * proposition assumes, so Eq. 4's batch pairing does not arise) and SAM
 * (models/theory/subquadratic.ts).
 *
 * For every (η, ρ) of a sweep, starts spread over (−b, b) run for a fixed number of steps; a
 * setting keeps the valley when no start ever reaches |θ| ≥ 2b. With ηa ≤ 2b the bound
 * |θ_t| < max(|θ₀|, ηa) keeps every start inside whatever ρ is, so the proposition's
 * condition on ρ, "expressed through a", only matters for ηa > 2b. There the check tests the
 * ρ bound reconstructed below (docs/theory.md):
 *
 *     USAM: ρ ≤ (b/a)·(3b − ηa)/(ηa − 2b),   SAM: ρ ≤ 3b − ηa,   for 2b < ηa < 3b.
 *
 * Derivation: for θ ∈ [0, 2b) the ascent point u (θ + ρL′(θ) or θ + ρ) lies on θ's side and
 * L′(u) = a·u/√(b² + u²) < a·min(1, u/b). The next iterate θ − ηL′(u) stays above −2b when
 * ηa ≤ θ + 2b (always for θ ≥ ηa − 2b) or, using L′(u) ≤ au/b with u ≤ θ(1 + ρa/b) (USAM) or
 * u = θ + ρ (SAM), when the worst case θ = ηa − 2b still lands inside; that is the bound.
 *
 * The check (all must hold): (1) every setting with ηa ≤ 2b keeps every start inside; (2)
 * every setting with 2b < ηa < 3b and ρ within the bound keeps every start inside (and there
 * are such settings); (3) at the headline setting USAM escapes the minimum exponentially (it
 * is linearly unstable there) and still stays inside.
 *
 * Negative control: one setting with ηa > 2b and ρ far above the bound (outside the
 * proposition's condition); a start must leave (−2b, 2b), so the check says FAIL there.
 *
 * No randomness: the starts are a grid.
 *
 * @module
 */
import {
  type FullBatchSam,
  subquadraticExcursion,
  subquadraticStep,
  type SubquadraticValley,
  usamEscapeRho,
} from "../../models/theory/subquadratic.ts";
import { fmt } from "../../core/format.ts";
import { fitLogLinear } from "../../core/stats.ts";
import type { Control, Verdict } from "./common.ts";

/** Settings of P2. */
export interface P2Options extends SubquadraticValley {
  etas: number[];
  rhos: number[];
  /** Starts b·(−1 + (2k + 1)/starts), k < starts: spread over (−b, b). */
  starts: number;
  steps: number;
  /** The headline run: USAM from θ₀ = start·b at (eta, rho). */
  trajectory: { eta: number; rho: number; start: number; steps: number };
  /** The negative control: a USAM setting with ηa > 2b and ρ above the bound. */
  control: { eta: number; rho: number };
}

/**
 * The largest ρ for which the reconstructed Proposition 4.1 keeps (−2b, 2b) invariant at this
 * η (see the module doc): Infinity for ηa ≤ 2b, null for ηa ≥ 3b (the bound says nothing).
 */
export function valleyRhoBound(v: SubquadraticValley, eta: number, variant: FullBatchSam) {
  const step = eta * v.a;
  if (step <= 2 * v.b) return Infinity;
  if (step >= 3 * v.b) return null;
  return variant === "usam" ? (v.b / v.a) * (3 * v.b - step) / (step - 2 * v.b) : 3 * v.b - step;
}

/** The variants P2 sweeps, USAM first (the one the theory is about). */
export const P2_VARIANTS: readonly FullBatchSam[] = ["usam", "sam"];

/** One (variant, η, ρ) of the sweep: the largest |θ_t|/b over starts and steps (≥ 3 capped). */
export interface P2Cell {
  variant: FullBatchSam;
  eta: number;
  rho: number;
  maxAbs: number;
  inside: boolean;
}

/** ρ* per (variant, η): `null` when even ρ = 0 leaves; `all` when every ρ of the sweep stays. */
export interface P2Threshold {
  variant: FullBatchSam;
  eta: number;
  rhoStar: number | null;
  all: boolean;
}

/** Everything P2 computes. */
export interface P2Result {
  cells: P2Cell[];
  thresholds: P2Threshold[];
  trajectory: { step: number; theta: number }[];
  /** Per-step growth of |θ| fitted over the escape, and the linearization's |1 − η(a/b)(1 + ρa/b)|. */
  escapeFit: number | null;
  escapePredicted: number;
  /** The valley's constants. */
  valley: SubquadraticValley;
  /** The control setting's excursion over every start. */
  controlCell: P2Cell;
  verdict: Verdict;
}

/** The starts of the sweep. */
export function p2Starts(b: number, starts: number): number[] {
  return Array.from({ length: starts }, (_, k) => b * (-1 + (2 * k + 1) / starts));
}

/** The largest |θ_t|/b over every start of the sweep at one setting (capped at 3). */
function excursion(options: P2Options, variant: FullBatchSam, eta: number, rho: number) {
  const valley = { a: options.a, b: options.b };
  let max = 0;
  for (const s of p2Starts(options.b, options.starts)) {
    const run = { eta, rho, variant, steps: options.steps, stopAt: 3 * options.b };
    max = Math.max(max, subquadraticExcursion(valley, s, run));
  }
  return Math.min(max, 3 * options.b) / options.b;
}

/** Runs the sweep, the headline trajectory, the control and the check. */
export function computeP2(options: P2Options): P2Result {
  const valley = { a: options.a, b: options.b };
  const rhos = [...options.rhos].sort((x, y) => x - y);
  const cells: P2Cell[] = [];
  const thresholds: P2Threshold[] = [];
  for (const variant of P2_VARIANTS) {
    for (const eta of options.etas) {
      let rhoStar: number | null = null;
      let broken = false;
      for (const rho of rhos) {
        const maxAbs = excursion(options, variant, eta, rho);
        const inside = maxAbs < 2;
        cells.push({ variant, eta, rho, maxAbs, inside });
        if (!inside) broken = true;
        if (!broken) rhoStar = rho;
      }
      thresholds.push({ variant, eta, rhoStar, all: !broken });
    }
  }
  const t = options.trajectory;
  const trajectory = [{ step: 0, theta: t.start * options.b }];
  for (let k = 1; k <= t.steps; k++) {
    const theta = subquadraticStep(valley, trajectory[k - 1].theta, { ...t, variant: "usam" });
    trajectory.push({ step: k, theta });
  }
  const h = options.a / options.b;
  const escapePredicted = Math.abs(1 - t.eta * h * (1 + t.rho * h));
  // The linear regime: while |θ| < b/10.
  let linear = 0;
  while (linear < trajectory.length && Math.abs(trajectory[linear].theta) < options.b / 10) {
    linear++;
  }
  const escapeFit =
    fitLogLinear(trajectory.map((p) => Math.abs(p.theta)), { to: linear - 1 })?.rate ??
      null;
  const c = options.control;
  const controlCell: P2Cell = {
    variant: "usam",
    eta: c.eta,
    rho: c.rho,
    maxAbs: excursion(options, "usam", c.eta, c.rho),
    inside: false,
  };
  controlCell.inside = controlCell.maxAbs < 2;
  const base = { cells, thresholds, trajectory, escapeFit, escapePredicted, valley, controlCell };
  return { ...base, verdict: p2Verdict(base, options) };
}

/** The outcome of the P2 check on a set of cells. */
export interface P2Check {
  pass: boolean;
  /** Cells with ηa ≤ 2b, and those that let a start leave. */
  lemmaCells: number;
  lemmaLeaves: number;
  /** Cells with 2b < ηa < 3b within the ρ bound, and those that let a start leave. */
  boundCells: number;
  boundLeaves: number;
  /** The headline run escapes the minimum and stays inside (true when not judged). */
  headline: boolean;
}

/** Parts 1 and 2 on `cells`, part 3 as given (see the module doc). */
export function p2Check(cells: P2Cell[], v: SubquadraticValley, headline: boolean): P2Check {
  const lemma = cells.filter((c) => c.eta * v.a <= 2 * v.b);
  const bounded = cells.filter((c) => {
    const bound = valleyRhoBound(v, c.eta, c.variant);
    return c.eta * v.a > 2 * v.b && bound !== null && c.rho <= bound;
  });
  const lemmaLeaves = lemma.filter((c) => !c.inside).length;
  const boundLeaves = bounded.filter((c) => !c.inside).length;
  return {
    pass: lemmaLeaves === 0 && bounded.length > 0 && boundLeaves === 0 && headline,
    lemmaCells: lemma.length,
    lemmaLeaves,
    boundCells: bounded.length,
    boundLeaves,
    headline,
  };
}

function p2Verdict(r: Omit<P2Result, "verdict">, options: P2Options): Verdict {
  const { a, b } = options;
  const t = options.trajectory;
  const maxAbs = Math.max(...r.trajectory.map((p) => Math.abs(p.theta)));
  const unstable = t.rho > usamEscapeRho(options, t.eta) && t.eta * a / b < 2;
  const escaped = maxAbs >= 100 * Math.abs(t.start * b) && maxAbs >= b / 10;
  const stays = maxAbs < 2 * b;
  const check = p2Check(r.cells, options, unstable && escaped && stays);
  const control = p2Control(r.controlCell, options);
  // The largest η up to which every η of the sweep keeps every ρ inside.
  const allUpTo = (v: FullBatchSam) => {
    let last = NaN;
    for (const x of r.thresholds.filter((x) => x.variant === v)) {
      if (!x.all) break;
      last = x.eta;
    }
    return last;
  };
  const finite = (v: FullBatchSam) => r.thresholds.filter((x) => x.variant === v && !x.all);
  const describe = (v: FullBatchSam) => {
    const f = finite(v);
    const all = r.thresholds.filter((x) => x.variant === v && x.all).map((x) => x.eta);
    const leaves = f.filter((x) => x.rhoStar === null).map((x) => x.eta);
    const some = f.filter((x) => x.rhoStar !== null);
    const span = (xs: number[]) =>
      xs.length ? `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}` : "none";
    return `every ρ ≤ ${fmt(Math.max(...options.rhos))} for η ∈ ${span(all)}; ρ* from ${
      some.length ? fmt(some[0].rhoStar) : "n/a"
    } (η = ${some.length ? fmt(some[0].eta) : "n/a"}) down to ${
      some.length ? fmt(some[some.length - 1].rhoStar) : "n/a"
    } (η = ${some.length ? fmt(some[some.length - 1].eta) : "n/a"}); none (GD leaves too) for η ∈ ${
      span(leaves)
    }`;
  };
  return {
    claim: "P2",
    statement: "Proposition 4.1 (stays in the valley)",
    pass: check.pass,
    line:
      `L = ${a}(√(${b}² + θ²) − ${b}), full batch, ${options.starts} starts in (−b, b), ${options.steps} steps: ` +
      `${describeCheck(check)}. USAM: ${describe("usam")}. SAM: ${
        describe("sam")
      }. At η = ${t.eta}, ρ = ${t.rho} ` +
      `USAM escapes θ₀ = ${t.start}b at ×${fmt(r.escapeFit)}/step (linearization ×${
        fmt(r.escapePredicted)
      }) and stays within |θ| ≤ ${fmt(maxAbs / b)}b`,
    measured: `${check.boundCells - check.boundLeaves}/${check.boundCells} within the ρ bound ` +
      `(2b < ηa < 3b) stay; every ρ ≤ ${fmt(Math.max(...options.rhos))} stays for η ≤ ${
        P2_VARIANTS.map((v) => `${fmt(allUpTo(v))} (${v})`).join(", ")
      }; escape ×${fmt(r.escapeFit)}/step, max |θ| ${fmt(maxAbs / b)}b`,
    predicted: `stays in (−2b, 2b) for ρ ≤ (b/a)(3b − ηa)/(ηa − 2b) (USAM), 3b − ηa (SAM)`,
    numbers: {
      lemmaSettings: check.lemmaCells,
      lemmaSettingsLeaving: check.lemmaLeaves,
      rhoBoundSettings: check.boundCells,
      rhoBoundSettingsLeaving: check.boundLeaves,
      escapeFit: r.escapeFit,
      escapePredicted: r.escapePredicted,
      trajectoryMaxAbsOverB: maxAbs / b,
      rhoStar: Object.fromEntries(
        P2_VARIANTS.map((v) => [
          v,
          r.thresholds.filter((x) => x.variant === v).map((x) => ({
            eta: x.eta,
            rhoStar: x.all ? "all" : x.rhoStar,
          })),
        ]),
      ),
    },
    control,
    variants: [],
  };
}

function describeCheck(c: P2Check): string {
  return `ηa ≤ 2b (settled by |θ_t| < max(|θ₀|, ηa)): ${
    c.lemmaCells - c.lemmaLeaves
  }/${c.lemmaCells} ` +
    `(variant, η, ρ) keep every start in (−2b, 2b); 2b < ηa < 3b within the ρ bound: ${
      c.boundCells - c.boundLeaves
    }/${c.boundCells}`;
}

function p2Control(cell: P2Cell, v: SubquadraticValley): Control {
  // The check's claim, every start stays in (−2b, 2b), judged at the control setting alone.
  const pass = cell.inside;
  return {
    setting: `USAM at η = ${cell.eta}, ρ = ${cell.rho}: ηa > 2b with ρ above the bound ${
      fmt(valleyRhoBound(v, cell.eta, "usam"))
    }`,
    detected: !pass,
    line: `the check says ${pass ? "PASS" : "FAIL"}: the farthest start reaches |θ| = ${
      fmt(cell.maxAbs)
    }b${cell.maxAbs >= 3 ? " (stopped at 3b)" : ""}`,
    measured: `max |θ| ${fmt(cell.maxAbs)}b`,
    numbers: { eta: cell.eta, rho: cell.rho, maxAbsOverB: cell.maxAbs, inside: cell.inside },
  };
}
