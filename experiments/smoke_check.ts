/**
 * `deno task smoke-check`: after the smoke figures ran, checks (a) the hash lock: each smoke
 * `data.csv` has the sha256 committed in `experiments/smoke.lock.json`, and (b) the trends:
 * no claim of the paper is contradicted by those numbers (`experiments/trends.ts`). A claim's
 * verdict comes from a 95 % interval over seeds: shown, contradicted (fails CI), or not resolved
 * at this scale (printed, does not fail). With the 1–2 seeds of the smoke figures most claims
 * stay unresolved: at smoke scale the checks guard the code path and the hash, and catch only a
 * contradiction the few seeds agree on.
 *
 *     deno task smoke-check [--out results/ci]          # check; exit 1 on any failure
 *     deno task smoke-check --out results/ci --relock   # accept new hashes, print the diff
 *
 * Relock only when a change is meant to alter the numbers, and say why in the commit.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError, parseToolArgs, runMain } from "../core/cli.ts";
import { sha256Hex } from "../core/hash.ts";
import { parseCsv } from "../core/csv.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import { SAME_CHECKS_AS, type TrendCheck, TRENDS, VERDICT_WORDS, verdictOf } from "./trends.ts";

/** The lock file, next to this script. */
export const LOCK_PATH = fileURLToPath(new URL("./smoke.lock.json", import.meta.url));

/** The figures CI runs at smoke scale, in order. */
export const SMOKE_FIGURES = [
  "fig4a",
  "theory",
  "theory-p1",
  "theory-p2",
  "theory-p3",
  "theory-p4",
  "fig1",
  "fig3",
  "fig5",
  "fig4b",
  "fig4c",
  "fig6",
  "table-at",
];

/**
 * The lock entry of a figure computed on `backend`: the figure's name for wasm and the
 * float64/cpu figures; for the native backend, whose kernels sum in other orders and are chosen
 * by instruction set, `<figure>@native <library>` (e.g. `fig3@native oneDNN 2.6.3 (avx2)`).
 */
export function lockKey(figure: string, backend: string | null, library?: string): string {
  return backend === "native" ? `${figure}@native ${library ?? "?"}` : figure;
}

async function manifestBackend(dir: string): Promise<{ backend: string | null; library?: string }> {
  const text = await Deno.readTextFile(join(dir, "manifest.json")).catch(() => null);
  if (text === null) return { backend: null };
  const m = JSON.parse(text) as { backend?: unknown; native?: { library?: string } };
  return { backend: typeof m.backend === "string" ? m.backend : null, library: m.native?.library };
}

/** One figure's check: its hash against the lock, and its trends. */
export interface FigureCheck {
  figure: string;
  /**
   * Its entry in the lock ({@link lockKey}). A native figure whose library (version and
   * instruction set) has no entry yet, while another library's has, is reported unlocked
   * rather than failed: its trends still count, and `--relock` adds the entry.
   */
  key: string;
  sha256: string | null;
  locked: string | null;
  /** A native figure on a library the lock has no entry for (see {@link FigureCheck.key}). */
  unlockedNative?: boolean;
  trends: TrendCheck[];
  /**
   * The figure whose identical `data.csv` already ran these checks ({@link SAME_CHECKS_AS}):
   * then `trends` is empty rather than a repeat.
   */
  checkedAs?: string;
}

/** Checks the smoke results under `out` against a lock (pure apart from reading files). */
export async function checkSmoke(
  out: string,
  lock: Record<string, string>,
  figures: readonly string[] = SMOKE_FIGURES,
): Promise<FigureCheck[]> {
  const checks: FigureCheck[] = [];
  for (const figure of figures) {
    const text = await Deno.readTextFile(join(out, figure, "data.csv")).catch(() => null);
    const sha256 = text === null ? null : sha256Hex(text);
    const same = checks.find((c) => c.figure === SAME_CHECKS_AS[figure]);
    const checkedAs = sha256 !== null && same?.sha256 === sha256 ? same.figure : undefined;
    const trends = text === null || checkedAs ? [] : (TRENDS[figure]?.(parseCsv(text)) ?? []);
    const { backend, library } = await manifestBackend(join(out, figure));
    const key = lockKey(figure, backend, library);
    checks.push({
      figure,
      key,
      checkedAs,
      sha256,
      locked: lock[key] ?? null,
      unlockedNative: lock[key] === undefined && backend === "native" &&
        Object.keys(lock).some((k) => k.startsWith(`${figure}@native `)),
      trends,
    });
  }
  return checks;
}

/**
 * Whether every hash matches its lock and no trend is contradicted (a claim not resolved at
 * this scale does not fail).
 */
export function allPass(checks: readonly FigureCheck[], ignoreLock = false): boolean {
  return checks.every((c) =>
    c.sha256 !== null && (ignoreLock || c.sha256 === c.locked || c.unlockedNative === true) &&
    c.trends.every((t) => verdictOf(t) !== "fail")
  );
}

/** The line printed above the checks: what a verdict means at smoke scale. */
export const SMOKE_NOTE = "Each claim's verdict comes from a 95 % interval over the seeds: " +
  "shown (PASS), contradicted (FAIL: fails CI) or not resolved at this scale (UNRESOLVED: " +
  "printed, does not fail). The smoke figures have 1–2 seeds, so most claims stay unresolved: " +
  "at smoke scale these checks guard the code path and the hash, not the paper's claims.";

/** Counts of the verdicts of all checks, e.g. `2 shown, 9 not resolved, 0 contradicted`. */
export function verdictCounts(checks: readonly FigureCheck[]): string {
  const all = checks.flatMap((c) => c.trends.map(verdictOf));
  const count = (v: string) => all.filter((x) => x === v).length;
  return `${count("pass")} shown, ${count("unresolved")} not resolved at this scale, ` +
    `${count("fail")} contradicted`;
}

/** The report lines: per figure its lock status and its checks' verdicts. */
export function report(checks: readonly FigureCheck[]): string[] {
  const lines: string[] = [SMOKE_NOTE];
  for (const c of checks) {
    const lock = c.sha256 === null
      ? "MISSING data.csv"
      : c.sha256 === c.locked
      ? "hash ok"
      : c.unlockedNative
      ? "no lock entry for this native library (the lock has another's): trends only"
      : `HASH ${c.sha256.slice(0, 12)} ≠ lock ${c.locked?.slice(0, 12) ?? "(none)"}`;
    lines.push(`${c.key}: ${lock}`);
    if (c.checkedAs) {
      lines.push(
        `  data.csv is identical to ${c.checkedAs}'s (the same runs at this scale): its checks ` +
          `are ${c.checkedAs}'s above, not run twice`,
      );
    }
    for (const t of c.trends) {
      lines.push(`  ${VERDICT_WORDS[verdictOf(t)]} ${t.claim}: ${t.detail}`);
    }
  }
  lines.push(`checks: ${verdictCounts(checks)}`);
  return lines;
}

const HELP = `Usage: deno task smoke-check [--out DIR] [--figures a,b,...] [--relock]

Checks the smoke figures under DIR (default results/ci): each data.csv against the sha256 in
experiments/smoke.lock.json (the entry "<figure>@native" when the figure's manifest names the
native backend), and the paper's claims on its numbers, each decided by a 95 % interval over
seeds: shown, contradicted, or not resolved at this scale. Exits 1 on a hash mismatch, a missing
data.csv or a contradicted claim; unresolved claims are printed and do not fail (at smoke scale,
with 1-2 seeds, most are: the checks guard the code path and the hash).

Options:
  --out DIR     result root of the smoke figures (default results/ci)
  --figures L   check only these figures (comma-separated; default: every smoke figure)
  --relock      write the current hashes into the lock and print what changed
  -h, --help    show this help`;

async function main(args: string[]): Promise<void> {
  const parsed = parseToolArgs("smoke-check", args, {
    out: { type: "string", default: "results/ci" },
    relock: { type: "boolean", default: false },
    figures: { type: "string" },
  }, { help: HELP });
  if (!parsed) return;
  const { values } = parsed;
  const lock = JSON.parse(await Deno.readTextFile(LOCK_PATH).catch(() => "{}"));
  const figures = values.figures?.split(",") ?? SMOKE_FIGURES;
  const unknown = figures.filter((f) => !SMOKE_FIGURES.includes(f));
  if (unknown.length > 0) {
    throw new CliError(`smoke-check: not a smoke figure: ${unknown.join(", ")}`);
  }
  const checks = await checkSmoke(values.out!, lock, figures);
  for (const line of report(checks)) console.log(line);
  if (values.relock) {
    // Entries of the other backend's figures stay as they are.
    const next: Record<string, string> = { ...lock };
    for (const c of checks) {
      if (c.sha256 === null) throw new CliError(`smoke-check: ${c.figure} has no data.csv to lock`);
      next[c.key] = c.sha256;
      if (c.sha256 !== c.locked) {
        console.log(`relock ${c.key}: ${c.locked ?? "(none)"} → ${c.sha256}`);
      }
    }
    await writeFileAtomic(LOCK_PATH, `${JSON.stringify(next, null, 2)}\n`);
    console.log(`wrote ${LOCK_PATH}`);
  }
  const ok = allPass(checks, values.relock);
  console.log(ok ? "smoke-check: all passed" : "smoke-check: FAILED");
  if (!ok) Deno.exit(1);
}

if (import.meta.main) await runMain(() => main(Deno.args));
