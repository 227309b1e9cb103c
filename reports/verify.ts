/**
 * `deno task verify`: checks every stored byte of a result root against its digest, without
 * re-running anything, and names each bad file.
 *
 *     deno task verify [--out DIR] [--json]
 *
 * Checked: each figure folder's outputs against the sha256 its manifest lists; each sweep
 * store's state records (their own digest) and checkpoints (the sha256 the record holds),
 * measurement records (their digest), and unfinished checkpoints (`*.partial.safetensors`,
 * a figure folder's `last.safetensors` and `previous.safetensors`: their embedded digest).
 * Records of other code are not damage (a run recomputes them) and pass. Exit 1 when any file
 * is bad; `deno task audit` re-runs figures, this only reads.
 *
 * @module
 */
import { basename, join } from "node:path";
import { verifyCheckpoint } from "../core/checkpoint.ts";
import { CliError, parseToolArgs, runMain } from "../core/cli.ts";
import { fileSha256 } from "../core/hash.ts";
import { checkOutputs, type FileProblem, readManifest } from "../core/store.ts";
import { isPreDigestRecord, readSealedRecord, type StateRecord } from "../core/sweep/store.ts";
import { displayPath, findFigureFolders, sweepStores } from "./discover.ts";

/** What {@link verifyStore} found. */
export interface VerifyReport {
  /** Files checked. */
  checked: number;
  /** Each bad file with its problem, in path order. */
  bad: FileProblem[];
}

/** The checkpoints a figure folder may keep to resume from. */
const RESUME_CHECKPOINTS = ["last.safetensors", "previous.safetensors"];

async function listFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  } catch {
    // absent folder: nothing to check
  }
  return names.sort();
}

async function subfolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) out.push(join(dir, e.name));
  } catch {
    // not a folder: nothing below it
  }
  return out;
}

async function checkpointProblem(path: string): Promise<string | null> {
  try {
    verifyCheckpoint(await Deno.readFile(path), path);
    return null;
  } catch (err) {
    const message = (err as Error).message;
    return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
  }
}

/** Checks a sweep store's records and checkpoints. */
async function verifySweep(root: string, report: VerifyReport): Promise<void> {
  const bad = (file: string, problem: string) => report.bad.push({ file, problem });
  for (const folder of ["states", "measures"]) {
    const dir = join(root, folder);
    for (const name of await listFiles(dir)) {
      const path = join(dir, name);
      if (name.endsWith(".partial.safetensors")) {
        report.checked++;
        const problem = await checkpointProblem(path);
        if (problem) bad(path, problem);
      } else if (/^[0-9a-f]{64}\.json$/.test(name)) {
        report.checked++;
        const read = await readSealedRecord(path);
        const record = read?.value as StateRecord | undefined;
        // Records written before digests carry none; they belong to older code.
        if (read?.problem && !isPreDigestRecord(record, basename(name, ".json"))) {
          bad(path, read.problem);
          continue;
        }
        if (folder === "states" && record?.checkpointSha256) {
          const checkpoint = join(dir, `${basename(name, ".json")}.safetensors`);
          report.checked++;
          const sha = await fileSha256(checkpoint).catch(() => null);
          if (sha === null) bad(checkpoint, "missing (its record exists)");
          else if (sha !== record.checkpointSha256) {
            bad(checkpoint, "sha256 differs from its record's checkpointSha256");
          }
        }
      }
    }
  }
}

/** Checks every figure folder and sweep store under `out`. */
export async function verifyStore(out: string): Promise<VerifyReport> {
  const report: VerifyReport = { checked: 0, bad: [] };
  const { folders, problems } = await findFigureFolders([out]);
  for (const problem of problems) {
    const [file, ...why] = problem.split(": ");
    report.bad.push({ file, problem: why.join(": ") || "unreadable manifest" });
  }
  for (const { dir } of folders) {
    const manifest = await readManifest(dir);
    if (!manifest) {
      report.bad.push({ file: join(dir, "manifest.json"), problem: "no outputs listed" });
      continue;
    }
    report.checked += Object.keys(manifest.outputs).length;
    report.bad.push(...await checkOutputs(dir, manifest));
  }
  // A paused run's folder has no manifest yet, only the checkpoints it resumes from.
  const runDirs = new Set([...folders.map((f) => f.dir), ...await subfolders(out)]);
  for (const dir of [...runDirs].sort()) {
    for (const name of RESUME_CHECKPOINTS) {
      const path = join(dir, name);
      if (!(await Deno.stat(path).then(() => true, () => false))) continue;
      report.checked++;
      const problem = await checkpointProblem(path);
      if (problem) report.bad.push({ file: path, problem });
    }
  }
  for (const root of await sweepStores(out)) await verifySweep(root, report);
  report.bad.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return report;
}

const HELP = `Usage: deno task verify [--out DIR] [--json]

Checks every stored file under the result root DIR (default results) against its digest,
re-running nothing: figure outputs against their manifest, sweep state records and
checkpoints, measurement records, and the checkpoints a run resumes from. Prints each bad file
with its problem; exits 1 when any is bad.

Options:
  --out DIR   result root (default results)
  --json      print the report as JSON
  -h, --help  show this help`;

async function main(args: string[]): Promise<void> {
  const parsed = parseToolArgs("verify", args, {
    out: { type: "string", default: "results" },
    json: { type: "boolean", default: false },
  }, { help: HELP });
  if (!parsed) return;
  const out = parsed.values.out!;
  if (!(await Deno.stat(out).then((s) => s.isDirectory, () => false))) {
    throw new CliError(`verify: no result root at ${out}`);
  }
  const report = await verifyStore(out);
  if (parsed.values.json) console.log(JSON.stringify(report, null, 2));
  else {
    for (const { file, problem } of report.bad) {
      console.log(`BAD  ${displayPath(file)}: ${problem}`);
    }
    console.log(
      `verify: ${report.checked} files checked under ${displayPath(out)}, ` +
        `${report.bad.length} bad`,
    );
  }
  if (report.bad.length > 0) Deno.exit(1);
}

if (import.meta.main) await runMain(() => main(Deno.args));
