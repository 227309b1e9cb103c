import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../core/config.ts";
import { sha256Hex } from "../../core/hash.ts";
import { CliError } from "../../core/cli.ts";
import { runFigure, RunPaused } from "../../core/figure.ts";
import { learningRate } from "../../core/schedule.ts";
import { FIG1_SCALES, fig1Task } from "../../experiments/fig1.ts";
import { FIG3_SCALES, fig3Task } from "../../experiments/fig3.ts";
import { fig4bTask } from "../../experiments/fig4b.ts";
import { FIG4C_SCALES, fig4cTask } from "../../experiments/fig4c.ts";
import { FIG5_SCALES, fig5Task } from "../../experiments/fig5.ts";
import { lrScheduleOf } from "../../experiments/run_settings.ts";
import { paperSwitchGrid } from "../../experiments/settings.ts";
import { lateSwitches } from "../../experiments/switch_scales.ts";
import { hasBatchNorm } from "../../models/registry.ts";
import { fig6Task } from "../../experiments/fig6.ts";
import { switchTask } from "../../experiments/switch.ts";
import { tableAtTask } from "../../experiments/table_at.ts";
import { HAVE_FMNIST, quiet } from "../_helpers.ts";

const TASKS = [
  fig1Task,
  fig3Task,
  fig4bTask,
  fig4cTask,
  fig5Task,
  fig6Task,
  tableAtTask,
  switchTask,
] as const;

Deno.test("every sweep figure prints --help with its scales and sweep flags", async () => {
  for (const task of TASKS) {
    let text = "";
    const log = console.log;
    console.log = (s: string) => (text += s);
    try {
      assert.equal(await runFigure(task as never, ["--help"]), null);
    } finally {
      console.log = log;
    }
    for (const word of ["smoke", "small", "paper", "--workers", "--shard", "--dry-run"]) {
      assert.ok(text.includes(word), `${task.name} --help lacks ${word}`);
    }
  }
});

Deno.test("--scale paper validates and --dry-run prints the plan of every sweep figure", async () => {
  const out = await Deno.makeTempDir();
  try {
    for (const task of TASKS) {
      const err = await quiet(() =>
        runFigure(task as never, ["--scale", "paper", "--dry-run", "--skip-timing", "--out", out])
          .then(
            () => null,
            (e) => e,
          )
      );
      assert.ok(err instanceof RunPaused, `${task.name}: ${err}`);
      const text = (err as Error).message;
      assert.match(text, new RegExp(`${task.name}: \\d+ runs in \\d+ groups`));
      assert.match(text, /gradient evaluations \(mini-batches\): [\d,]+ planned/);
      assert.match(text, /inferred|NOT FOUND/);
    }
    // A dry run trains nothing.
    assert.equal(await Deno.stat(join(out, "sweep")).catch(() => null), null);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("bad sweep flags are rejected with the field or flag named", async () => {
  await assert.rejects(
    () => runFigure(fig3Task, ["--switches", "3,99", "--scale", "smoke"]),
    (e) => e instanceof ConfigError && /--switches/.test(e.message),
  );
  await assert.rejects(
    () => quiet(() => runFigure(fig3Task, ["--scale", "smoke", "--shard", "3/2", "--dry-run"])),
    (e) => e instanceof CliError && /--shard must be i\/n/.test(e.message),
  );
  await assert.rejects(
    () => quiet(() => runFigure(fig1Task, ["--scale", "smoke", "--workers", "0"])),
    (e) => e instanceof CliError && /--workers must be a positive integer/.test(e.message),
  );
});

Deno.test({
  name: "a sweep figure's outputs do not depend on the number of workers",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      const args = [
        "--scale",
        "smoke",
        "--train-size",
        "128",
        "--test-size",
        "64",
        "--epochs",
        "2",
      ];
      const files = ["data.csv", "figure.svg"];
      const hashes = async (out: string) =>
        await Promise.all(
          files.map(async (f) => sha256Hex(await Deno.readFile(join(out, "fig1", f)))),
        );
      await quiet(() =>
        runFigure(fig1Task, [...args, "--switch-at", "1", "--workers", "1", "--out", a])
      );
      await quiet(() =>
        runFigure(fig1Task, [...args, "--switch-at", "1", "--workers", "2", "--out", b])
      );
      assert.deepEqual(await hashes(a), await hashes(b));
    } finally {
      await Promise.all([a, b].map((d) => Deno.remove(d, { recursive: true })));
    }
  },
});

Deno.test("the AT dry runs list the AT inferences: the madry WRN stands in as wrn16-8", async () => {
  const out = await Deno.makeTempDir();
  try {
    for (const task of [fig6Task, tableAtTask]) {
      const args = ["--scale", "paper", "--dry-run", "--skip-timing", "--out", out];
      const err = await quiet(() => runFigure(task, args).then(() => null, (e) => e));
      assert.ok(err instanceof RunPaused, `${task.name}: ${err}`);
      assert.match(err.message, /WideResNet16_8_madry is not implemented: .*wrn16-8/);
      assert.match(err.message, /ERM_to_Adv\.py: T = 160/);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("the switch task rejects a pair that is not a switch, and at without an attack", async () => {
  await assert.rejects(
    () => runFigure(switchTask, ["--scale", "smoke", "--first", "sam", "--then", "sam"]),
    (e) => e instanceof ConfigError && /first and then must differ/.test(e.message),
  );
  await assert.rejects(
    () => runFigure(switchTask, ["--scale", "smoke", "--then", "at"]),
    (e) => e instanceof ConfigError && /needs a pgd attack/.test(e.message),
  );
});

Deno.test({
  name: "deno task switch draws the Fig. 3-style panel for any pair (SGD → USAM, tiny)",
  ignore: !HAVE_FMNIST,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const args = ["--scale", "smoke", "--first", "sgd", "--then", "usam", "--train-size", "128"];
      args.push("--test-size", "64", "--epochs", "2", "--switches", "1", "--seeds", "0");
      args.push("--sharpness.examples", "64", "--sharpness.iterations", "2", "--workers", "1");
      const outcome = await quiet(() => runFigure(switchTask, [...args, "--out", out]));
      const csv = await Deno.readTextFile(join(out, "switch", "data.csv"));
      // Per seed: full SGD (t = 2), the switch at 1, full USAM (t = 0); then 3 mean rows and
      // the paired rows: 2 gaps at proportion 0, 2 gaps and 2 shares at 0.5 (one seed: no
      // interval, empty lo and hi).
      const lines = csv.trim().split("\n");
      assert.equal(lines.length, 1 + 3 + 3 + 6);
      assert.match(lines.at(-1)!, /^paired,0\.5,1,1,,1,.*,lambda_max_recovered,[^,]+,,$/);
      const spec = await Deno.readTextFile(join(out, "switch", "spec.vl.json"));
      assert.match(spec, /USAM training proportion/);
      assert.equal(
        outcome?.manifest?.config && (outcome.manifest.config as { then: string }).then,
        "usam",
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("the medium scale: BatchNorm, the full test set, a decayed late phase, 5 seeds", () => {
  const s = FIG3_SCALES.medium;
  assert.ok(hasBatchNorm(s.model), "a model with BatchNorm");
  assert.equal(s.testSize, 0, "the full test set");
  assert.ok(s.trainSize >= 10_000);
  assert.notEqual(s.augment, "none");
  assert.ok(s.seeds.length >= 5);
  assert.ok(s.sharpness.examples >= 2000);
  // The 10 % late window runs at a decayed rate and holds hundreds of SAM steps.
  const late = Math.round(0.9 * s.epochs);
  assert.ok(s.switches.includes(late), "a 10 % late window");
  const lr = learningRate(lrScheduleOf(s), late, s.epochs);
  assert.ok(lr <= (s.lr / 10) * (1 + 1e-9), `late rate ${lr}`);
  assert.ok((s.epochs - late) * Math.ceil(s.trainSize / s.batchSize) >= 300);
  // Figures 1 and 4(c) switch at Figure 3's 10 % window, so they reuse its runs.
  assert.equal(FIG1_SCALES.medium.switchAt, late);
  assert.equal(FIG4C_SCALES.medium.switchAt, late);
  // Figure 5's SAM phases are at most half of T (claim (d)).
  assert.ok(FIG5_SCALES.medium.switches.every((t) => t <= s.epochs / 2));
});

Deno.test("lateSwitches: SAM shares 0.1/0.2/0.4 at small and medium, the paper grid above", () => {
  assert.deepEqual(lateSwitches("small", 30), [27, 24, 18]);
  assert.deepEqual(lateSwitches("medium", 40), [36, 32, 24]);
  assert.deepEqual(lateSwitches("smoke", 16), [13, 12]);
  assert.deepEqual(lateSwitches("paper", 200), paperSwitchGrid(200));
});

Deno.test("--scale medium dry-runs every figure that has it", async () => {
  const out = await Deno.makeTempDir();
  try {
    for (const task of [fig1Task, fig3Task, fig4bTask, fig4cTask, fig5Task]) {
      const err = await quiet(() =>
        runFigure(task as never, ["--scale", "medium", "--dry-run", "--skip-timing", "--out", out])
          .then(() => null, (e) => e)
      );
      assert.ok(err instanceof RunPaused, `${task.name}: ${err}`);
      assert.match((err as Error).message, new RegExp(`${task.name}: \\d+ runs? in`), task.name);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
