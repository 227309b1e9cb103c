/**
 * Lock files, so that cooperating processes — several runs on one `--out`, or Slurm shards on
 * a shared file system — never do the same work twice.
 *
 * A lock is a file created exclusively (`createNew`: the file system lets exactly one creator
 * win) holding the holder's PID, host and start time. The holder refreshes its modification
 * time every {@link LOCK_REFRESH_MS}. A lock is stale, and is broken, when its holder is on this
 * host and its PID is no longer alive, or when it has not been refreshed for
 * {@link LOCK_STALE_MS} (a holder on another host that died, or lost its file system).
 *
 * @module
 */
import { hostname } from "node:os";

/** How often a holder refreshes its lock's modification time. */
export const LOCK_REFRESH_MS = 30_000;

/**
 * A lock not refreshed for this long is stale whoever holds it (ten minutes: twenty missed
 * refreshes, which also absorbs modest clock skew between the hosts of a shared file system).
 */
export const LOCK_STALE_MS = 10 * 60_000;

/** What a lock file holds. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  startedAt: string;
}

/** A held lock; {@link HeldLock.release} removes it. */
export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

/** This process as a lock owner. */
export function thisOwner(): LockOwner {
  return { pid: Deno.pid, host: hostname(), startedAt: new Date().toISOString() };
}

/** Whether a process of this host is alive (Linux's /proc; elsewhere assumed alive). */
function processAlive(pid: number): boolean {
  try {
    Deno.statSync("/proc/self");
  } catch {
    return true; // no /proc: only the refresh bound can tell
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the lock at `path` is stale (for the message), or null while its holder may be alive.
 * An unreadable or half-written lock counts by its age alone.
 */
export async function staleReason(
  path: string,
  now = Date.now(),
  staleMs = LOCK_STALE_MS,
): Promise<string | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    return null; // gone: nothing to break
  }
  const owner = await readOwner(path);
  if (owner && owner.host === hostname() && owner.pid !== Deno.pid && !processAlive(owner.pid)) {
    return `process ${owner.pid} on ${owner.host} is gone`;
  }
  const age = now - (info.mtime?.getTime() ?? now);
  if (age > staleMs) {
    const who = owner ? `process ${owner.pid} on ${owner.host}` : "an unreadable owner";
    return `not refreshed by ${who} for ${Math.round(age / 1000)} s`;
  }
  return null;
}

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse(await Deno.readTextFile(path));
    return typeof owner?.pid === "number" && typeof owner?.host === "string" ? owner : null;
  } catch {
    return null;
  }
}

/**
 * Tries to take the lock at `path`: the held lock, or null when another live process holds
 * it. A stale lock is broken (with a line saying whose it was) and taken.
 */
export async function tryLock(path: string): Promise<HeldLock | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      try {
        await file.write(new TextEncoder().encode(`${JSON.stringify(thisOwner())}\n`));
      } finally {
        file.close();
      }
      return holding(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const stale = await staleReason(path);
    if (stale === null) return null;
    console.error(`lock ${path}: stale (${stale}); taking it over`);
    // Renaming first means only one of several breakers removes it.
    const aside = `${path}.stale-${Deno.pid}`;
    try {
      await Deno.rename(path, aside);
      await Deno.remove(aside);
    } catch {
      // another process broke it first; try to create it once more
    }
  }
  return null;
}

function holding(path: string): HeldLock {
  const timer = setInterval(() => {
    const now = new Date();
    Deno.utime(path, now, now).catch(() => {});
  }, LOCK_REFRESH_MS);
  Deno.unrefTimer(timer);
  return {
    path,
    async release() {
      clearInterval(timer);
      await Deno.remove(path).catch(() => {});
    },
  };
}
