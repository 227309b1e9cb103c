/**
 * Shards: deterministic slices of a plan for independent machines (GitHub Actions matrix
 * jobs, Slurm array tasks), and the merge of their stores.
 *
 * A shard owns whole connected groups of jobs (a seed's trunk with all its tails and the
 * measurements on them), so no shard waits for another. Groups are assigned largest first to
 * the currently lightest shard (ties to the lowest index), which depends only on the plan.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../atomic.ts";
import { type Job, jobDependencies } from "./plan.ts";

/** Shard `index` of `count` (0-based). */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Parses `i/n` (0 ≤ i < n).
 *
 * @throws {RangeError} with the expected form.
 */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index >= count) {
    throw new RangeError(`--shard must be i/n with 0 <= i < n, e.g. 0/4; got "${text}"`);
  }
  return { index, count };
}

/** Groups of jobs connected through dependencies, each sorted in plan order. */
export function jobGroups(jobs: readonly Job[]): Job[][] {
  const parent = new Map<string, string>(jobs.map((j) => [j.id, j.id]));
  const find = (id: string): string => {
    let root = id;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(id, root);
    return root;
  };
  for (const job of jobs) {
    for (const dep of jobDependencies(job)) {
      if (parent.has(dep)) parent.set(find(dep), find(job.id));
    }
  }
  const groups = new Map<string, Job[]>();
  for (const job of jobs) {
    const root = find(job.id);
    groups.set(root, [...(groups.get(root) ?? []), job]);
  }
  return [...groups.values()];
}

/** The jobs of one shard, in plan order. */
export function shardJobs(jobs: readonly Job[], shard: Shard): Job[] {
  const groups = jobGroups(jobs).map((g) => ({
    jobs: g,
    cost: g.reduce((s, j) => s + j.cost, 0),
    key: g.map((j) => j.id).sort()[0],
  })).sort((a, b) => (b.cost - a.cost) || (a.key < b.key ? -1 : 1));
  const load = new Array(shard.count).fill(0);
  const mine = new Set<string>();
  for (const group of groups) {
    const target = load.indexOf(Math.min(...load));
    load[target] += group.cost;
    if (target === shard.index) { for (const j of group.jobs) mine.add(j.id); }
  }
  return jobs.filter((j) => mine.has(j.id));
}

/** What {@link mergeStores} did. */
export interface MergeReport {
  copied: number;
  identical: number;
}

/** Two stores disagree about a content-addressed file: a determinism failure. */
export class MergeConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MergeConflict";
  }
}

async function listTree(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(root, rel))) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) out.push(...(await listTree(root, path)));
      else if (entry.isFile && isStoredResult(entry.name)) {
        out.push(path);
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/** Results to copy: not unfinished work, temporaries, locks or damaged files moved aside. */
function isStoredResult(name: string): boolean {
  return ![".partial.", ".tmp-", ".lock", ".corrupt"].some((part) => name.includes(part));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Copies the sweep stores `sources` into `dest`. Checkpoints are content-addressed, so a file
 * present on both sides must have the same bytes; records (which hold wall times) must name
 * the same checkpoint hash. Checkpoints are copied before their records, so an interrupted
 * merge leaves no record without its checkpoint.
 *
 * @throws {MergeConflict} naming the first file that differs.
 */
export async function mergeStores(sources: readonly string[], dest: string): Promise<MergeReport> {
  const report: MergeReport = { copied: 0, identical: 0 };
  for (const source of sources) {
    const files = await listTree(source);
    // Checkpoints first, then the records that vouch for them.
    const ordered = [
      ...files.filter((f) => f.endsWith(".safetensors")),
      ...files.filter((f) => !f.endsWith(".safetensors")),
    ];
    for (const rel of ordered) {
      const bytes = await Deno.readFile(join(source, rel));
      const target = join(dest, rel);
      const existing = await Deno.readFile(target).catch(() => null);
      if (existing === null) {
        await Deno.mkdir(join(target, ".."), { recursive: true });
        await writeFileAtomic(target, bytes);
        report.copied++;
      } else if (sameBytes(existing, bytes) || sameRecord(existing, bytes)) {
        report.identical++;
      } else {
        throw new MergeConflict(
          `${rel} differs between ${source} and ${dest}: the same job gave different results ` +
            `(different code, backend or a nondeterministic machine)`,
        );
      }
    }
  }
  return report;
}

/** Records of the same job agree when their results agree; wall times may differ. */
function sameRecord(a: Uint8Array, b: Uint8Array): boolean {
  try {
    const [x, y] = [a, b].map((bytes) => JSON.parse(new TextDecoder().decode(bytes)));
    const strip = (r: Record<string, unknown>) => {
      // Wall times differ between machines, and with them the record's own digest.
      const { seconds: _s, digest: _d, records, ...rest } = r;
      const epochs = Array.isArray(records)
        ? records.map((e) => ({ ...(e as Record<string, unknown>), seconds: undefined }))
        : records;
      return JSON.stringify({ ...rest, records: epochs });
    };
    return strip(x) === strip(y);
  } catch {
    return false;
  }
}
