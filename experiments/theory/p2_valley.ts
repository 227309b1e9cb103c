/**
 * P2, Proposition 4.1 (SAM stays in the valley) on the 1-D sub-quadratic loss
 * L(θ) = a(√(b² + θ²) − b) with full-batch SAM and USAM (models/theory/subquadratic.ts).
 *
 * For every (η, ρ) of a sweep, starts spread over (−b, b) run for a fixed number of steps;
 * a setting keeps the valley when no start ever reaches |θ| ≥ 2b. Per η, ρ* is the largest ρ
 * of the sweep up to which every setting keeps the valley. The check (on USAM, the theory's
 * variant, and on SAM): (a) for ηa ≤ 2b every ρ keeps every start inside, as the bound
 * |θ_t| < max(|θ₀|, ηa) says; (b) at the headline setting USAM escapes the minimum
 * exponentially (it is linearly unstable there) and still stays inside.
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
import type { Verdict } from "./common.ts";

/** Settings of P2. */
export interface P2Options extends SubquadraticValley {
  etas: number[];
  rhos: number[];
  /** Starts b·(−1 + (2k + 1)/starts), k < starts: spread over (−b, b). */
  starts: number;
  steps: number;
  /** The headline run: USAM from θ₀ = start·b at (eta, rho). */
  trajectory: { eta: number; rho: number; start: number; steps: number };
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
  verdict: Verdict;
}

/** The starts of the sweep. */
export function p2Starts(b: number, starts: number): number[] {
  return Array.from({ length: starts }, (_, k) => b * (-1 + (2 * k + 1) / starts));
}

/** Runs the sweep, the headline trajectory and the check. */
export function computeP2(options: P2Options): P2Result {
  const valley = { a: options.a, b: options.b };
  const starts = p2Starts(options.b, options.starts);
  const rhos = [...options.rhos].sort((x, y) => x - y);
  const cells: P2Cell[] = [];
  const thresholds: P2Threshold[] = [];
  for (const variant of P2_VARIANTS) {
    for (const eta of options.etas) {
      let rhoStar: number | null = null;
      let broken = false;
      for (const rho of rhos) {
        let max = 0;
        for (const s of starts) {
          const run = { eta, rho, variant, steps: options.steps, stopAt: 3 * options.b };
          max = Math.max(max, subquadraticExcursion(valley, s, run));
        }
        const inside = max < 2 * options.b;
        cells.push({ variant, eta, rho, maxAbs: Math.min(max, 3 * options.b) / options.b, inside });
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
  const base = { cells, thresholds, trajectory, escapeFit, escapePredicted };
  return { ...base, verdict: p2Verdict(base, options) };
}

function p2Verdict(r: Omit<P2Result, "verdict">, options: P2Options): Verdict {
  const { a, b } = options;
  const bounded = r.cells.filter((c) => c.eta * a <= 2 * b);
  const boundHolds = bounded.every((c) => c.inside);
  const t = options.trajectory;
  const maxAbs = Math.max(...r.trajectory.map((p) => Math.abs(p.theta)));
  const unstable = t.rho > usamEscapeRho(options, t.eta) && t.eta * a / b < 2;
  const escaped = maxAbs >= 100 * Math.abs(t.start * b) && maxAbs >= b / 10;
  const stays = maxAbs < 2 * b;
  const pass = bounded.length > 0 && boundHolds && unstable && escaped && stays;
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
    pass,
    line:
      `L = ${a}(√(${b}² + θ²) − ${b}), ${options.starts} starts in (−b, b), ${options.steps} steps: ` +
      `for ηa ≤ 2b all ${bounded.length} (variant, η, ρ) keep every start in (−2b, 2b): ${
        boundHolds ? "yes" : "NO"
      }. USAM: ${describe("usam")}. SAM: ${describe("sam")}. At η = ${t.eta}, ρ = ${t.rho} ` +
      `USAM escapes θ₀ = ${t.start}b at ×${fmt(r.escapeFit)}/step (linearization ×${
        fmt(r.escapePredicted)
      }) and stays within |θ| ≤ ${fmt(maxAbs / b)}b`,
    measured: `every ρ ≤ ${fmt(Math.max(...options.rhos))} stays for η ≤ ${
      P2_VARIANTS.map((v) => `${fmt(allUpTo(v))} (${v})`).join(", ")
    }; escape ×${fmt(r.escapeFit)}/step, max |θ| ${fmt(maxAbs / b)}b`,
    predicted: `stays in (−2b, 2b) for small ρ; |θ_t| < max(|θ₀|, ηa)`,
    numbers: {
      boundHolds,
      settingsUnderBound: bounded.length,
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
  };
}
