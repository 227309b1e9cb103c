/**
 * `deno task merge`: combines the sweep stores of several result roots (e.g. the shards of a
 * GitHub Actions matrix or a Slurm array) into one, by content address. A job stored in two
 * sources must have produced the same bytes; otherwise the merge stops, naming the file.
 *
 *     deno task merge --into results shard-0 shard-1 shard-2
 *
 * Then run the figure without `--shard` on the merged root to draw it from the stored runs.
 *
 * @module
 */
import { join } from "node:path";
import { CliError, parseToolArgs, runMain } from "../core/cli.ts";
import { MergeConflict, mergeStores } from "../core/sweep/shard.ts";

const HELP = `Usage: deno task merge --into DIR SOURCE...

Copies the sweep stores SOURCE/sweep/ into DIR/sweep/ (content-addressed: identical files are
kept once; a job whose outputs differ between sources is a determinism failure and stops the
merge with the file named). Then run the figure on DIR without --shard.

Options:
  --into DIR    result root to merge into (created if missing)
  -h, --help    show this help`;

/** Merges the stores named on the command line. */
export async function mergeMain(args: string[]): Promise<void> {
  const parsed = parseToolArgs("merge", args, { into: { type: "string" } }, {
    help: HELP,
    positionals: true,
  });
  if (!parsed) return;
  const into = parsed.values.into;
  if (!into) throw new CliError("merge: --into DIR is required");
  if (parsed.positionals.length === 0) throw new CliError("merge: name at least one SOURCE");
  for (const source of parsed.positionals) {
    const stat = await Deno.stat(join(source, "sweep")).catch(() => null);
    if (!stat?.isDirectory) throw new CliError(`merge: ${source} has no sweep/ folder`);
  }
  try {
    const report = await mergeStores(
      parsed.positionals.map((s) => join(s, "sweep")),
      join(into, "sweep"),
    );
    console.log(
      `merge: ${report.copied} files copied, ${report.identical} already identical, into ${
        join(into, "sweep")
      }`,
    );
  } catch (err) {
    if (err instanceof MergeConflict) {
      console.error(`error: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}

if (import.meta.main) await runMain(() => mergeMain(Deno.args));
