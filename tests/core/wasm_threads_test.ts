import assert from "node:assert/strict";
import {
  BackendError,
  useBackend,
  WASM_THREADS_ENV,
  wasmThreadsFromEnv,
} from "../../core/backend.ts";

/** Runs the probe in its own process with `threads` wasm threads; its JSON line. */
async function probe(threads: number): Promise<{ threadCount: number; sha256: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_wasm_threads_probe.ts", import.meta.url).pathname],
    env: { [WASM_THREADS_ENV]: String(threads) },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(text.trim().split("\n").pop()!);
}

Deno.test("wasm on 2 threads trains bitwise like 1 thread (CNN and ResNet-20, SGD and SAM)", async () => {
  const one = await probe(1);
  const two = await probe(2);
  assert.equal(one.threadCount, 1);
  assert.equal(two.threadCount, 2);
  assert.equal(two.sha256, one.sha256);
});

Deno.test("the wasm thread count is fixed once wasm runs, and validated", async () => {
  await useBackend("wasm");
  await assert.rejects(() => useBackend("wasm", { threads: 2 }), (e: unknown) => {
    assert.ok(e instanceof BackendError);
    assert.match(e.message, /already running on 1 thread\(s\).*before the wasm backend/);
    return true;
  });
  assert.equal(await useBackend("wasm", { threads: 1 }), "wasm");
  const old = Deno.env.get(WASM_THREADS_ENV);
  try {
    Deno.env.set(WASM_THREADS_ENV, "two");
    assert.throws(() => wasmThreadsFromEnv(), /must be a positive integer, got "two"/);
    Deno.env.set(WASM_THREADS_ENV, "3");
    assert.equal(wasmThreadsFromEnv(), 3);
    Deno.env.delete(WASM_THREADS_ENV);
    assert.equal(wasmThreadsFromEnv(), null);
  } finally {
    if (old === undefined) Deno.env.delete(WASM_THREADS_ENV);
    else Deno.env.set(WASM_THREADS_ENV, old);
  }
  await useBackend("cpu");
});
