/**
 * One experiment script per figure or task; each exports its definition (schema, named
 * scales, computation, table and chart) and runs as a task when executed directly.
 *
 * @module
 */
export * from "./fig4a.ts";
export * from "./theory.ts";
export * from "./interpolate.ts";
export * from "./load_checkpoint.ts";
export * from "./sharpness.ts";
export * from "./train.ts";
