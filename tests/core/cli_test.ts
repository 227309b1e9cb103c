import assert from "node:assert/strict";
import { z } from "zod";
import {
  CliError,
  configFlags,
  failureReport,
  type FigureCliSpec,
  flagKey,
  type FlagValues,
  parseFigureArgs,
  parseToolArgs,
  readStoredConfig,
} from "../../core/cli.ts";
import { ConfigError } from "../../core/config.ts";
import { FileWriteError } from "../../core/atomic.ts";
import { IntegrityError, strictIntegrity } from "../../core/integrity.ts";
import { join } from "node:path";
import { withTempDir } from "../_helpers.ts";

const schema = z.strictObject({
  numTrials: z.number().int().positive().describe("seeded trials"),
  optimizer: z.enum(["sam", "usam"]),
  sam: z.strictObject({ rho: z.number().positive().describe("radius") }),
  keepMomentum: z.boolean(),
  seeds: z.array(z.number().int().nonnegative()),
});

const spec: FigureCliSpec<typeof schema> = {
  name: "figx",
  description: "A test figure.",
  schema,
  scales: {
    smoke: { numTrials: 2, optimizer: "sam", sam: { rho: 0.1 }, keepMomentum: false, seeds: [0] },
    small: {
      numTrials: 20,
      optimizer: "sam",
      sam: { rho: 0.05 },
      keepMomentum: false,
      seeds: [0, 1],
    },
  },
  defaultScale: "small",
};

function parse(args: string[]) {
  const result = parseFigureArgs(spec, args);
  if ("help" in result) throw new Error("unexpected help");
  return result;
}

Deno.test("flags are the schema's fields in kebab case, nested with dots", () => {
  const flags = configFlags(schema).map((f) => `${f.flag}:${f.kind}`);
  assert.deepEqual(flags, [
    "num-trials:number",
    "optimizer:string",
    "sam.rho:number",
    "keep-momentum:boolean",
    "seeds:number-list",
  ]);
});

Deno.test("no flags gives the default scale; --scale picks another named config", () => {
  assert.equal(parse([]).config.numTrials, 20);
  const smoke = parse(["--scale", "smoke", "--out", "/tmp/x", "--force"]);
  assert.equal(smoke.scale, "smoke");
  assert.equal(smoke.config.numTrials, 2);
  assert.equal(smoke.out, "/tmp/x");
  assert.equal(smoke.force, true);
});

Deno.test("config flags override fields of the chosen scale and are typed", () => {
  const r = parse([
    "--scale=smoke",
    "--num-trials",
    "7",
    "--sam.rho=0.2",
    "--keep-momentum",
    "--seeds",
    "3,4,5",
    "--optimizer",
    "usam",
  ]);
  assert.deepEqual(r.config, {
    numTrials: 7,
    optimizer: "usam",
    sam: { rho: 0.2 },
    keepMomentum: true,
    seeds: [3, 4, 5],
  });
  assert.equal(parse(["--keep-momentum", "--no-keep-momentum"]).config.keepMomentum, false);
});

Deno.test("a bad value is rejected with the flag and field named", () => {
  for (
    const [args, field] of [
      [["--sam.rho=-1"], "--sam.rho"],
      [["--num-trials", "abc"], "--num-trials"],
      [["--num-trials", "2.5"], "--num-trials"],
      [["--optimizer", "adam"], "--optimizer"],
      [["--seeds", "1,x"], "--seeds"],
    ] as const
  ) {
    assert.throws(() => parse([...args]), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.ok(err.message.includes(field), err.message);
      return true;
    });
  }
});

Deno.test("unknown flags, missing values and unknown scales are CLI errors", () => {
  assert.throws(
    () => parse(["--bogus", "1"]),
    (e: unknown) => e instanceof CliError && /bogus/.test(e.message),
  );
  assert.throws(() => parse(["--sam.rho"]), CliError);
  assert.throws(
    () => parse(["--scale", "huge"]),
    /unknown scale "huge"; choose one of smoke, small/,
  );
  assert.throws(() => parse(["positional"]), CliError);
});

Deno.test("--help lists scales and every field with its default and description", () => {
  const result = parseFigureArgs(spec, ["--help"]);
  assert.ok("help" in result);
  assert.match(result.help, /deno task figx/);
  assert.match(result.help, /smoke, small \(default small\)/);
  assert.match(result.help, /--sam\.rho VALUE \[0\.05\]\n\s+radius/);
  assert.match(result.help, /--optimizer VALUE \{sam\|usam\} \[sam\]/);
  assert.match(result.help, /--seeds VALUE \[0,1\]/);
  assert.match(result.help, /--config FILE/);
});

Deno.test("--config starts from a stored config; flags still override its fields", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config.json`;
    const stored = {
      numTrials: 7,
      optimizer: "usam",
      sam: { rho: 0.3 },
      keepMomentum: true,
      seeds: [],
    };
    await Deno.writeTextFile(path, JSON.stringify(stored));
    const r = parse(["--config", path]);
    assert.deepEqual(r.config, stored);
    assert.equal(r.scale, "small", "a bare config keeps the default scale name");
    const overridden = parse(["--config", path, "--scale", "smoke", "--sam.rho", "0.2"]);
    assert.equal(overridden.scale, "smoke");
    assert.deepEqual(overridden.config, { ...stored, sam: { rho: 0.2 } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--config reads a manifest's config and scale, and validates it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = {
      numTrials: 3,
      optimizer: "sam",
      sam: { rho: 0.1 },
      keepMomentum: false,
      seeds: [4],
    };
    const manifest = `${dir}/manifest.json`;
    await Deno.writeTextFile(
      manifest,
      JSON.stringify({ figure: "figx", scale: "smoke", config, configHash: "abc", outputs: {} }),
    );
    const r = parse(["--config", manifest]);
    assert.equal(r.scale, "smoke");
    assert.deepEqual(r.config, config);
    const bad = `${dir}/bad.json`;
    await Deno.writeTextFile(bad, JSON.stringify({ ...config, numTrials: -1 }));
    assert.throws(() => parse(["--config", bad]), /--num-trials/);
    assert.throws(() => parse(["--config", `${dir}/absent.json`]), CliError);
    await Deno.writeTextFile(bad, "[1, 2]");
    assert.throws(() => parse(["--config", bad]), /not a JSON object/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readStoredConfig tells a manifest from a bare config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/a.json`,
      JSON.stringify({ config: { x: 1 }, configHash: "h" }),
    );
    assert.deepEqual(readStoredConfig(`${dir}/a.json`), { config: { x: 1 }, scale: undefined });
    await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify({ config: { x: 1 } }));
    assert.deepEqual(readStoredConfig(`${dir}/b.json`), { config: { config: { x: 1 } } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const withFiles = z.strictObject({
  checkpointA: z.string().min(1),
  checkpointB: z.string().min(1),
  steps: z.number().int().positive(),
});

const positionalSpec: FigureCliSpec<typeof withFiles> = {
  name: "figp",
  description: "A test figure with positional arguments.",
  schema: withFiles,
  scales: { small: { checkpointA: "", checkpointB: "", steps: 3 } },
  defaultScale: "small",
  positionals: ["checkpointA", "checkpointB"],
};

function parsePositional(args: string[]) {
  const result = parseFigureArgs(positionalSpec, args);
  if ("help" in result) throw new Error("unexpected help");
  return result.config;
}

Deno.test("positional arguments fill their config fields, in order, among flags", () => {
  assert.deepEqual(parsePositional(["a.st", "--steps", "5", "b.st"]), {
    checkpointA: "a.st",
    checkpointB: "b.st",
    steps: 5,
  });
  // The flag form works too, and either way the value is part of the config (and its hash).
  assert.equal(parsePositional(["a.st", "--checkpoint-b", "c.st"]).checkpointB, "c.st");
});

Deno.test("positional arguments: missing, extra or doubly given ones are CLI errors", () => {
  assert.throws(() => parsePositional(["a.st"]), /missing argument <checkpoint-b>/);
  assert.throws(() => parsePositional([]), /missing argument <checkpoint-a>/);
  assert.throws(() => parsePositional(["a", "b", "c"]), /unexpected argument "c"/);
  assert.throws(
    () => parsePositional(["a", "b", "--checkpoint-a", "x"]),
    /both as an argument and as --checkpoint-a/,
  );
  const help = parseFigureArgs(positionalSpec, ["--help"]);
  assert.ok("help" in help);
  assert.match(help.help, /Usage: deno task figp <checkpoint-a> <checkpoint-b> \[--scale/);
});

Deno.test("parseToolArgs: strict flags, a prefixed error, help returns null", () => {
  const options = { out: { type: "string", default: "results" } } as const;
  const parsed = parseToolArgs("tool", ["--out", "x", "pos"], options, {
    help: "usage",
    positionals: true,
  });
  assert.equal(parsed?.values.out, "x");
  assert.deepEqual(parsed?.positionals, ["pos"]);
  assert.throws(
    () => parseToolArgs("tool", ["--nope"], options, { help: "usage" }),
    (e: Error) => e instanceof CliError && /^tool: Unknown option '--nope'/.test(e.message),
  );
  assert.throws(() => parseToolArgs("tool", ["pos"], options, { help: "usage" }), CliError);
  const log = console.log;
  const printed: unknown[] = [];
  console.log = (...a: unknown[]) => printed.push(...a);
  try {
    assert.equal(parseToolArgs("tool", ["-h"], options, { help: "usage" }), null);
  } finally {
    console.log = log;
  }
  assert.equal(printed.length, 1);
  assert.match(
    String(printed[0]),
    /^usage\n\nEvery task also takes:\n {2}--strict .*\n {2}--debug /,
  );
});

Deno.test("run flags parse to a typed object: camel-cased, booleans as booleans", () => {
  const runFlags = {
    "data-dir": { description: "data" },
    "dry-run": { description: "plan only", boolean: true },
    workers: { description: "jobs at once", default: "2" },
  } as const;
  const withFlags = { ...spec, runFlags };
  const parsed = parseFigureArgs(withFlags, ["--dry-run", "--data-dir", "/d"]);
  if ("help" in parsed) throw new Error("unexpected help");
  const flags = parsed.flags as FlagValues<typeof runFlags>;
  const dryRun: boolean = flags.dryRun;
  assert.deepEqual({ ...flags }, { dataDir: "/d", dryRun: true, workers: "2" });
  assert.equal(dryRun, true);
  const none = parseFigureArgs(withFlags, []);
  if ("help" in none) throw new Error("unexpected help");
  assert.deepEqual({ ...none.flags }, { dataDir: undefined, dryRun: false, workers: "2" });
  assert.equal(flagKey("skip-timing"), "skipTiming");
});

Deno.test("--config refuses a manifest of another figure, naming both", async () => {
  await withTempDir(async (dir) => {
    const manifest = (figure: string) =>
      JSON.stringify({ figure, scale: "smoke", config: { x: 1 }, configHash: "h" });
    await Deno.writeTextFile(join(dir, "fig5.json"), manifest("fig5"));
    assert.throws(
      () => readStoredConfig(join(dir, "fig5.json"), "fig3"),
      (e: Error) =>
        e instanceof CliError &&
        e.message.startsWith(
          `fig3: --config ${join(dir, "fig5.json")} is a manifest of fig5, not of fig3`,
        ),
    );
    // Its own figure's manifest, and a part of a multi-figure task, are accepted.
    assert.deepEqual(readStoredConfig(join(dir, "fig5.json"), "fig5").config, { x: 1 });
    await Deno.writeTextFile(join(dir, "p1.json"), manifest("theory-p1"));
    assert.deepEqual(readStoredConfig(join(dir, "p1.json"), "theory").scale, "smoke");
  });
});

Deno.test("failureReport: I/O errors in one line naming the file, traces only with --debug", () => {
  const full = new FileWriteError(
    "out/fig3/data.csv",
    new Error("No space left on device (os error 28)"),
  );
  assert.deepEqual(failureReport(full), {
    text: "error: cannot write out/fig3/data.csv: No space left on device (os error 28)",
    code: 1,
  });
  const missing = new Deno.errors.NotFound("No such file or directory (os error 2): open 'x.csv'");
  const report = failureReport(missing);
  assert.equal(report.code, 1);
  assert.equal(report.text.split("\n").length, 1);
  assert.match(report.text, /^error: No such file .*'x\.csv' \(--debug shows where\)$/);
  assert.match(failureReport(missing, true).text, /\n.*NotFound.*\n\s+at /);
  assert.equal(failureReport(new CliError("bad flag")).code, 2);
  assert.equal(
    failureReport(new IntegrityError("state a: record digest mismatch (--strict)")).text,
    "error: state a: record digest mismatch (--strict)",
  );
  // A bug keeps its stack trace.
  const bug = failureReport(new TypeError("x is undefined"));
  assert.match(bug.text, /^TypeError: x is undefined\n\s+at /);
});

Deno.test("--strict and --debug are accepted by every command; --strict is applied", () => {
  const parsed = parseToolArgs("tool", ["--strict", "--debug"], {}, { help: "usage" });
  assert.equal(parsed?.values.strict, true);
  assert.equal(strictIntegrity(), true);
  parseToolArgs("tool", [], {}, { help: "usage" });
  assert.equal(strictIntegrity(), false);
});
