/**
 * The reproducibility core: seeded streams, configs and hashes, command lines, the result
 * store, provenance, progress, rendering, backends, parameter trees, optimizers, schedules,
 * PGD attacks, the training loop and checkpoints. It knows nothing about any figure, model or
 * dataset.
 *
 * @module
 */
export * from "./attack.ts";
export * from "./backend.ts";
export * from "./batch.ts";
export * from "./checkpoint.ts";
export * from "./cli.ts";
export * from "./config.ts";
export * from "./csv.ts";
export * from "./figure.ts";
export * from "./metrics/mod.ts";
export * from "./model.ts";
export * from "./optim/mod.ts";
export * from "./progress.ts";
export * from "./provenance.ts";
export * from "./random.ts";
export * from "./render.ts";
export * from "./schedule.ts";
export * from "./store.ts";
export * from "./sweep/mod.ts";
export * from "./train.ts";
export * from "./tree.ts";
