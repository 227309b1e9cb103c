/** Moved to `core/stats.ts`; this re-export keeps older importers working. @module */
export { groupBy, type MeanStd, meanStd } from "../core/stats.ts";
