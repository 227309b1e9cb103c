/**
 * Configs as validated, canonical, hash-named data.
 *
 * A run's config is checked by a zod schema, serialized as canonical JSON (object keys sorted,
 * numbers in JavaScript's shortest round-trip form, `-0` written as `0`, no whitespace), and
 * named by `configHash = sha256(canonical JSON)` in hex. Two configs with the same meaning
 * therefore have the same hash, whatever the key order or the way a number was typed.
 *
 * @module
 */
import type { z } from "zod";
import { sha256Hex } from "./hash.ts";

/** A value that survives canonical JSON: what configs, manifests and plans are made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A config that failed its schema; the message names every offending field. */
export class ConfigError extends Error {
  /** The dotted paths of the offending fields, e.g. `["sam.rho"]`. */
  readonly fields: string[];
  constructor(message: string, fields: string[]) {
    super(message);
    this.name = "ConfigError";
    this.fields = fields;
  }
}

function canonicalNumber(n: number, where: string): string {
  if (!Number.isFinite(n)) {
    throw new TypeError(`canonical JSON: non-finite number ${n} at ${where}`);
  }
  return Object.is(n, -0) ? "0" : String(n);
}

function canonicalize(value: unknown, where: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return canonicalNumber(value, where);
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => canonicalize(v, `${where}[${i}]`)).join(",")}]`;
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const body = entries.map(([k, v]) =>
        `${JSON.stringify(k)}:${canonicalize(v, `${where}.${k}`)}`
      );
      return `{${body.join(",")}}`;
    }
    default:
      throw new TypeError(`canonical JSON: unsupported ${typeof value} at ${where}`);
  }
}

/**
 * Canonical JSON text of a value: sorted keys, normalized numbers, no whitespace.
 * `undefined` object fields are dropped (as JSON.stringify does); other non-JSON values throw.
 */
export function canonicalJson(value: unknown): string {
  return canonicalize(value, "$");
}

/** The name of a config: sha256 of its canonical JSON, in lowercase hex. */
export function configHash(config: unknown): string {
  return sha256Hex(canonicalJson(config));
}

/**
 * Validates `value` with `schema`, returning the parsed config.
 *
 * @throws {ConfigError} naming each invalid field as a dotted path, with zod's reason.
 */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields: string[] = [];
  const lines = result.error.issues.map((issue) => {
    const field = issue.path.map(String).join(".") || "(config)";
    fields.push(field);
    return `  ${field}: ${issue.message}`;
  });
  return failConfig(`invalid config:\n${lines.join("\n")}`, fields);
}

function failConfig(message: string, fields: string[]): never {
  throw new ConfigError(message, fields);
}
