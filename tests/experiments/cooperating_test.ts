import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../../core/hash.ts";
import { HAVE_FMNIST } from "../_helpers.ts";

const SCRIPT = fileURLToPath(new URL("./_cooperating_sweep.ts", import.meta.url));

function start(store: string, barrier?: string) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, store, ...(barrier ? [barrier] : [])],
    stdout: "piped",
    stderr: "piped",
  }).output().then((out) => {
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(text.trim().split("\n").at(-1)!) as { planned: number; spent: number };
  });
}

/** Every checkpoint and every record (its wall time and digest left out) of a store. */
async function contents(store: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(join(store, "states"))) {
    const bytes = await Deno.readFile(join(store, "states", e.name));
    if (e.name.endsWith(".json")) {
      const { seconds: _s, digest: _d, records, ...rest } = JSON.parse(
        new TextDecoder().decode(bytes),
      );
      const epochs = records.map((r: Record<string, unknown>) => ({ ...r, seconds: 0 }));
      out[e.name] = JSON.stringify({ ...rest, records: epochs });
    } else out[e.name] = sha256Hex(bytes);
  }
  return out;
}

Deno.test({
  name: "two processes on one store spend one run's gradients and store the single run's bytes",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const shared = join(root, "shared");
      const barrier = join(root, "barrier");
      await Deno.mkdir(barrier);
      const both = Promise.all([start(shared, barrier), start(shared, barrier)]);
      // Release both processes together, once both are ready.
      const deadline = Date.now() + 120_000;
      while ([...Deno.readDirSync(barrier)].length < 2) {
        assert.ok(Date.now() < deadline, "the two processes did not start");
        await new Promise((r) => setTimeout(r, 20));
      }
      await Deno.writeTextFile(join(barrier, "go"), "");
      const [a, b] = await both;
      assert.equal(a.spent + b.spent, a.planned, `spent ${a.spent} + ${b.spent}`);
      assert.ok(a.spent > 0 && b.spent > 0, "both processes took jobs");
      const single = join(root, "single");
      const alone = await start(single);
      assert.equal(alone.spent, alone.planned);
      assert.deepEqual(await contents(shared), await contents(single));
      // No lock is left behind.
      for await (const e of Deno.readDir(join(shared, "states"))) {
        assert.ok(!e.name.endsWith(".lock"));
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
