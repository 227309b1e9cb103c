/**
 * Models as pure functions of explicit parameters. So far: the toy valley of Figure 4(a).
 *
 * @module
 */
export * from "./toy_valley.ts";
