/**
 * `deno task smoke-check`: after the smoke figures ran, checks (a) the hash lock: each smoke
 * `data.csv` has the sha256 committed in `experiments/smoke.lock.json`, and (b) the trends:
 * the paper's qualitative claims hold on those numbers (`experiments/trends.ts`).
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
import { type TrendCheck, TRENDS } from "./trends.ts";

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
    const trends = text === null ? [] : (TRENDS[figure]?.(parseCsv(text)) ?? []);
    const { backend, library } = await manifestBackend(join(out, figure));
    const key = lockKey(figure, backend, library);
    checks.push({
      figure,
      key,
      sha256: text === null ? null : sha256Hex(text),
      locked: lock[key] ?? null,
      unlockedNative: lock[key] === undefined && backend === "native" &&
        Object.keys(lock).some((k) => k.startsWith(`${figure}@native `)),
      trends,
    });
  }
  return checks;
}

/** Whether every hash matches its lock and every trend holds. */
export function allPass(checks: readonly FigureCheck[], ignoreLock = false): boolean {
  return checks.every((c) =>
    c.sha256 !== null && (ignoreLock || c.sha256 === c.locked || c.unlockedNative === true) &&
    c.trends.every((t) => t.pass)
  );
}

function report(checks: readonly FigureCheck[]): string[] {
  const lines: string[] = [];
  for (const c of checks) {
    const lock = c.sha256 === null
      ? "MISSING data.csv"
      : c.sha256 === c.locked
      ? "hash ok"
      : c.unlockedNative
      ? "no lock entry for this native library (the lock has another's): trends only"
      : `HASH ${c.sha256.slice(0, 12)} ≠ lock ${c.locked?.slice(0, 12) ?? "(none)"}`;
    lines.push(`${c.key}: ${lock}`);
    for (const t of c.trends) lines.push(`  ${t.pass ? "PASS" : "FAIL"} ${t.claim}: ${t.detail}`);
  }
  return lines;
}

const HELP = `Usage: deno task smoke-check [--out DIR] [--figures a,b,...] [--relock]

Checks the smoke figures under DIR (default results/ci): each data.csv against the sha256 in
experiments/smoke.lock.json (the entry "<figure>@native" when the figure's manifest names the
native backend), and the paper's trends on its numbers. Exits 1 on any failure.

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
