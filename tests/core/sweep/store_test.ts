import assert from "node:assert/strict";
import { join } from "node:path";
import { IntegrityError, setStrictIntegrity } from "../../../core/integrity.ts";
import type { MeasureJob } from "../../../core/sweep/plan.ts";
import { SweepStore } from "../../../core/sweep/store.ts";
import { captureErrors, TWO_EPOCH_JOB, withTempDir } from "../../_helpers.ts";

const job = TWO_EPOCH_JOB;
const measure: MeasureJob = {
  kind: "measure",
  id: "b".repeat(64),
  spec: { kind: "m" },
  inputs: [job.id],
  cost: 1,
};

async function stored(root: string) {
  const store = new SweepStore(root, "code");
  await store.writeState(job, new Uint8Array([1, 2, 3, 4]), {
    records: [{ epoch: 1, testAcc: 0.744 }],
    seconds: 1,
  });
  await store.writeMeasure(measure, { value: 3 }, 0.5);
  return store;
}

Deno.test("intact states and measurements read back and check ok", async () => {
  await withTempDir(async (root) => {
    const store = await stored(root);
    assert.deepEqual(await store.checkState(job.id), { status: "ok" });
    assert.deepEqual(await store.checkMeasure(measure.id), { status: "ok" });
    const { value, lines } = await captureErrors(() => store.readState(job.id));
    assert.equal(value?.records.length, 1);
    assert.deepEqual(lines, []);
    assert.deepEqual((await store.readMeasure(measure.id))?.result, { value: 3 });
  });
});

Deno.test("an edited record is named, moved aside and recomputed", async () => {
  await withTempDir(async (root) => {
    const store = await stored(root);
    const path = store.stateRecordPath(job.id);
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text.replace('"testAcc": 0.744', '"testAcc": 0.844'));
    assert.deepEqual(await store.checkState(job.id), {
      status: "corrupt",
      problem: "record digest mismatch",
    });
    const { value, lines } = await captureErrors(() => store.readStateRecord(job.id));
    assert.equal(value, null);
    assert.deepEqual(lines, ["state aaaaaaaaaaaa: record digest mismatch — recomputing"]);
    assert.ok((await Deno.readTextFile(`${path}.corrupt`)).includes("0.844"));
    assert.ok(await Deno.stat(`${store.checkpointPath(job.id)}.corrupt`));
    assert.equal(await store.isDone(job), false); // so a sweep trains it again
  });
});

Deno.test("a flipped checkpoint byte, a broken or edited measurement are corrupt", async () => {
  await withTempDir(async (root) => {
    const store = await stored(root);
    await Deno.writeFile(store.checkpointPath(job.id), new Uint8Array([1, 2, 3, 5]));
    assert.deepEqual(await store.checkState(job.id), {
      status: "corrupt",
      problem: "checkpoint sha256 mismatch",
    });
    assert.deepEqual(await store.checkState(job.id, { recordOnly: true }), { status: "ok" });
    const measurePath = store.measurePath(measure.id);
    const text = await Deno.readTextFile(measurePath);
    await Deno.writeTextFile(measurePath, text.replace('"value": 3', '"value": 4'));
    const { value, lines } = await captureErrors(() => store.readMeasure(measure.id));
    assert.equal(value, null);
    assert.deepEqual(lines, ["measurement bbbbbbbbbbbb: record digest mismatch — recomputing"]);
    await Deno.writeTextFile(measurePath, text.slice(0, 20));
    assert.deepEqual(await store.checkMeasure(measure.id), {
      status: "corrupt",
      problem: "record is not valid JSON",
    });
  });
});

Deno.test("under --strict a damaged state is an error and nothing moves", async () => {
  await withTempDir(async (root) => {
    const store = await stored(root);
    await Deno.writeFile(store.checkpointPath(job.id), new Uint8Array([0]));
    setStrictIntegrity(true);
    try {
      await assert.rejects(
        () => store.isDone(job),
        (e: Error) =>
          e instanceof IntegrityError &&
          e.message === "state aaaaaaaaaaaa: checkpoint sha256 mismatch (--strict)",
      );
    } finally {
      setStrictIntegrity(false);
    }
    assert.ok(await Deno.stat(store.stateRecordPath(job.id)));
  });
});

Deno.test("records of other code, with or without a digest, are stale and not reported", async () => {
  await withTempDir(async (root) => {
    await stored(root);
    const other = new SweepStore(root, "other-code");
    assert.deepEqual(await other.checkState(job.id), { status: "stale" });
    // A record written before records had digests.
    const path = other.stateRecordPath(job.id);
    const { digest: _, ...old } = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(path, JSON.stringify(old));
    assert.deepEqual(await other.checkState(job.id), { status: "stale" });
    const { value, lines } = await captureErrors(() => other.readState(job.id));
    assert.equal(value, null);
    assert.deepEqual(lines, []);
    // The same digest-less record claiming this code is damage, not history.
    assert.deepEqual(await new SweepStore(root, "code").checkState(job.id), {
      status: "corrupt",
      problem: "record has no digest",
    });
    assert.equal(join(root, "states", `${job.id}.lock`), other.lockPath(job));
  });
});
