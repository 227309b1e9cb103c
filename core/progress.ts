/**
 * Progress for long runs: a bar with ETA on a terminal, periodic plain lines otherwise
 * (CI logs, files). Output goes to stderr so stdout stays clean for results.
 *
 * The clock and the sink are injectable, so the formatting is tested without waiting.
 *
 * @module
 */

/** A progress snapshot, as formatted. */
export interface ProgressSnapshot {
  label: string;
  done: number;
  total: number;
  elapsedMs: number;
  /** Free text appended to the line, e.g. the current loss. */
  info?: string;
}

/** Formats seconds as `42s`, `3m05s` or `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Estimated seconds left, from the average pace so far (`NaN` before the first unit). */
export function etaSeconds(snap: ProgressSnapshot): number {
  if (snap.done <= 0) return NaN;
  return ((snap.total - snap.done) * snap.elapsedMs) / snap.done / 1000;
}

/** One plain progress line: `label 120/400 (30%) elapsed 12s ETA 28s info`. */
export function formatLine(snap: ProgressSnapshot): string {
  const pct = snap.total > 0 ? Math.floor((100 * snap.done) / snap.total) : 100;
  const tail = snap.info ? ` ${snap.info}` : "";
  return `${snap.label} ${snap.done}/${snap.total} (${pct}%) elapsed ${
    formatDuration(snap.elapsedMs / 1000)
  } ETA ${formatDuration(etaSeconds(snap))}${tail}`;
}

/** A terminal bar: `label [#####.....] 50% 10/20 ETA 3s info`. */
export function formatBar(snap: ProgressSnapshot, width = 24): string {
  const frac = snap.total > 0 ? Math.min(1, snap.done / snap.total) : 1;
  const filled = Math.round(frac * width);
  const bar = "#".repeat(filled) + ".".repeat(width - filled);
  const tail = snap.info ? ` ${snap.info}` : "";
  return `${snap.label} [${bar}] ${Math.floor(frac * 100)}% ${snap.done}/${snap.total} ETA ${
    formatDuration(etaSeconds(snap))
  }${tail}`;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Draw a redrawn bar (true) or print plain lines (false). Default: stderr is a terminal. */
  tty?: boolean;
  /** Minimum milliseconds between plain lines (default 10 000). */
  intervalMs?: number;
  /** Milliseconds clock (default `performance.now`). */
  now?: () => number;
  /** Where text goes (default stderr). */
  write?: (text: string) => void;
  /** Print nothing at all. */
  quiet?: boolean;
}

/** A running progress report. */
export interface Progress {
  /** Advances by `n` units (default 1), optionally updating the info text. */
  tick(n?: number, info?: string): void;
  /** Prints the final state (always, also in plain mode). */
  finish(info?: string): void;
}

const encoder = new TextEncoder();

/** Starts reporting progress of `total` units of work. */
export function createProgress(
  label: string,
  total: number,
  options: ProgressOptions = {},
): Progress {
  const now = options.now ?? (() => performance.now());
  const write = options.write ?? ((text: string) => Deno.stderr.writeSync(encoder.encode(text)));
  const tty = options.tty ?? Deno.stderr.isTerminal();
  const intervalMs = options.intervalMs ?? 10_000;
  const start = now();
  let done = 0;
  let info: string | undefined;
  let lastPrint = -Infinity;
  const snapshot = (): ProgressSnapshot => ({ label, done, total, elapsedMs: now() - start, info });
  const draw = (final: boolean) => {
    if (options.quiet) return;
    const t = now();
    if (tty) {
      if (!final && t - lastPrint < 100) return; // redraw at most 10×/s
      write(`\r\x1b[2K${formatBar(snapshot())}${final ? "\n" : ""}`);
    } else {
      if (!final && t - lastPrint < intervalMs) return;
      write(`${formatLine(snapshot())}\n`);
    }
    lastPrint = t;
  };
  return {
    tick(n = 1, text?: string) {
      done = Math.min(total, done + n);
      if (text !== undefined) info = text;
      draw(false);
    },
    finish(text?: string) {
      done = total;
      if (text !== undefined) info = text;
      draw(true);
    },
  };
}
