import assert from "node:assert/strict";
import { join } from "node:path";
import type { Json } from "../../core/config.ts";
import type { TrainJob } from "../../core/sweep/plan.ts";
import { SweepStore } from "../../core/sweep/store.ts";
import { filterRuns, listRuns, runsTableText } from "../../reports/runs.ts";
import { writeFigure } from "./_fixtures.ts";

const id = (c: string) => c.repeat(64);

function job(name: string, phases: TrainJob["phases"], epochs = 4, to = 4): TrainJob {
  return {
    kind: "train",
    id: id(name),
    base: { seed: name === "b" ? 1 : 0 } as Json,
    epochs,
    phases,
    from: 0,
    to,
    parent: null,
    cost: 1,
  };
}

const epochRecord = (testAcc: number) => ({ epoch: 3, testAcc, trainLoss: 0.1, seconds: 1 });

/**
 * A store with: run a complete (λ_max measured), run b trained by other code (stale), run c
 * only partially trained, run d missing; e a stored run end no figure lists, f an
 * intermediate state (not a run end).
 */
async function fixture(root: string) {
  const results = join(root, "results");
  const store = new SweepStore(join(results, "sweep"), "code-now");
  const sgd = [{ optimizer: "sgd" as const, from: 0, to: 4 }];
  const late = [{ optimizer: "sgd" as const, from: 0, to: 3 }, {
    optimizer: "sam" as const,
    from: 3,
    to: 4,
  }];
  await store.writeState(job("a", sgd), new Uint8Array([1, 2, 3]), {
    records: [epochRecord(0.75)],
    seconds: 1,
  });
  await new SweepStore(store.root, "code-before").writeState(
    job("b", late),
    new Uint8Array([4]),
    { records: [epochRecord(0.5)], seconds: 1 },
  );
  await store.writeState(job("e", late), new Uint8Array([5]), {
    records: [epochRecord(0.9)],
    seconds: 1,
  });
  await store.writeState(job("f", sgd, 4, 2), new Uint8Array([6]), { records: [], seconds: 1 });
  await Deno.writeFile(store.partialPath(id("c")), new Uint8Array([7]));
  const sharp = { kind: "sharpness", examples: 8 } as Json;
  await store.writeMeasure(
    { kind: "measure", id: id("9"), spec: sharp, inputs: [id("a")], cost: 1 },
    { eigenvalues: [12.5, 3] },
    1,
  );
  await writeFigure({
    root: results,
    name: "fig3",
    scale: "smoke",
    summary: {
      runs: [
        { id: id("a"), seed: 0, epochs: 4, phases: "sgd:4" },
        { id: id("b"), seed: 1, epochs: 4, phases: "sgd:3,sam:1" },
        { id: id("c"), seed: 0, epochs: 4, phases: "sam:4" },
      ],
    },
  });
  await writeFigure({
    root: results,
    name: "fig1",
    scale: "smoke",
    summary: { runs: [{ id: id("d"), seed: 2, epochs: 4, phases: "sgd:4" }] },
  });
  return { results, store };
}

Deno.test("runs lists every figure's runs with status, test error and λ_max, then unlisted run ends", async () => {
  const root = await Deno.makeTempDir();
  try {
    const { results } = await fixture(root);
    const rows = await listRuns(results, { codeHash: "code-now" });
    assert.deepEqual(
      rows.map((r) => [r.figure, r.id[0], r.seed, r.phases, r.status]),
      [
        ["fig1", "d", 2, "sgd:4", "missing"],
        ["fig3", "a", 0, "sgd:4", "complete"],
        ["fig3", "b", 1, "sgd:3,sam:1", "stale"],
        ["fig3", "c", 0, "sam:4", "partial"],
        [null, "e", 0, "sgd:3,sam:1", "complete"],
      ],
    );
    const a = rows[1];
    assert.equal(a.testError, 25);
    assert.equal(a.lambdaMax, 12.5);
    assert.equal(a.scale, "smoke");
    assert.equal(rows[2].testError, 50, "a stale run still shows its numbers");
    assert.equal(rows[3].testError, null);
    // Without a code hash there is no stale status.
    assert.equal((await listRuns(results, { codeHash: null }))[2].status, "complete");

    assert.deepEqual(filterRuns(rows, { figures: ["fig3"] }).map((r) => r.id[0]), ["a", "b", "c"]);
    assert.deepEqual(filterRuns(rows, { statuses: ["complete"] }).map((r) => r.id[0]), ["a", "e"]);
    assert.deepEqual(filterRuns(rows, { figures: ["-"] }).map((r) => r.id[0]), ["e"]);
    assert.deepEqual(
      filterRuns(rows, { figures: ["fig3"], statuses: ["partial", "missing"] }).map((r) => r.id[0]),
      ["c"],
    );
    const text = runsTableText(rows).split("\n");
    assert.match(
      text[0],
      /^figure +scale +config +run +seed +phases +status +test error % +λ_max$/,
    );
    assert.match(
      text[3],
      /^fig3 +smoke +[0-9a-f]{12} +aaaaaaaaaaaa +0 +sgd:4 +complete +25 +12\.5$/,
    );
    assert.equal(text.length, 2 + rows.length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a damaged checkpoint or an edited record is corrupt, not missing", async () => {
  const root = await Deno.makeTempDir();
  try {
    const { results, store } = await fixture(root);
    const statusOf = async (run: string) =>
      (await listRuns(results, { codeHash: "code-now" })).find((r) => r.id === id(run))!.status;
    assert.equal(await statusOf("a"), "complete");
    await Deno.writeFile(store.checkpointPath(id("a")), new Uint8Array([0]));
    assert.equal(await statusOf("a"), "corrupt");
    // The probe's edit: a record's test accuracy changed by hand.
    assert.equal(await statusOf("e"), "complete");
    const path = store.stateRecordPath(id("e"));
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text.replace(/"testAcc": ?0\.9/, '"testAcc": 0.8'));
    assert.notEqual(await Deno.readTextFile(path), text);
    assert.equal(await statusOf("e"), "corrupt");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task runs prints the filtered table and rejects unknown statuses", async () => {
  const root = await Deno.makeTempDir();
  try {
    const { results } = await fixture(root);
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../../reports/runs.ts", import.meta.url).pathname, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const out = await run(["--out", results, "--figure", "fig3", "--status", "partial,missing"]);
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /cccccccccccc .* partial/);
    assert.doesNotMatch(stdout, /aaaaaaaaaaaa|bbbbbbbbbbbb|dddddddddddd/);
    assert.match(stdout, /^1 run \(1 partial\) under /m);
    // The command compares with today's training code, which trained none of these states.
    const stale = await run(["--out", results, "--status", "stale"]);
    assert.match(new TextDecoder().decode(stale.stdout), /^3 runs \(3 stale\) under /m);
    const json = await run(["--out", results, "--json", "--figure", "fig1"]);
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode(json.stdout)).map((r: { id: string }) => r.id),
      [id("d")],
    );
    const bad = await run(["--out", results, "--status", "done"]);
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /unknown status "done"/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
