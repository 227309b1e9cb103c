/**
 * Auditing one run of a sweep store by its hash (a state id): re-train its chain of train
 * jobs (from a fresh initialization through every segment it branched from) in a scratch
 * store, with the project's sweep worker, and compare each state's checkpoint sha256 and its
 * per-epoch records (wall-time fields ignored) with the stored ones.
 *
 * @module
 */
import { join } from "node:path";
import { runStoreJobs, trainCodeHash } from "../experiments/sweep.ts";
import { fileSha256 } from "../core/hash.ts";
import type { TrainJob } from "../core/sweep/plan.ts";
import { type StateRecord, SweepStore } from "../core/sweep/store.ts";
import { AuditError } from "./audit_figure.ts";
import { recordDifference } from "./compare.ts";

/** The hash of the training code now (what sweep states are keyed by). */
export function workerCodeHash(): Promise<string> {
  return trainCodeHash();
}

async function readRecord(store: string, id: string): Promise<StateRecord | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(store, "states", `${id}.json`)));
  } catch {
    return null;
  }
}

/** All state ids of a store that start with `prefix`. */
export async function matchingStates(store: string, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  try {
    for await (const e of Deno.readDir(join(store, "states"))) {
      const m = /^([0-9a-f]{64})\.json$/.exec(e.name);
      if (m && m[1].startsWith(prefix)) ids.push(m[1]);
    }
  } catch {
    return [];
  }
  return ids.sort();
}

/**
 * The stored records of a state's chain, first segment first.
 *
 * @throws {AuditError} when a record of the chain is missing or names another state.
 */
export async function storedChain(store: string, id: string): Promise<StateRecord[]> {
  const chain: StateRecord[] = [];
  let next: string | null = id;
  while (next !== null) {
    const record: StateRecord | null = await readRecord(store, next);
    if (!record || record.id !== next || record.job?.kind !== "train") {
      throw new AuditError(
        `state ${next.slice(0, 12)} has no record in ${join(store, "states")}` +
          (next === id ? "" : ` (the chain of ${id.slice(0, 12)} is broken there)`),
      );
    }
    chain.unshift(record);
    next = record.job.parent;
  }
  return chain;
}

/** One state of the chain: stored and re-run checkpoint hashes and records. */
export interface StateComparison {
  id: string;
  /** Epochs [from, to) and phases of the segment. */
  job: Pick<TrainJob, "from" | "to" | "phases">;
  /** sha256 the stored record names, and of the stored checkpoint file as it is now. */
  recorded: string;
  storedFile: string | null;
  rerun: string | null;
  /** The first differing epoch record, or null when equal (wall time ignored). */
  recordDifference: string | null;
  ok: boolean;
}

/** What a run audit found. */
export interface RunAudit {
  id: string;
  store: string;
  /** Notes before re-running (e.g. the states were trained by other code). */
  provenance: string[];
  states: StateComparison[];
  scratch: string;
  ok: boolean;
}

/**
 * Re-trains a run's chain in a scratch store and compares every state.
 *
 * @throws {AuditError} when the chain is incomplete or a job fails.
 */
export async function auditRun(
  store: string,
  id: string,
  options: {
    scratch?: string;
    keep?: boolean;
    dataDir?: string;
    log?: (line: string) => void;
  } = {},
): Promise<RunAudit> {
  const log = options.log ?? (() => {});
  const chain = await storedChain(store, id);
  const codeHash = await workerCodeHash();
  const provenance: string[] = [];
  const stale = chain.filter((r) => r.codeHash !== codeHash);
  if (stale.length > 0) {
    provenance.push(
      `${stale.length} of ${chain.length} states were trained by other training code ` +
        `(code hash ${stale[0].codeHash.slice(0, 12)} recorded, ${codeHash.slice(0, 12)} now)`,
    );
  }
  const last = chain[chain.length - 1].job;
  log(
    `audit run ${
      id.slice(0, 12)
    } (${chain.length} train jobs, epochs 0–${last.to} of ${last.epochs}) ` +
      `from ${store}`,
  );
  for (const p of provenance) log(`  note: ${p}`);
  const scratch = options.scratch ?? (await Deno.makeTempDir({ prefix: "late-sam-audit-run-" }));
  await Deno.mkdir(scratch, { recursive: true });
  for await (const _ of Deno.readDir(scratch)) {
    throw new AuditError(`scratch folder ${scratch} is not empty; the audit needs a fresh one`);
  }
  try {
    const fresh = new SweepStore(join(scratch, "sweep"), codeHash);
    log(`  re-training the chain in a fresh store ${fresh.root}`);
    const jobs = chain.map((r) => r.job);
    // In a worker process, as a sweep runs it: the audit checks the project's own path.
    await runStoreJobs(fresh, jobs, {
      workers: 1,
      inProcess: false,
      dataDir: options.dataDir,
      onEvent: (e) => {
        if (e.type === "done" && e.job.kind === "train") {
          log(
            `  trained ${e.job.id.slice(0, 12)} (epochs ${e.job.from}–${e.job.to}) in ${
              e.seconds?.toFixed(1)
            } s`,
          );
        }
      },
    }).catch((err: Error) => {
      throw new AuditError(`re-training failed: ${err.message}`);
    });
    const states: StateComparison[] = [];
    for (const record of chain) {
      const again = await fresh.readState(record.id);
      const storedFile = await fileSha256(join(store, "states", `${record.id}.safetensors`))
        .catch(() => null);
      const difference = again
        ? recordDifference(record.records as unknown[], again.records as unknown[])
        : "no record re-run";
      const rerun = again?.checkpointSha256 ?? null;
      states.push({
        id: record.id,
        job: { from: record.job.from, to: record.job.to, phases: record.job.phases },
        recorded: record.checkpointSha256,
        storedFile,
        rerun,
        recordDifference: difference,
        ok: difference === null && storedFile === record.checkpointSha256 &&
          rerun === record.checkpointSha256,
      });
    }
    return { id, store, provenance, states, scratch, ok: states.every((s) => s.ok) };
  } finally {
    if (!options.keep) await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/** The run audit's verdict as lines. */
export function runAuditLines(audit: RunAudit): string[] {
  const lines: string[] = [];
  const h = (s: string | null) => (s === null ? "—" : s.slice(0, 12));
  for (const s of audit.states) {
    const what = `state ${s.id.slice(0, 12)} (epochs ${s.job.from}–${s.job.to})`;
    if (s.ok) {
      lines.push(`  match     ${what}: checkpoint ${h(s.recorded)}, records equal`);
      continue;
    }
    const parts: string[] = [];
    if (s.storedFile !== s.recorded) {
      parts.push(`stored checkpoint altered (${h(s.storedFile)} ≠ record ${h(s.recorded)})`);
    }
    if (s.rerun !== s.recorded) {
      parts.push(`checkpoint ${h(s.recorded)} stored, ${h(s.rerun)} re-run`);
    }
    if (s.recordDifference) parts.push(`records differ: ${s.recordDifference}`);
    lines.push(`  MISMATCH  ${what}: ${parts.join("; ")}`);
  }
  const matched = audit.states.filter((s) => s.ok).length;
  lines.push(
    audit.ok
      ? `audit run ${
        audit.id.slice(0, 12)
      }: FULL MATCH (${matched} of ${audit.states.length} states)`
      : `audit run ${audit.id.slice(0, 12)}: MISMATCH (${
        audit.states.length - matched
      } of ${audit.states.length} states differ)`,
  );
  return lines;
}
