/**
 * The sweep store: content-addressed states and measurements shared by every figure.
 *
 * Layout under the store root (by default `<out>/sweep/`):
 *
 *     states/<id>.safetensors          the run state after a train job (a checkpoint)
 *     states/<id>.json                 its record: the job, per-epoch records, checkpoint sha256
 *     states/<id>.partial.safetensors  an unfinished job's last epoch (to resume from)
 *     measures/<id>.json               a measurement's result
 *     states/<id>.lock, measures/<id>.lock  held while a process computes the job (`core/lock.ts`)
 *
 * A record is written after its checkpoint, atomically, so a record exists only for a complete
 * state. Every record carries the digest of its own content (`core/integrity.ts`) and a state
 * record the sha256 of its checkpoint; every read checks them, and a damaged entry is reported
 * in one line, moved aside and recomputed (or, under `--strict`, is an error). State records carry the hash of the training code and measurement records the hash
 * of the measuring code: a result computed by other code is treated as missing and
 * recomputed, never reused. The two are separate so that changing a measurement does not
 * retrain anything.
 *
 * @module
 */
import { join } from "node:path";
import type { Json } from "../config.ts";
import { fileSha256, sha256Hex } from "../hash.ts";
import { writeFileAtomic } from "../atomic.ts";
import { digestProblem, reportCorrupt, seal } from "../integrity.ts";
import type { Job, MeasureJob, TrainJob } from "./plan.ts";

/** The record of a finished train job. */
export interface StateRecord {
  id: string;
  job: TrainJob;
  /** Per-epoch records of epochs [from, to), as the experiment logs them. */
  records: Json[];
  /** sha256 of the checkpoint file. */
  checkpointSha256: string;
  codeHash: string;
  /** Wall seconds of the job (not part of any hash-locked output). */
  seconds: number;
  /** Digest of the record's own content (see `core/integrity.ts`). */
  digest?: string;
}

/** The record of a finished measurement. */
export interface MeasureRecord {
  id: string;
  job: MeasureJob;
  result: Json;
  codeHash: string;
  seconds: number;
  /** Digest of the record's own content (see `core/integrity.ts`). */
  digest?: string;
}

/**
 * What a check of a stored entry found: `ok`, `missing` (nothing stored), `stale` (stored
 * by other code: a different job, not damage) or `corrupt` (with the reason).
 */
export type EntryCheck =
  | { status: "ok" | "missing" | "stale" }
  | { status: "corrupt"; problem: string };

/**
 * A sweep store at `root` for states of the training code `codeHash` and measurements of the
 * code `measureCodeHash` (default: the same).
 */
export class SweepStore {
  readonly root: string;
  readonly codeHash: string;
  readonly measureCodeHash: string;

  constructor(root: string, codeHash: string, measureCodeHash: string = codeHash) {
    this.root = root;
    this.codeHash = codeHash;
    this.measureCodeHash = measureCodeHash;
  }

  /** Creates the store's folders (before writing partial checkpoints into them). */
  async ensure(): Promise<void> {
    await Deno.mkdir(join(this.root, "states"), { recursive: true });
    await Deno.mkdir(join(this.root, "measures"), { recursive: true });
  }

  /** Path of a state's checkpoint. */
  checkpointPath(id: string): string {
    return join(this.root, "states", `${id}.safetensors`);
  }

  /** Path of an unfinished job's resumable checkpoint. */
  partialPath(id: string): string {
    return join(this.root, "states", `${id}.partial.safetensors`);
  }

  /** Path of a state's record. */
  stateRecordPath(id: string): string {
    return join(this.root, "states", `${id}.json`);
  }

  /** Path of a measurement's record. */
  measurePath(id: string): string {
    return join(this.root, "measures", `${id}.json`);
  }

  /** Path of the lock a process holds while it computes a job. */
  lockPath(job: Job): string {
    return join(this.root, job.kind === "train" ? "states" : "measures", `${job.id}.lock`);
  }

  /**
   * Checks a state: its record's digest and, unless `recordOnly`, its checkpoint's sha256.
   * Reads only; see {@link readState} for what happens to a damaged one.
   */
  async checkState(id: string, options: { recordOnly?: boolean } = {}): Promise<EntryCheck> {
    const read = await readSealedRecord(this.stateRecordPath(id));
    if (read === null) return { status: "missing" };
    const state = read.value as unknown as StateRecord | undefined;
    // A record of other code written before records had digests is merely stale.
    if (isPreDigestRecord(state, id) && state!.codeHash !== this.codeHash) {
      return { status: "stale" };
    }
    if (!state || read.problem) return { status: "corrupt", problem: read.problem! };
    if (state.id !== id) return { status: "corrupt", problem: `record names state ${state.id}` };
    if (state.codeHash !== this.codeHash) return { status: "stale" };
    if (options.recordOnly) return { status: "ok" };
    const sha = await fileSha256(this.checkpointPath(id)).catch(() => null);
    if (sha === null) return { status: "corrupt", problem: "checkpoint missing" };
    return sha === state.checkpointSha256
      ? { status: "ok" }
      : { status: "corrupt", problem: "checkpoint sha256 mismatch" };
  }

  /**
   * The record of a state this code trained, its digest checked but not its checkpoint
   * (enough for its per-epoch log). Null when missing, stale or damaged: a damaged one is
   * reported and moved aside, so it is recomputed.
   *
   * @throws {IntegrityError} under `--strict`, when the state is damaged.
   */
  readStateRecord(id: string): Promise<StateRecord | null> {
    return this.readCheckedState(id, { recordOnly: true });
  }

  /**
   * The record of a complete state of this code, its digest and checkpoint checked, or null
   * (missing, stale, or damaged: reported and moved aside, so it is recomputed).
   *
   * @throws {IntegrityError} under `--strict`, when the state is damaged.
   */
  readState(id: string): Promise<StateRecord | null> {
    return this.readCheckedState(id, {});
  }

  private async readCheckedState(
    id: string,
    options: { recordOnly?: boolean },
  ): Promise<StateRecord | null> {
    const check = await this.checkState(id, options);
    if (check.status === "corrupt") {
      await reportCorrupt(`state ${id.slice(0, 12)}`, check.problem, [
        this.stateRecordPath(id),
        this.checkpointPath(id),
      ]);
    }
    if (check.status !== "ok") return null;
    return JSON.parse(await Deno.readTextFile(this.stateRecordPath(id))) as StateRecord;
  }

  /** Writes a finished train job: checkpoint first, then its record; removes the partial. */
  async writeState(
    job: TrainJob,
    checkpoint: Uint8Array,
    info: { records: Json[]; seconds: number },
  ): Promise<StateRecord> {
    await Deno.mkdir(join(this.root, "states"), { recursive: true });
    await writeFileAtomic(this.checkpointPath(job.id), checkpoint);
    const record: StateRecord = seal({
      id: job.id,
      job,
      records: info.records,
      checkpointSha256: sha256Hex(checkpoint),
      codeHash: this.codeHash,
      seconds: info.seconds,
    });
    await writeFileAtomic(this.stateRecordPath(job.id), `${JSON.stringify(record, null, 1)}\n`);
    await Deno.remove(this.partialPath(job.id)).catch(() => {});
    return record;
  }

  /** Checks a measurement's record (its digest, and that this code measured it). */
  async checkMeasure(id: string): Promise<EntryCheck> {
    const read = await readSealedRecord(this.measurePath(id));
    if (read === null) return { status: "missing" };
    const measure = read.value as unknown as MeasureRecord | undefined;
    if (isPreDigestRecord(measure, id) && measure!.codeHash !== this.measureCodeHash) {
      return { status: "stale" };
    }
    if (!measure || read.problem) return { status: "corrupt", problem: read.problem! };
    if (measure.id !== id) return { status: "corrupt", problem: `record names ${measure.id}` };
    return measure.codeHash === this.measureCodeHash ? { status: "ok" } : { status: "stale" };
  }

  /**
   * The result of a finished measurement of this code, or null (missing, stale, or damaged:
   * reported and moved aside, so it is recomputed).
   *
   * @throws {IntegrityError} under `--strict`, when the record is damaged.
   */
  async readMeasure(id: string): Promise<MeasureRecord | null> {
    const check = await this.checkMeasure(id);
    if (check.status === "corrupt") {
      await reportCorrupt(`measurement ${id.slice(0, 12)}`, check.problem, [this.measurePath(id)]);
    }
    if (check.status !== "ok") return null;
    return JSON.parse(await Deno.readTextFile(this.measurePath(id))) as MeasureRecord;
  }

  /** Writes a finished measurement atomically. */
  async writeMeasure(job: MeasureJob, result: Json, seconds: number): Promise<MeasureRecord> {
    await Deno.mkdir(join(this.root, "measures"), { recursive: true });
    const record: MeasureRecord = seal({
      id: job.id,
      job,
      result,
      codeHash: this.measureCodeHash,
      seconds,
    });
    await writeFileAtomic(this.measurePath(job.id), `${JSON.stringify(record, null, 1)}\n`);
    return record;
  }

  /** Whether a job's output is complete in this store. */
  async isDone(job: Job): Promise<boolean> {
    return job.kind === "train"
      ? (await this.readState(job.id)) !== null
      : (await this.readMeasure(job.id)) !== null;
  }
}

/**
 * Whether a parsed record of entry `id` was written before records had digests: it has none,
 * but names its entry and its code (which is older code: it is stale, not damaged).
 */
export function isPreDigestRecord(value: unknown, id: string): boolean {
  const record = value as { digest?: unknown; id?: unknown; codeHash?: unknown } | undefined;
  return record?.digest === undefined && record?.id === id && typeof record?.codeHash === "string";
}

/**
 * A stored record, parsed, with its digest checked: null when the file is absent; else the
 * parsed `value` (when it parses) and the `problem` (null when the digest matches).
 */
export async function readSealedRecord(
  path: string,
): Promise<{ value?: Record<string, Json>; problem: string | null } | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    return { problem: `record unreadable (${(err as Error).message})` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: "record is not valid JSON" };
  }
  const problem = digestProblem(value);
  const object = typeof value === "object" && value !== null && !Array.isArray(value);
  return { value: object ? value as Record<string, Json> : undefined, problem };
}
