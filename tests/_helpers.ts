/**
 * Helpers shared by test modules across layers.
 *
 * @module
 */
import type { TrainJob } from "../core/sweep/plan.ts";

/**
 * Whether Fashion-MNIST is available (Debian's `dataset-fashion-mnist`, or a folder named by
 * `$LATE_SAM_DATA`): the tests that train on real data are skipped without it.
 */
export const HAVE_FMNIST = (() => {
  try {
    return Deno.statSync("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").isFile;
  } catch {
    return Deno.env.get("LATE_SAM_DATA") !== undefined;
  }
})();

/** Runs `fn` with `console.log` and `console.error` silenced (a command's own output). */
export async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const [log, error] = [console.log, console.error];
  console.log = () => {};
  console.error = () => {};
  try {
    return await fn();
  } finally {
    [console.log, console.error] = [log, error];
  }
}

/** Runs `fn` collecting what it prints with `console.error`, line by line (not shown). */
export async function captureErrors<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; lines: string[] }> {
  const error = console.error;
  const lines: string[] = [];
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    return { value: await fn(), lines };
  } finally {
    console.error = error;
  }
}

/** Runs `fn` in a fresh temporary folder, removed afterwards whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "late-sam-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A two-epoch SGD train job without a parent, for store tests (id "a" × 64). */
export const TWO_EPOCH_JOB: TrainJob = {
  kind: "train",
  id: "a".repeat(64),
  base: { seed: 0 },
  epochs: 2,
  phases: [{ optimizer: "sgd", from: 0, to: 2 }],
  from: 0,
  to: 2,
  parent: null,
  cost: 2,
};
