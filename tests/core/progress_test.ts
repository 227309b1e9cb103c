import assert from "node:assert/strict";
import {
  createProgress,
  etaSeconds,
  formatBar,
  formatDuration,
  formatLine,
} from "../../core/progress.ts";

Deno.test("durations format as seconds, minutes or hours", () => {
  assert.equal(formatDuration(42.4), "42s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatDuration(NaN), "?");
});

Deno.test("ETA extrapolates the average pace", () => {
  assert.equal(etaSeconds({ label: "x", done: 25, total: 100, elapsedMs: 10_000 }), 30);
  assert.ok(Number.isNaN(etaSeconds({ label: "x", done: 0, total: 100, elapsedMs: 5 })));
});

Deno.test("plain lines and bars show count, percent, ETA and info", () => {
  const snap = { label: "sgd", done: 30, total: 120, elapsedMs: 6000, info: "loss 0.1" };
  assert.equal(formatLine(snap), "sgd 30/120 (25%) elapsed 6s ETA 18s loss 0.1");
  assert.equal(formatBar(snap, 8), "sgd [##......] 25% 30/120 ETA 18s loss 0.1");
});

Deno.test("plain mode prints at most once per interval, and always at the end", () => {
  let t = 0;
  const lines: string[] = [];
  const p = createProgress("run", 10, {
    tty: false,
    intervalMs: 1000,
    now: () => t,
    write: (s) => lines.push(s),
  });
  for (let i = 0; i < 10; i++) {
    t += 300;
    p.tick();
  }
  p.finish("done");
  // Printed at t=300 (first tick), t=1500, t=2700, then the final line.
  assert.equal(lines.length, 4);
  assert.match(lines[3], /^run 10\/10 \(100%\) elapsed 3s ETA 0s done\n$/);
});

Deno.test("tty mode redraws one line and ends it with a newline", () => {
  let t = 0;
  const out: string[] = [];
  const p = createProgress("x", 2, { tty: true, now: () => t, write: (s) => out.push(s) });
  t = 200;
  p.tick();
  p.finish();
  assert.ok(out.every((s) => s.startsWith("\r\x1b[2K")));
  assert.ok(out[out.length - 1].endsWith("\n"));
  const quiet: string[] = [];
  createProgress("q", 1, { quiet: true, write: (s) => quiet.push(s) }).finish();
  assert.equal(quiet.length, 0);
});
