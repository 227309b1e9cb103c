/**
 * Command lines for experiment scripts, derived from their config schema.
 *
 * Every field of a figure's zod config schema becomes a flag (`sam.rho` → `--sam.rho`,
 * `numTrials` → `--num-trials`), overriding the named config chosen with `--scale` (or a stored
 * config read with `--config FILE`, e.g. a result's `manifest.json`, which is how an audit
 * re-runs exactly what a manifest records). The result is validated by the schema, so a bad
 * value is rejected with the field named, and `node:util` `parseArgs` in strict mode rejects
 * unknown flags.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { z } from "zod";
import { resolveConfigBackend } from "./backend.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { setStrictIntegrity } from "./integrity.ts";

/** A command line that cannot be understood (unknown flag, missing value, unknown scale). */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

type FlagKind = "number" | "boolean" | "string" | "number-list" | "string-list";

/** One config field exposed as a flag. */
export interface ConfigFlag {
  /** Flag name without dashes, e.g. `sam.rho` or `num-trials`. */
  flag: string;
  /** Path of the field in the config object. */
  path: string[];
  kind: FlagKind;
  description: string;
  /** Allowed values of an enum field. */
  choices?: readonly string[];
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) {
    s = s.unwrap() as z.ZodType;
  }
  return s;
}

function leafKind(schema: z.ZodType): { kind: FlagKind; choices?: readonly string[] } {
  if (schema instanceof z.ZodNumber) return { kind: "number" };
  if (schema instanceof z.ZodBoolean) return { kind: "boolean" };
  if (schema instanceof z.ZodEnum) return { kind: "string", choices: schema.options as string[] };
  if (schema instanceof z.ZodArray) {
    const el = unwrap(schema.element as z.ZodType);
    return { kind: el instanceof z.ZodNumber ? "number-list" : "string-list" };
  }
  return { kind: "string" };
}

/** Lists the flags of a config schema, nested objects flattened with dots. */
export function configFlags(schema: z.ZodObject, prefix: string[] = []): ConfigFlag[] {
  const flags: ConfigFlag[] = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    const inner = unwrap(field as z.ZodType);
    const path = [...prefix, key];
    if (inner instanceof z.ZodObject) {
      flags.push(...configFlags(inner, path));
      continue;
    }
    const { kind, choices } = leafKind(inner);
    const description = (field as z.ZodType).description ?? inner.description ?? "";
    flags.push({ flag: path.map(kebab).join("."), path, kind, description, choices });
  }
  return flags;
}

function parseValue(flag: ConfigFlag, raw: string | boolean): unknown {
  if (typeof raw === "boolean") return raw;
  // Values that do not parse are passed on as strings, so the schema names the field.
  const num = (s: string) => (s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : s);
  switch (flag.kind) {
    case "number":
      return num(raw);
    case "number-list":
      return raw.split(",").map(num);
    case "string-list":
      return raw.split(",");
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

/** One run flag: its help line, default value, and whether it takes no value. */
export interface RunFlag {
  readonly description: string;
  readonly default?: string;
  readonly boolean?: boolean;
}

/** Run flags by name as written on the command line (`dry-run`). */
export type RunFlags = Readonly<Record<string, RunFlag>>;

/** `dry-run` → `dryRun`. */
export type CamelCase<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S;

/**
 * Parsed run flags, by camel-cased name: a `boolean` flag is `true` or `false`, any other is
 * its string value or `undefined` when not given (and no default).
 */
export type FlagValues<F extends RunFlags = RunFlags> = {
  readonly [K in keyof F & string as CamelCase<K>]: F[K] extends { boolean: true } ? boolean
    : "boolean" extends keyof F[K] ? string | boolean | undefined
    : string | undefined;
};

/** `dry-run` → `dryRun` (the key of a parsed flag). */
export function flagKey(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** What an experiment script declares about its command line. */
export interface FigureCliSpec<S extends z.ZodObject> {
  /** Task name, e.g. `fig4a`. */
  name: string;
  /** One paragraph for `--help`. */
  description: string;
  schema: S;
  /** Named configs (`smoke`, `small`, `paper`, …). */
  scales: Record<string, z.input<S>>;
  defaultScale: string;
  /**
   * Flags that change where or how a run happens but not its result (e.g. `--data-dir`):
   * kept out of the config and its hash. Each takes a string value, or none when `boolean`.
   * Parsed, they are {@link FlagValues}: `--dry-run` becomes `flags.dryRun` (a boolean).
   */
  runFlags?: RunFlags;
  /**
   * Top-level string fields of the config that are given as positional arguments, in this
   * order (e.g. `["checkpoint"]` for `deno task sharpness FILE`). Each is required: given
   * either positionally or by its flag (not both); an empty value in the scale means "none".
   */
  positionals?: readonly string[];
}

/** A parsed, validated command line of an experiment script. */
export interface FigureArgs<C> {
  scale: string;
  config: C;
  /** Root of the result store. */
  out: string;
  /** Recompute even if a matching completed result exists. */
  force: boolean;
  /** The script's run flags, parsed (see {@link FigureCliSpec.runFlags}). */
  flags: FlagValues;
}

/**
 * Flags every command takes that change how failures are handled, never a result: `--strict`
 * (a damaged stored entry is an error, exit 1, instead of being recomputed) and `--debug`
 * (stack traces with error messages).
 */
const HANDLING_FLAGS = {
  strict: { type: "boolean", default: false },
  debug: { type: "boolean", default: false },
} as const;

/** The help lines of {@link HANDLING_FLAGS}. */
const HANDLING_HELP = [
  "  --strict            a damaged stored file is an error (exit 1) instead of being recomputed",
  "  --debug             print stack traces with errors",
];

/** Applies `--strict` (kept process-wide: every store read checks it). */
function applyHandlingFlags(values: Record<string, unknown>): void {
  setStrictIntegrity(values.strict === true);
}

const COMMON_FLAGS = {
  scale: { type: "string" },
  config: { type: "string" },
  out: { type: "string", default: "results" },
  force: { type: "boolean", default: false },
  ...HANDLING_FLAGS,
  help: { type: "boolean", short: "h", default: false },
} as const;

/** A config read with `--config`: the config object, and the scale a manifest recorded. */
export interface StoredConfig {
  config: Record<string, unknown>;
  /** The manifest's `scale`, when the file is a manifest. */
  scale?: string;
}

/**
 * Reads a stored config for `--config`: either a bare config object (`config.json`) or a
 * figure manifest (`manifest.json`, recognised by its `config` and `configHash` fields), whose
 * `config` and `scale` are used. A manifest of another figure than `task` (or its parts,
 * `<task>-…`) is refused.
 *
 * @throws {CliError} when the file cannot be read, does not hold a JSON object, or is another
 *   figure's manifest.
 */
export function readStoredConfig(path: string, task = "config"): StoredConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Deno.readTextFileSync(path));
  } catch (err) {
    throw new CliError(`${task}: --config ${path}: ${(err as Error).message}`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(parsed)) throw new CliError(`${task}: --config ${path} is not a JSON object`);
  if (isObject(parsed.config) && typeof parsed.configHash === "string") {
    const figure = parsed.figure;
    const ours = (f: string) => f === task || f.startsWith(`${task}-`) || parsed.task === task;
    if (task !== "config" && typeof figure === "string" && !ours(figure)) {
      throw new CliError(
        `${task}: --config ${path} is a manifest of ${figure}, not of ${task}; ` +
          `pass it to \`deno task ${figure}\``,
      );
    }
    return {
      config: parsed.config,
      scale: typeof parsed.scale === "string" ? parsed.scale : undefined,
    };
  }
  return { config: parsed };
}

/**
 * Parses an experiment script's arguments: `--scale` picks a named config (or `--config FILE`
 * reads a stored one, taking the manifest's scale unless `--scale` is given), config flags
 * override its fields, the schema validates the result.
 *
 * @returns the parsed arguments, or `{ help }` with the usage text when `--help` was given.
 * @throws {CliError} on unknown flags, missing values or an unknown scale.
 * @throws {ConfigError} when the resulting config fails the schema (fields named).
 */
export function parseFigureArgs<S extends z.ZodObject>(
  spec: FigureCliSpec<S>,
  args: string[],
): FigureArgs<z.output<S>> | { help: string } {
  const flags = configFlags(spec.schema);
  const options: Record<string, { type: "string" | "boolean" }> = { ...COMMON_FLAGS };
  for (const [name, f] of Object.entries(spec.runFlags ?? {})) {
    options[name] = { type: f.boolean ? "boolean" : "string" };
  }
  for (const f of flags) {
    options[f.flag] = { type: f.kind === "boolean" ? "boolean" : "string" };
    if (f.kind === "boolean") options[`no-${f.flag}`] = { type: "boolean" };
  }
  const positionalFields = spec.positionals ?? [];
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: positionalFields.length > 0,
    }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (err) {
    throw new CliError(`${spec.name}: ${(err as Error).message}`);
  }
  if (values.help) return { help: figureHelp(spec, flags) };
  applyHandlingFlags(values);
  if (positionals.length > positionalFields.length) {
    throw new CliError(
      `${spec.name}: unexpected argument "${positionals[positionalFields.length]}"; expected ${
        positionalFields.map((f) => `<${kebab(f)}>`).join(" ")
      }`,
    );
  }
  const stored = typeof values.config === "string"
    ? readStoredConfig(values.config, spec.name)
    : undefined;
  const scale = (values.scale as string | undefined) ?? stored?.scale ?? spec.defaultScale;
  const base = spec.scales[scale];
  if (!base) {
    throw new CliError(
      `${spec.name}: unknown scale "${scale}"; choose one of ${
        Object.keys(spec.scales).join(", ")
      }`,
    );
  }
  const config = structuredClone(stored?.config ?? base) as Record<string, unknown>;
  for (const f of flags) {
    const raw = values[f.flag];
    if (raw !== undefined) setPath(config, f.path, parseValue(f, raw));
    if (values[`no-${f.flag}`]) setPath(config, f.path, false);
  }
  positionalFields.forEach((field, i) => {
    const flag = kebab(field);
    if (i < positionals.length) {
      if (values[flag] !== undefined) {
        throw new CliError(`${spec.name}: <${flag}> given both as an argument and as --${flag}`);
      }
      config[field] = positionals[i];
    }
    if (config[field] === undefined || config[field] === "") {
      throw new CliError(`${spec.name}: missing argument <${flag}>`);
    }
  });
  try {
    return {
      scale,
      config: resolveConfigBackend(parseConfig(spec.schema, config)),
      out: values.out as string,
      force: values.force as boolean,
      flags: Object.fromEntries(
        Object.entries(spec.runFlags ?? {}).map(([name, f]) => {
          const value = values[name];
          return [flagKey(name), f.boolean ? value === true : value ?? f.default];
        }),
      ) as FlagValues,
    };
  } catch (err) {
    if (err instanceof ConfigError) {
      const named = err.message.replace(
        /^ {2}([^:]+):/gm,
        (_m, field: string) => `  --${field.split(".").map(kebab).join(".")}:`,
      );
      throw new ConfigError(`${spec.name}: ${named}`, err.fields);
    }
    throw err;
  }
}

function getPath(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (node as Record<string, unknown> | undefined)?.[key],
    value,
  );
}

/** The `--help` text: usage, scales, common flags and every config flag with its default. */
export function figureHelp<S extends z.ZodObject>(
  spec: FigureCliSpec<S>,
  flags: ConfigFlag[] = configFlags(spec.schema),
): string {
  const defaults = spec.scales[spec.defaultScale];
  const args = (spec.positionals ?? []).map((f) => `<${kebab(f)}> `).join("");
  const lines = [
    `Usage: deno task ${spec.name} ${args}[--scale NAME | --config FILE] [--out DIR] [--force] ` +
    `[--FIELD VALUE ...]`,
    "",
    spec.description,
    "",
    "Options:",
    `  --scale NAME        named config: ${
      Object.keys(spec.scales).join(", ")
    } (default ${spec.defaultScale})`,
    "  --config FILE       start from a stored config (config.json or a result's manifest.json,",
    "                      whose scale is taken unless --scale is given) instead of the scale's",
    "  --out DIR           result store root (default results); writes DIR/<figure>/",
    "  --force             recompute even when a completed result with this config exists",
    ...HANDLING_HELP,
    "  -h, --help          show this help",
    ...Object.entries(spec.runFlags ?? {}).map(([name, f]) =>
      `  --${name}${f.boolean ? "" : " VALUE"}`.padEnd(22) + f.description +
      (f.default === undefined ? "" : ` (default ${f.default})`)
    ),
    "",
    `Config fields (override the chosen scale; defaults shown for "${spec.defaultScale}"):`,
  ];
  for (const f of flags) {
    const value = getPath(defaults, f.path);
    const shown = value === undefined ? "" : ` [${Array.isArray(value) ? value.join(",") : value}]`;
    const choices = f.choices ? ` {${f.choices.join("|")}}` : "";
    const arg = f.kind === "boolean" ? "" : " VALUE";
    lines.push(`  --${f.flag}${arg}${choices}${shown}`);
    if (f.description) lines.push(`      ${f.description}`);
  }
  return lines.join("\n");
}

/**
 * Errors whose message is for the user (data, checkpoints, backends, damaged stores, plans too
 * large): no stack trace.
 */
const USER_ERRORS = new Set([
  "DataError",
  "CheckpointError",
  "BackendError",
  "TrainingError",
  "RenderError",
  "IntegrityError",
  "PlanSizeError",
  "FileWriteError",
]);

/**
 * How a failed command reports `err`: the text to print and the exit code. Flag and config
 * errors exit 2; user errors (see above) and operating-system errors (a full disk, a missing
 * or unreadable file: one line, the file named where the system names it) exit 1 without a
 * stack trace unless `debug`; anything else is a bug and keeps its stack trace. A paused run
 * exits 0.
 */
export function failureReport(err: unknown, debug = false): { text: string; code: number } {
  const trace = debug && err instanceof Error && err.stack ? `\n${err.stack}` : "";
  if (err instanceof CliError || err instanceof ConfigError) {
    return { text: `error: ${err.message}\nRun with --help for usage.${trace}`, code: 2 };
  }
  if (err instanceof Error && err.name === "RunPaused") return { text: err.message, code: 0 };
  const systemError = err instanceof Error &&
    Object.values(Deno.errors).some((kind) => err instanceof kind);
  if (err instanceof Error && (USER_ERRORS.has(err.name) || systemError)) {
    const hint = trace || !systemError ? "" : " (--debug shows where)";
    return { text: `error: ${err.message}${hint}${trace}`, code: 1 };
  }
  return { text: err instanceof Error ? (err.stack ?? err.message) : String(err), code: 1 };
}

/**
 * Parses a tool's command line (the tasks that are not figures: report, audit, merge, …) in
 * strict mode, with `-h`/`--help` added. An unknown flag or a missing value becomes a
 * {@linkcode CliError} prefixed with the task's name.
 *
 * @param task the task's name, for error messages
 * @param args the command-line arguments
 * @param options the tool's flags (`help` is added)
 * @param usage `help` (printed for `--help`) and whether positional arguments are allowed
 * @returns the parsed flags and positionals, or `null` after printing the help
 */
export function parseToolArgs<const O extends ParseArgsOptionsConfig>(
  task: string,
  args: string[],
  options: O,
  usage: { help: string; positionals?: boolean },
) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        ...options,
        ...HANDLING_FLAGS,
        help: { type: "boolean", short: "h", default: false },
      } as const,
      strict: true,
      allowPositionals: usage.positionals ?? false,
    });
  } catch (err) {
    throw new CliError(`${task}: ${(err as Error).message}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(`${usage.help}\n\nEvery task also takes:\n${HANDLING_HELP.join("\n")}`);
    return null;
  }
  applyHandlingFlags(parsed.values);
  return parsed;
}

/**
 * Runs a script's main function, reporting a failure as {@link failureReport} says (`--debug`
 * among the arguments adds stack traces).
 */
export async function runMain(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (err) {
    const { text, code } = failureReport(err, Deno.args.includes("--debug"));
    console.error(text);
    Deno.exit(code);
  }
}
