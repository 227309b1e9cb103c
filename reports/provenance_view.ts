/**
 * The provenance table of a figure: everything its manifest records about what produced it
 * (config and code hashes, seeds and streams, git commit and dirty flag, lock hash, runtime
 * versions, backend, dataset file hashes, start time and wall time, gradient evaluations,
 * output hashes) and, for sweep figures, the runs it drew from the sweep store.
 *
 * @module
 */
import type { ReportManifest } from "./discover.ts";
import { type Cell, formatNumber, objectsTable, type Table } from "./numbers.ts";

const code = (text: string): Cell => ({ text, mono: true });

function flattenSeeds(seeds: unknown, path: string[] = []): [string, string][] {
  if (seeds === null || seeds === undefined) return [];
  if (typeof seeds !== "object") return [[path.join(".") || "seed", String(seeds)]];
  if (Array.isArray(seeds)) {
    if (seeds.every((s) => typeof s !== "object" || s === null)) {
      return [[path.join(".") || "seeds", seeds.join(", ")]];
    }
    return [[path.join(".") || "seeds", JSON.stringify(seeds)]];
  }
  return Object.entries(seeds).flatMap(([key, value]) => flattenSeeds(value, [...path, key]));
}

/** Seconds for reading: `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds < 60) return `${formatNumber(Math.round(seconds * 10) / 10)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${String(Math.round(seconds - 60 * m)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** Planned / independent / spent gradient evaluations, or null when the summary has none. */
export function gradientEvaluations(summary: unknown): string | null {
  const g = (summary as { gradientEvaluations?: Record<string, unknown> } | null)
    ?.gradientEvaluations;
  if (typeof g !== "object" || g === null) return null;
  const n = (v: unknown) => (typeof v === "number" ? v.toLocaleString("en-US") : "?");
  const saved = typeof g.savedFraction === "number"
    ? `; branching saves ${(100 * g.savedFraction).toFixed(1)} %`
    : "";
  return `${n(g.planned)} planned, ${n(g.independent)} if every run trained alone, ` +
    `${n(g.spent)} spent by this invocation (the rest was reused from the sweep store)${saved}`;
}

/** The rows of the provenance table (field, value). */
export function provenanceTable(
  manifest: ReportManifest,
  options: { source: string },
): Table {
  const env = manifest.environment;
  const rows: Cell[][] = [];
  const add = (field: string, value: Cell | string) =>
    rows.push([{ text: field }, typeof value === "string" ? { text: value } : value]);
  add("result folder", code(options.source));
  add("figure / scale", `${manifest.figure} / ${manifest.scale}`);
  add("config hash", code(manifest.configHash));
  if (manifest.codeHash) add("code hash (source files)", code(manifest.codeHash));
  for (const [key, value] of flattenSeeds(manifest.seeds)) add(`seeds: ${key}`, value);
  const commit = env?.git?.commit;
  const dirty = env?.git?.dirty;
  add(
    "git commit",
    commit
      ? `${commit}${
        dirty === true ? " (work tree had uncommitted changes)" : dirty === false ? " (clean)" : ""
      }`
      : "not recorded (no git)",
  );
  add("deno.lock sha256", code(env?.denoLockSha256 ?? "not recorded"));
  if (env?.versions) {
    add(
      "versions",
      Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(", "),
    );
  }
  add("backend", manifest.backend ?? "not recorded");
  const datasets = Object.entries(manifest.datasets ?? {});
  if (datasets.length === 0) add("datasets", "none (a synthetic problem)");
  for (const [file, sha] of datasets) add(`dataset ${file}`, code(sha));
  if (manifest.startedAt) add("started at", manifest.startedAt);
  if (manifest.wallSeconds !== undefined) add("wall time", formatSeconds(manifest.wallSeconds));
  const grads = gradientEvaluations(manifest.summary);
  if (grads) add("gradient evaluations (mini-batches)", grads);
  for (const [file, sha] of Object.entries(manifest.outputs)) add(`sha256 ${file}`, code(sha));
  return { caption: "What produced this result", columns: ["field", "value"], rows };
}

/** The sweep runs a figure lists in `summary.runs`, or null when it lists none. */
export function runsTable(summary: unknown): Table | null {
  const runs = (summary as { runs?: unknown } | null)?.runs;
  if (!Array.isArray(runs) || runs.length === 0) return null;
  const rows = runs.filter((r): r is Record<string, unknown> =>
    typeof r === "object" && r !== null && !Array.isArray(r)
  );
  return objectsTable("Runs in the sweep store (summary.runs)", rows);
}
