/**
 * `deno task runs`: the runs of a result store as a table.
 *
 *     deno task runs [--out DIR] [--figure NAME[,NAME]] [--status STATUS[,STATUS]] [--json]
 *
 * A run is listed once per figure that uses it (sweep figures name their runs in
 * `summary.runs` of their manifest), and run end states in a sweep store that no figure
 * names are listed with figure `—`. Status:
 *
 * - `complete`: its state record and checkpoint are stored (checkpoint sha256 verified);
 * - `stale`: complete, but trained by other training code (a sweep would recompute it);
 * - `partial`: an unfinished job left `<id>.partial.safetensors` to resume from;
 * - `corrupt`: a record or checkpoint is stored but fails its digest (edited or damaged; the
 *   next sweep moves it aside and recomputes it, `deno task verify` names the file);
 * - `missing`: nothing stored.
 *
 * The final test error is the last epoch record's; λ_max comes from a stored sharpness
 * measurement of the run (the first by measurement id when there are several).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { CliError, parseToolArgs, runMain } from "../core/cli.ts";
import { formatPhaseSpec } from "../core/schedule.ts";
import { fileSha256 } from "../core/hash.ts";
import {
  isPreDigestRecord,
  type MeasureRecord,
  readSealedRecord,
  type StateRecord,
} from "../core/sweep/store.ts";
import { workerCodeHash } from "./audit_run.ts";
import { displayPath, findFigureFolders, sweepStores } from "./discover.ts";
import { formatNumber } from "./numbers.ts";

/** Where a run stands in its store. */
export type RunStatus = "complete" | "stale" | "partial" | "corrupt" | "missing";

/** The statuses, for validating `--status`. */
export const RUN_STATUSES: readonly RunStatus[] = [
  "complete",
  "stale",
  "partial",
  "corrupt",
  "missing",
];

/** One row of the listing. */
export interface RunRow {
  /** The figure that lists the run, or null for a stored run no figure lists. */
  figure: string | null;
  scale: string | null;
  configHash: string | null;
  id: string;
  seed: number | null;
  phases: string | null;
  status: RunStatus;
  /** Final test error (%), when the run is stored. */
  testError: number | null;
  lambdaMax: number | null;
  /** The sweep store it belongs to. */
  store: string;
}

async function readJsonFiles<T>(dir: string): Promise<T[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
    }
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const name of names.sort()) {
    try {
      out.push(JSON.parse(await Deno.readTextFile(join(dir, name))));
    } catch {
      // an unreadable record counts as absent
    }
  }
  return out;
}

/** What one sweep store holds, indexed for the listing. */
export interface StoreIndex {
  root: string;
  states: Map<string, StateRecord>;
  /** State ids with a partial checkpoint. */
  partials: Set<string>;
  /** State ids whose record fails its digest, with the record as far as it parses. */
  corrupt: Map<string, StateRecord | null>;
  /** State id → λ_max of its first sharpness measurement (by measurement id). */
  lambdaMax: Map<string, number>;
  /** Checkpoint checks made so far: state id → whether its file matches its record. */
  checked: Map<string, Promise<boolean>>;
}

/** Reads a sweep store's records, partial checkpoints and sharpness measurements. */
export async function indexStore(root: string): Promise<StoreIndex> {
  const states = new Map<string, StateRecord>();
  const partials = new Set<string>();
  const corrupt = new Map<string, StateRecord | null>();
  const records: string[] = [];
  try {
    for await (const e of Deno.readDir(join(root, "states"))) {
      const partial = /^([0-9a-f]{64})\.partial\.safetensors$/.exec(e.name);
      if (partial) partials.add(partial[1]);
      if (/^[0-9a-f]{64}\.json$/.test(e.name)) records.push(e.name);
    }
  } catch {
    // no states folder
  }
  for (const name of records.sort()) {
    const read = await readSealedRecord(join(root, "states", name));
    const r = read?.value as StateRecord | undefined;
    // Records written before digests carry none: read as they are (their code is older).
    if (r && (read!.problem === null || isPreDigestRecord(r, name.slice(0, -".json".length)))) {
      if (typeof r.id === "string" && r.job?.kind === "train") states.set(r.id, r);
    } else corrupt.set(name.slice(0, -".json".length), r?.job?.kind === "train" ? r : null);
  }
  const lambdaMax = new Map<string, number>();
  const measures = (await readJsonFiles<MeasureRecord>(join(root, "measures")))
    .filter((m) => (m?.job?.spec as { kind?: unknown } | null)?.kind === "sharpness")
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const m of measures) {
    const value = (m.result as { eigenvalues?: unknown } | null)?.eigenvalues;
    const input = m.job.inputs[0];
    if (m.job.inputs.length === 1 && Array.isArray(value) && typeof value[0] === "number") {
      if (!lambdaMax.has(input)) lambdaMax.set(input, value[0]);
    }
  }
  return { root, states, partials, corrupt, lambdaMax, checked: new Map() };
}

/**
 * Whether a state's checkpoint matches its record, hashed on first asking: only the states
 * that become rows are read, not every trunk segment of the store.
 */
function checkpointMatches(index: StoreIndex, record: StateRecord): Promise<boolean> {
  let check = index.checked.get(record.id);
  if (!check) {
    check = fileSha256(join(index.root, "states", `${record.id}.safetensors`))
      .then((sha) => sha === record.checkpointSha256, () => false);
    index.checked.set(record.id, check);
  }
  return check;
}

async function statusOf(
  index: StoreIndex,
  id: string,
  codeHash: string | null,
): Promise<RunStatus> {
  const record = index.states.get(id);
  if (index.corrupt.has(id)) return "corrupt";
  if (record) {
    if (!(await checkpointMatches(index, record))) return "corrupt";
    return codeHash !== null && record.codeHash !== codeHash ? "stale" : "complete";
  }
  return index.partials.has(id) ? "partial" : "missing";
}

async function rowFor(
  index: StoreIndex,
  id: string,
  codeHash: string | null,
  from: Pick<RunRow, "figure" | "scale" | "configHash" | "seed" | "phases">,
): Promise<RunRow> {
  const status = await statusOf(index, id, codeHash);
  const record = index.states.get(id);
  const last = (record?.records?.at(-1) ?? null) as { testAcc?: unknown } | null;
  const stored = status === "complete" || status === "stale";
  return {
    ...from,
    id,
    status,
    testError: stored && typeof last?.testAcc === "number" ? 100 * (1 - last.testAcc) : null,
    lambdaMax: index.lambdaMax.get(id) ?? null,
    store: index.root,
  };
}

/**
 * Lists the runs under a result root: every run a figure manifest lists (from the sweep store
 * beside the figure folder), then every stored run end state (a state after its last epoch)
 * that no figure lists. `codeHash` (the training code now) tells stale states apart; null
 * skips that check.
 */
export async function listRuns(
  out: string,
  options: { codeHash: string | null },
): Promise<RunRow[]> {
  const indexes = new Map<string, StoreIndex>();
  const indexOf = async (root: string) => {
    let index = indexes.get(root);
    if (!index) {
      index = await indexStore(root);
      indexes.set(root, index);
    }
    return index;
  };
  for (const store of await sweepStores(out)) await indexOf(store);
  const rows: RunRow[] = [];
  const listed = new Set<string>();
  const { folders } = await findFigureFolders([out]);
  for (const folder of folders) {
    const runs = (folder.manifest.summary as { runs?: unknown } | null)?.runs;
    if (!Array.isArray(runs)) continue;
    const index = await indexOf(join(dirname(folder.dir), "sweep"));
    for (const run of runs as Record<string, unknown>[]) {
      if (typeof run?.id !== "string") continue;
      listed.add(`${index.root}\0${run.id}`);
      rows.push(
        await rowFor(index, run.id, options.codeHash, {
          figure: folder.manifest.figure,
          scale: folder.manifest.scale,
          configHash: folder.manifest.configHash,
          seed: typeof run.seed === "number" ? run.seed : null,
          phases: typeof run.phases === "string" ? run.phases : null,
        }),
      );
    }
  }
  for (const index of indexes.values()) {
    const stored = [...index.states.values(), ...index.corrupt.values()]
      .filter((r): r is StateRecord => r !== null);
    const ends = stored
      .filter((r) => r.job.to === r.job.epochs && !listed.has(`${index.root}\0${r.id}`))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const r of ends) {
      const seed = (r.job.base as { seed?: unknown } | null)?.seed;
      rows.push(
        await rowFor(index, r.id, options.codeHash, {
          figure: null,
          scale: null,
          configHash: null,
          seed: typeof seed === "number" ? seed : null,
          phases: formatPhaseSpec(r.job.phases),
        }),
      );
    }
  }
  return rows;
}

/** Rows kept by the `--figure` and `--status` filters (empty lists keep everything). */
export function filterRuns(
  rows: readonly RunRow[],
  filter: { figures?: readonly string[]; statuses?: readonly RunStatus[] },
): RunRow[] {
  return rows.filter((r) =>
    (!filter.figures?.length || filter.figures.includes(r.figure ?? "-")) &&
    (!filter.statuses?.length || filter.statuses.includes(r.status))
  );
}

const COLUMNS = [
  "figure",
  "scale",
  "config",
  "run",
  "seed",
  "phases",
  "status",
  "test error %",
  "λ_max",
] as const;

/** The rows as an aligned text table (hashes shortened to 12 digits). */
export function runsTableText(rows: readonly RunRow[]): string {
  const cells = rows.map((r) => [
    r.figure ?? "—",
    r.scale ?? "—",
    r.configHash?.slice(0, 12) ?? "—",
    r.id.slice(0, 12),
    r.seed === null ? "—" : String(r.seed),
    r.phases ?? "—",
    r.status,
    r.testError === null ? "—" : formatNumber(r.testError),
    r.lambdaMax === null ? "—" : formatNumber(r.lambdaMax),
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (row: readonly string[]) =>
    row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(COLUMNS), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

const HELP =
  `Usage: deno task runs [--out DIR] [--figure NAME[,NAME]] [--status STATUS[,STATUS]] [--json]

Lists the runs of the result store under DIR (default results): figure, scale, config hash,
run hash, seed, phases, status, final test error and λ_max. Statuses: complete, stale (trained
by other training code), partial (resumable), corrupt (a stored file fails its digest; deno task
verify names it), missing. Runs no figure lists have figure "-".

Options:
  --out DIR          result root (default results)
  --figure NAMES     only these figures (comma-separated; "-" for unlisted runs)
  --status STATUSES  only these statuses (comma-separated)
  --json             print the rows as JSON (full hashes)
  -h, --help         show this help`;

async function main(args: string[]): Promise<void> {
  const parsed = parseToolArgs("runs", args, {
    out: { type: "string", default: "results" },
    figure: { type: "string", multiple: true },
    status: { type: "string", multiple: true },
    json: { type: "boolean", default: false },
  }, { help: HELP });
  if (!parsed) return;
  const { values } = parsed;
  const split = (v: string[] | undefined) => (v ?? []).flatMap((s) => s.split(",")).filter(Boolean);
  const statuses = split(values.status);
  for (const s of statuses) {
    if (!RUN_STATUSES.includes(s as RunStatus)) {
      throw new CliError(`runs: unknown status "${s}"; choose from ${RUN_STATUSES.join(", ")}`);
    }
  }
  if (!(await Deno.stat(values.out!).then((s) => s.isDirectory, () => false))) {
    throw new CliError(`runs: no result root at ${values.out}`);
  }
  const rows = filterRuns(await listRuns(values.out!, { codeHash: await workerCodeHash() }), {
    figures: split(values.figure),
    statuses: statuses as RunStatus[],
  });
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    console.log(`runs: no runs under ${displayPath(values.out!)} match`);
    return;
  }
  console.log(runsTableText(rows));
  const counts = RUN_STATUSES.map((s) => [s, rows.filter((r) => r.status === s).length] as const)
    .filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
  const noun = rows.length === 1 ? "run" : "runs";
  console.log(`${rows.length} ${noun} (${counts.join(", ")}) under ${displayPath(values.out!)}`);
}

if (import.meta.main) await runMain(() => main(Deno.args));
