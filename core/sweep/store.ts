/**
 * The sweep store: content-addressed states and measurements shared by every figure.
 *
 * Layout under the store root (by default `<out>/sweep/`):
 *
 *     states/<id>.safetensors          the run state after a train job (a checkpoint)
 *     states/<id>.json                 its record: the job, per-epoch records, checkpoint sha256
 *     states/<id>.partial.safetensors  an unfinished job's last epoch (to resume from)
 *     measures/<id>.json               a measurement's result
 *
 * A record is written after its checkpoint, atomically, so a record exists only for a complete
 * state. State records carry the hash of the training code and measurement records the hash
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
}

/** The record of a finished measurement. */
export interface MeasureRecord {
  id: string;
  job: MeasureJob;
  result: Json;
  codeHash: string;
  seconds: number;
}

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

  private stateRecordPath(id: string): string {
    return join(this.root, "states", `${id}.json`);
  }

  private measurePath(id: string): string {
    return join(this.root, "measures", `${id}.json`);
  }

  /**
   * The record of a state this code trained, without verifying its checkpoint: enough for
   * its per-epoch log, and no checkpoint read. Null when missing or stale.
   */
  async readStateRecord(id: string): Promise<StateRecord | null> {
    const record = await readJson<StateRecord>(this.stateRecordPath(id));
    return record && record.id === id && record.codeHash === this.codeHash ? record : null;
  }

  /** The record of a complete state of this code, or null (missing, stale or damaged). */
  async readState(id: string): Promise<StateRecord | null> {
    const record = await this.readStateRecord(id);
    if (!record) return null;
    const sha = await fileSha256(this.checkpointPath(id)).catch(() => null);
    return sha === record.checkpointSha256 ? record : null;
  }

  /** Writes a finished train job: checkpoint first, then its record; removes the partial. */
  async writeState(
    job: TrainJob,
    checkpoint: Uint8Array,
    info: { records: Json[]; seconds: number },
  ): Promise<StateRecord> {
    await Deno.mkdir(join(this.root, "states"), { recursive: true });
    await writeFileAtomic(this.checkpointPath(job.id), checkpoint);
    const record: StateRecord = {
      id: job.id,
      job,
      records: info.records,
      checkpointSha256: sha256Hex(checkpoint),
      codeHash: this.codeHash,
      seconds: info.seconds,
    };
    await writeFileAtomic(this.stateRecordPath(job.id), `${JSON.stringify(record, null, 1)}\n`);
    await Deno.remove(this.partialPath(job.id)).catch(() => {});
    return record;
  }

  /** The result of a finished measurement of this code, or null. */
  async readMeasure(id: string): Promise<MeasureRecord | null> {
    const record = await readJson<MeasureRecord>(this.measurePath(id));
    return record && record.id === id && record.codeHash === this.measureCodeHash ? record : null;
  }

  /** Writes a finished measurement atomically. */
  async writeMeasure(job: MeasureJob, result: Json, seconds: number): Promise<MeasureRecord> {
    await Deno.mkdir(join(this.root, "measures"), { recursive: true });
    const record: MeasureRecord = {
      id: job.id,
      job,
      result,
      codeHash: this.measureCodeHash,
      seconds,
    };
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

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return null;
  }
}
