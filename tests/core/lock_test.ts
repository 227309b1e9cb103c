import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { LOCK_STALE_MS, staleReason, tryLock } from "../../core/lock.ts";
import { captureErrors, withTempDir } from "../_helpers.ts";

/** A PID that no process has: a short-lived child's, after it exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("a lock is held by one taker at a time and free again once released", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "job.lock");
    const first = await tryLock(path);
    assert.ok(first);
    const owner = JSON.parse(await Deno.readTextFile(path));
    assert.equal(owner.pid, Deno.pid);
    assert.equal(owner.host, hostname());
    assert.ok(!Number.isNaN(Date.parse(owner.startedAt)));
    assert.equal(await tryLock(path), null); // held by a live process (this one)
    assert.equal(await staleReason(path), null);
    await first.release();
    const second = await tryLock(path);
    assert.ok(second);
    await second.release();
  });
});

Deno.test("a lock of a dead process on this host is stale and taken over", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "job.lock");
    const pid = await deadPid();
    const owner = { pid, host: hostname(), startedAt: new Date().toISOString() };
    await Deno.writeTextFile(path, JSON.stringify(owner));
    assert.equal(await staleReason(path), `process ${pid} on ${hostname()} is gone`);
    const { value: lock, lines } = await captureErrors(() => tryLock(path));
    assert.ok(lock);
    assert.match(
      lines[0],
      /^lock .*job\.lock: stale \(process \d+ on .* is gone\); taking it over$/,
    );
    assert.equal(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
    await lock.release();
  });
});

Deno.test("another host's lock is stale only after the refresh bound", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "job.lock");
    const owner = { pid: 1, host: "some-other-node", startedAt: new Date().toISOString() };
    await Deno.writeTextFile(path, JSON.stringify(owner));
    assert.equal(await staleReason(path), null);
    assert.equal(await tryLock(path), null);
    const later = Date.now() + LOCK_STALE_MS + 60_000;
    assert.match(
      (await staleReason(path, later))!,
      /^not refreshed by process 1 on some-other-node for \d+ s$/,
    );
    // An old modification time makes it stale now.
    const old = new Date(Date.now() - LOCK_STALE_MS - 60_000);
    await Deno.utime(path, old, old);
    const { value: lock } = await captureErrors(() => tryLock(path));
    assert.ok(lock);
    await lock.release();
  });
});
