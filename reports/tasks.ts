/**
 * The figure tasks of the project, as `deno.json` registers them (`"fig3": "deno run -A
 * experiments/fig3.ts"`), and which task wrote a stored figure: the one named by the
 * manifest's `task` field if it has one, else the task with the figure's name, else the
 * longest task name the figure's name extends with a dash (`theory` wrote `theory-p1`).
 *
 * @module
 */

/** A task that runs a script. */
export interface ScriptTask {
  name: string;
  /** The script path, relative to the project root. */
  script: string;
}

/** A figure whose task cannot be found. */
export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TaskError";
  }
}

/** The tasks of a `deno.json` text that run one TypeScript script with `deno run`. */
export function scriptTasks(denoJson: string): ScriptTask[] {
  const tasks = (JSON.parse(denoJson) as { tasks?: Record<string, unknown> }).tasks ?? {};
  const out: ScriptTask[] = [];
  for (const [name, value] of Object.entries(tasks)) {
    const command = typeof value === "string"
      ? value
      : typeof (value as { command?: unknown })?.command === "string"
      ? (value as { command: string }).command
      : null;
    if (command === null) continue;
    const words = command.trim().split(/\s+/);
    if (words[0] !== "deno" || words[1] !== "run") continue;
    const script = words.slice(2).find((w) => /\.[cm]?[jt]sx?$/.test(w) && !w.startsWith("-"));
    if (script) out.push({ name, script });
  }
  return out;
}

/**
 * The task that writes `figure`.
 *
 * @throws {TaskError} naming the tasks known when none fits.
 */
export function taskFor(
  figure: string,
  tasks: readonly ScriptTask[],
  options: { task?: string } = {},
): ScriptTask {
  const known = () => tasks.map((t) => t.name).join(", ");
  if (options.task !== undefined) {
    const named = tasks.find((t) => t.name === options.task);
    if (!named) throw new TaskError(`no task "${options.task}" in deno.json (known: ${known()})`);
    return named;
  }
  const exact = tasks.find((t) => t.name === figure);
  if (exact) return exact;
  const prefixed = tasks.filter((t) => figure.startsWith(`${t.name}-`))
    .sort((a, b) => b.name.length - a.name.length);
  if (prefixed.length > 0) return prefixed[0];
  throw new TaskError(
    `no task in deno.json writes figure "${figure}" (known: ${known()}); pass --task NAME`,
  );
}
