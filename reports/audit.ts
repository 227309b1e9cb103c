/**
 * `deno task audit`: re-runs what a result records and compares it byte for byte.
 *
 *     deno task audit <figure folder | figure name | run hash> [--out DIR] [--scratch DIR]
 *                     [--keep] [--task NAME] [--data-dir DIR] [--workers N] [--quiet]
 *
 * - A figure folder (or a figure name, looked up under `--out`): its task re-runs the stored
 *   config and scale in a fresh result root; every output's sha256 is compared with the
 *   manifest's and the stored file's, and differing CSV files show their first differing rows.
 * - A run hash (a sweep state id, or a unique prefix of one, looked up in the sweep stores
 *   under `--out`): its chain of train jobs is re-trained in a scratch store; each state's
 *   checkpoint sha256 and per-epoch records are compared (wall time ignored).
 *
 * Where the result's code commit, lock file or source files differ from the checkout, that is
 * said before re-running. Exit code 0 on a full match, 1 on any mismatch or failed re-run,
 * 2 on a bad command line.
 *
 * @module
 */
import { join } from "node:path";
import { isFile } from "../core/atomic.ts";
import { CliError, parseToolArgs, runMain } from "../core/cli.ts";
import { MANIFEST_FILE } from "../core/store.ts";
import { AuditError, auditFigure, figureAuditLines } from "./audit_figure.ts";
import { auditRun, matchingStates, runAuditLines } from "./audit_run.ts";
import { displayPath, findFigureFolders, sweepStores } from "./discover.ts";
import { TaskError } from "./tasks.ts";

/** What an audit target names. */
export type AuditTarget =
  | { kind: "figure"; dir: string }
  | { kind: "run"; store: string; id: string };

/**
 * Resolves an audit target: a folder with a manifest, a figure name under `out`, or a run
 * hash (at least 6 hex digits) in a sweep store under `out`.
 *
 * @throws {CliError} when it names nothing, or several things.
 */
export async function resolveTarget(target: string, out: string): Promise<AuditTarget> {
  if (await isFile(join(target, MANIFEST_FILE))) return { kind: "figure", dir: target };
  const { folders } = await findFigureFolders([out]);
  const named = folders.filter((f) => f.manifest.figure === target);
  if (named.length === 1) return { kind: "figure", dir: named[0].dir };
  if (named.length > 1) {
    throw new CliError(
      `audit: figure ${target} has several results under ${out}: ${
        named.map((f) => `${displayPath(f.dir)} (${f.manifest.scale})`).join(", ")
      }; pass the folder instead`,
    );
  }
  if (/^[0-9a-f]{6,64}$/.test(target)) {
    const hits: { store: string; id: string }[] = [];
    for (const store of await sweepStores(out)) {
      for (const id of await matchingStates(store, target)) hits.push({ store, id });
    }
    const ids = [...new Set(hits.map((h) => h.id))];
    if (ids.length === 1) return { kind: "run", ...hits[0] };
    if (ids.length > 1) {
      throw new CliError(
        `audit: ${target} is a prefix of ${ids.length} states (${
          ids.slice(0, 4).map((i) => i.slice(0, 16)).join(", ")
        }…); give more digits`,
      );
    }
  }
  throw new CliError(
    `audit: ${target} is neither a figure folder, a figure under ${out} ` +
      `(found: ${[...new Set(folders.map((f) => f.manifest.figure))].join(", ") || "none"}), ` +
      `nor a run hash in a sweep store under ${out}`,
  );
}

const HELP = `Usage: deno task audit TARGET [--out DIR] [--scratch DIR] [--keep] [--task NAME]
                        [--data-dir DIR] [--workers N] [--quiet]

Re-runs what a result records, in a fresh scratch folder (nothing is reused from existing
results), and compares every output byte for byte. TARGET is a figure folder (e.g.
results/ci/fig4a), a figure name under --out (e.g. fig4a), or a run hash from a sweep store
under --out (a state id, or a unique prefix of at least 6 hex digits; see deno task runs).
Exits 0 on a full match, 1 on a mismatch.

Options:
  --out DIR        result root to look TARGET up in (default results)
  --scratch DIR    where to re-run (default: a new temporary folder); must be empty
  --keep           keep the scratch folder afterwards
  --task NAME      the task that writes the figure (default: found from its name)
  --data-dir DIR   dataset folder for the re-run (does not change results)
  --workers N      worker processes for a figure re-run (does not change results)
  --quiet          do not show the re-run's own output
  -h, --help       show this help`;

async function main(args: string[]): Promise<void> {
  const parsed = parseToolArgs("audit", args, {
    out: { type: "string", default: "results" },
    scratch: { type: "string" },
    keep: { type: "boolean", default: false },
    task: { type: "string" },
    "data-dir": { type: "string" },
    workers: { type: "string" },
    quiet: { type: "boolean", default: false },
  }, { help: HELP, positionals: true });
  if (!parsed) return;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new CliError(`audit: give exactly one target (a figure folder, name or run hash)`);
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers > 0)) {
    throw new CliError(`audit: --workers must be a positive integer, got "${values.workers}"`);
  }
  const target = await resolveTarget(positionals[0], values.out!);
  const log = (line: string) => console.log(line);
  try {
    if (target.kind === "figure") {
      const audit = await auditFigure(target.dir, {
        scratch: values.scratch,
        keep: values.keep,
        task: values.task,
        dataDir: values["data-dir"],
        workers,
        echo: !values.quiet,
        log,
      });
      for (const line of figureAuditLines(audit)) console.log(line);
      if (values.keep) console.log(`  the re-run is kept in ${audit.scratch}`);
      if (!audit.ok) Deno.exit(1);
    } else {
      const audit = await auditRun(target.store, target.id, {
        scratch: values.scratch,
        keep: values.keep,
        dataDir: values["data-dir"],
        log,
      });
      for (const line of runAuditLines(audit)) console.log(line);
      if (values.keep) console.log(`  the re-run is kept in ${audit.scratch}`);
      if (!audit.ok) Deno.exit(1);
    }
  } catch (err) {
    if (err instanceof AuditError || err instanceof TaskError) {
      console.error(`audit: FAILED: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}

if (import.meta.main) await runMain(() => main(Deno.args));
