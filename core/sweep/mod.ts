/**
 * Sweeps: content-addressed plans whose runs share their prefixes, a dependency-aware
 * scheduler over worker processes, shards for several machines, and the store they fill.
 *
 * @module
 */
export * from "./plan.ts";
export * from "./scheduler.ts";
export * from "./shard.ts";
export * from "./store.ts";
export * from "./workers.ts";
