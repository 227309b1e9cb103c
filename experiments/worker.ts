/**
 * The worker process of a sweep: runs one job (a train segment or a measurement) received on
 * stdin and stores its output (see `core/sweep/workers.ts` for the protocol). Started by
 * `runStoreJobs` with `--workers` ≥ 2; not meant to be run by hand.
 *
 * @module
 */
import { serveWorker } from "../core/sweep/workers.ts";
import { SweepStore } from "../core/sweep/store.ts";
import { executeJob } from "./jobs.ts";
import { MEASURES } from "./measures.ts";

if (import.meta.main) {
  await serveWorker(async (job, context, tick) => {
    const c = context as {
      store: string;
      codeHash: string;
      measureCodeHash?: string;
      dataDir: string | null;
    };
    const store = new SweepStore(c.store, c.codeHash, c.measureCodeHash);
    await executeJob(job, { store, dataDir: c.dataDir ?? undefined, tick }, MEASURES);
  });
}
