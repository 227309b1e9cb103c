/**
 * Worker processes: one job per process, so each sweep worker gets its own single-threaded
 * wasm backend (and core), and a crash or kill loses at most the job's unfinished epoch.
 *
 * Protocol: the parent writes one JSON message `{ job, context }` to the child's stdin and
 * closes it; the child writes JSON lines `{"tick": units}` to stdout as it works and exits 0
 * once the job's output is stored. Anything on stderr is kept and shown if the job fails.
 *
 * @module
 */
import type { Json } from "../config.ts";
import type { Job } from "./plan.ts";
import type { JobContext } from "./scheduler.ts";

/** Options of {@link processExecutor}. */
export interface ProcessExecutorOptions {
  /** The command that runs one job, e.g. `[Deno.execPath(), "run", "-A", "worker.ts"]`. */
  command: string[];
  /** Sent to every job beside it (store root, code hash, run flags). */
  context: Json;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

const TAIL_LINES = 30;

/** An `execute` function for the scheduler that runs each job in a fresh process. */
export function processExecutor(
  options: ProcessExecutorOptions,
): (job: Job, context: JobContext) => Promise<void> {
  const [cmd, ...args] = options.command;
  return async (job, ctx) => {
    const child = new Deno.Command(cmd, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: options.env,
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify({ job, context: options.context })));
    await writer.close();
    const stderrTail: string[] = [];
    const readLines = async (stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) => {
      let buffer = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          onLine(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      }
      if (buffer) onLine(buffer);
    };
    const keep = (line: string) => {
      stderrTail.push(line);
      if (stderrTail.length > TAIL_LINES) stderrTail.shift();
    };
    await Promise.all([
      readLines(child.stdout, (line) => {
        try {
          const message = JSON.parse(line);
          if (typeof message?.tick === "number") ctx.tick(message.tick);
        } catch {
          keep(line); // stray stdout output: keep it for the error report
        }
      }),
      readLines(child.stderr, keep),
    ]);
    const status = await child.status;
    if (!status.success) {
      const how = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
      throw new Error(`worker process ended with ${how}:\n${stderrTail.join("\n")}`);
    }
  };
}

/** A job handler inside a worker process. */
export type WorkerHandler = (
  job: Job,
  context: Json,
  tick: (units: number) => void,
) => Promise<void>;

/**
 * The child side of the protocol: reads the message from stdin, runs `handler`, reports
 * ticks on stdout, exits 0 on success and 1 (message on stderr) on failure.
 */
export async function serveWorker(handler: WorkerHandler): Promise<never> {
  const text = await new Response(Deno.stdin.readable).text();
  const { job, context } = JSON.parse(text) as { job: Job; context: Json };
  const encoder = new TextEncoder();
  let pending = 0;
  let last = 0;
  const flush = () => {
    if (pending > 0) {
      Deno.stdout.writeSync(encoder.encode(`${JSON.stringify({ tick: pending })}\n`));
    }
    pending = 0;
    last = performance.now();
  };
  try {
    await handler(job, context, (units) => {
      pending += units;
      if (performance.now() - last > 250) flush();
    });
    flush();
    Deno.exit(0);
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    Deno.exit(1);
  }
}
