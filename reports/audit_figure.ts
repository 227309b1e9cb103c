/**
 * Auditing a figure: re-run exactly what its manifest records (the stored config with
 * `--config`, the same scale; the config fixes seeds and backend) with the figure's own task,
 * in a fresh result root, so nothing is reused from an existing sweep store, and compare every
 * output file byte for byte (as sha256).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { collectEnvironment, sourceHash } from "../core/provenance.ts";
import { fileSha256 } from "../core/hash.ts";
import { MANIFEST_FILE } from "../core/store.ts";
import {
  type Checkout,
  compareOutputs,
  type CsvDifference,
  csvDifferences,
  type FileComparison,
  provenanceFindings,
} from "./compare.ts";
import { parseManifest, readFigureFolder, type ReportManifest } from "./discover.ts";
import { type ScriptTask, scriptTasks, taskFor } from "./tasks.ts";

/** The project root (where `deno.json` and the task scripts are). */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** An audit that could not be carried out (not a mismatch: the re-run did not happen). */
export class AuditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuditError";
  }
}

/** The checkout the audit runs in (git commit, dirty flag, lock hash, source-file hash). */
export async function currentCheckout(root = PROJECT_ROOT): Promise<Checkout> {
  const env = await collectEnvironment(root.replace(/\/$/, ""));
  return {
    commit: env.git.commit,
    dirty: env.git.dirty,
    lockSha256: env.denoLockSha256,
    codeHash: await sourceHash(root.replace(/\/$/, "")),
  };
}

/** Options of {@link auditFigure}. */
export interface FigureAuditOptions {
  /** Scratch folder (created; must be empty or absent); default a new temporary one. */
  scratch?: string;
  /** Keep the scratch folder afterwards. */
  keep?: boolean;
  /** The task to re-run with (default: found from the figure's name). */
  task?: string;
  /** Run flags passed through (results do not depend on them). */
  dataDir?: string;
  workers?: number;
  /** Show the re-run's output (default: keep it and show its tail on failure). */
  echo?: boolean;
  /** Called with each line of the audit's own report as it goes. */
  log?: (line: string) => void;
}

/** What a figure audit found. */
export interface FigureAudit {
  dir: string;
  manifest: ReportManifest;
  task: ScriptTask;
  /** How the result's code differs from the checkout (reported before re-running). */
  provenance: string[];
  /** The re-run's command line. */
  command: string[];
  scratch: string;
  /** Config hash, backend and dataset checks: [what, ok, detail]. */
  checks: { what: string; ok: boolean; detail: string }[];
  files: FileComparison[];
  /** For each CSV file that differs, its first differing lines. */
  csv: Record<string, ReturnType<typeof csvDifferences>>;
  ok: boolean;
}

const decoder = new TextDecoder();

async function storedHashes(dir: string, names: readonly string[]) {
  const out: Record<string, string | null> = {};
  for (const name of names) out[name] = await fileSha256(join(dir, name)).catch(() => null);
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}

/**
 * Re-runs a stored figure and compares its outputs.
 *
 * @throws {AuditError} when the task cannot be found or the re-run fails or writes no manifest.
 */
export async function auditFigure(
  dir: string,
  options: FigureAuditOptions = {},
): Promise<FigureAudit> {
  const log = options.log ?? (() => {});
  const { manifest } = await readFigureFolder(dir);
  const tasks = scriptTasks(await Deno.readTextFile(join(PROJECT_ROOT, "deno.json")));
  const declared = typeof manifest.task === "string" ? manifest.task : undefined;
  const task = taskFor(manifest.figure, tasks, { task: options.task ?? declared });

  const checkout = await currentCheckout();
  const provenance = provenanceFindings({
    commit: manifest.environment?.git?.commit ?? null,
    dirty: manifest.environment?.git?.dirty ?? null,
    lockSha256: manifest.environment?.denoLockSha256 ?? null,
    codeHash: manifest.codeHash ?? null,
  }, checkout);
  log(
    `audit ${manifest.figure} (${manifest.scale} scale, config ${
      manifest.configHash.slice(0, 12)
    }) from ${dir}`,
  );
  if (provenance.length === 0) {
    log(`  provenance: same commit, clean trees, same deno.lock and source files as the checkout`);
  }
  for (const p of provenance) log(`  note: ${p}`);

  const scratch = options.scratch ?? (await Deno.makeTempDir({ prefix: "late-sam-audit-" }));
  await Deno.mkdir(scratch, { recursive: true });
  for await (const _ of Deno.readDir(scratch)) {
    throw new AuditError(`scratch folder ${scratch} is not empty; the audit needs a fresh one`);
  }
  try {
    const configPath = join(scratch, "config.json");
    await Deno.writeTextFile(configPath, `${JSON.stringify(manifest.config, null, 2)}\n`);
    const out = join(scratch, "results");
    const command = [
      Deno.execPath(),
      "run",
      "-A",
      task.script,
      "--config",
      configPath,
      "--scale",
      manifest.scale,
      "--out",
      out,
      "--force",
      ...(options.dataDir ? ["--data-dir", options.dataDir] : []),
      ...(options.workers ? ["--workers", String(options.workers)] : []),
    ];
    log(
      `  re-running in a fresh result root: deno task ${task.name} ${command.slice(4).join(" ")}`,
    );
    const child = await new Deno.Command(command[0], {
      args: command.slice(1),
      cwd: PROJECT_ROOT,
      stdout: options.echo ? "inherit" : "piped",
      stderr: options.echo ? "inherit" : "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!child.success) {
      const tail = options.echo
        ? ""
        : `\n${
          (decoder.decode(child.stdout) + decoder.decode(child.stderr)).trim().split("\n").slice(
            -20,
          )
            .join("\n")
        }`;
      throw new AuditError(
        `the re-run of ${manifest.figure} failed (exit code ${child.code})${tail}`,
      );
    }
    const rerunDir = join(out, manifest.figure);
    let rerun: ReportManifest;
    try {
      rerun = parseManifest(await Deno.readTextFile(join(rerunDir, MANIFEST_FILE)), rerunDir);
    } catch (err) {
      throw new AuditError(
        `task ${task.name} did not write ${manifest.figure}/${MANIFEST_FILE} (${
          (err as Error).message
        }); ` +
          "pass --task NAME if another task writes this figure",
      );
    }
    const checks = [
      {
        what: "config hash",
        ok: rerun.configHash === manifest.configHash,
        detail: rerun.configHash === manifest.configHash
          ? manifest.configHash.slice(0, 12)
          : `${manifest.configHash.slice(0, 12)} stored, ${rerun.configHash.slice(0, 12)} re-run`,
      },
      {
        what: "backend",
        ok: rerun.backend === manifest.backend,
        detail: rerun.backend === manifest.backend
          ? String(manifest.backend)
          : `${manifest.backend} stored, ${rerun.backend} re-run`,
      },
      {
        what: "dataset files",
        ok: sameJson(rerun.datasets, manifest.datasets),
        detail: sameJson(rerun.datasets, manifest.datasets)
          ? `${Object.keys(manifest.datasets ?? {}).length} files, same sha256`
          : "the re-run read dataset files with other sha256 (see both manifests)",
      },
    ];
    const files = compareOutputs(
      manifest.outputs,
      await storedHashes(dir, Object.keys(manifest.outputs)),
      rerun.outputs,
    );
    const csv: FigureAudit["csv"] = {};
    for (const f of files) {
      if (f.status === "match" || !f.file.endsWith(".csv")) continue;
      const a = await Deno.readTextFile(join(dir, f.file)).catch(() => "");
      const b = await Deno.readTextFile(join(rerunDir, f.file)).catch(() => "");
      csv[f.file] = csvDifferences(a, b);
    }
    const ok = checks.every((c) => c.ok) && files.every((f) => f.status === "match");
    return { dir, manifest, task, provenance, command, scratch, checks, files, csv, ok };
  } finally {
    if (!options.keep) await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/** The audit's verdict as lines: checks, one line per file, CSV differences, the summary. */
export function figureAuditLines(audit: FigureAudit): string[] {
  const lines: string[] = [];
  for (const c of audit.checks) {
    lines.push(`  ${c.ok ? "match   " : "MISMATCH"}  ${c.what.padEnd(14)} ${c.detail}`);
  }
  const width = Math.max(...audit.files.map((f) => f.file.length), 14);
  for (const f of audit.files) {
    const h = (s: string | null) => (s === null ? "—" : s.slice(0, 12));
    const detail = f.status === "match"
      ? h(f.recorded)
      : `${f.status}: manifest ${h(f.recorded)}, stored file ${h(f.stored)}, re-run ${h(f.rerun)}`;
    lines.push(
      `  ${f.status === "match" ? "match   " : "MISMATCH"}  ${f.file.padEnd(width)} ${detail}`,
    );
  }
  for (const [file, diff] of Object.entries(audit.csv)) {
    lines.push(
      `  ${file}: ${diff.total} differing line${
        diff.total === 1 ? "" : "s"
      } (stored ${diff.storedLines}, re-run ${diff.rerunLines}); first:`,
    );
    for (const d of diff.differences as CsvDifference[]) {
      lines.push(`    line ${d.line} stored: ${d.stored ?? "(none)"}`);
      lines.push(`    line ${d.line} re-run: ${d.rerun ?? "(none)"}`);
    }
  }
  const matched = audit.files.filter((f) => f.status === "match").length;
  const bad = audit.files.filter((f) => f.status !== "match").map((f) => f.file);
  lines.push(
    audit.ok
      ? `audit ${audit.manifest.figure}: FULL MATCH (${matched} of ${audit.files.length} files byte-identical)`
      : `audit ${audit.manifest.figure}: MISMATCH${bad.length ? ` in ${bad.join(", ")}` : ""}` +
        `${
          audit.checks.some((c) => !c.ok)
            ? ` (${audit.checks.filter((c) => !c.ok).map((c) => c.what).join(", ")} differ)`
            : ""
        }`,
  );
  return lines;
}
