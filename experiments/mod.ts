/**
 * One experiment script per figure; each exports its figure definition (schema, named
 * scales, computation, table and chart) and runs as a task when executed directly.
 *
 * @module
 */
export * from "./fig4a.ts";
