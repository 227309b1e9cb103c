/**
 * Captions of the report, one per figure name: what the paper shows, what this project ran
 * (built from the stored config, so it is always the config behind the chart), and where and
 * why the run departs from the paper. The departures are not written here: they are the
 * entries of `reports/deviations.ts` that concern the figure and scale shown (the same list
 * `docs/deviations.md` is rendered from). Background on the paper: `docs/paper.md`.
 *
 * A figure without an entry here still gets a caption: the chart's own title and subtitle,
 * and a note that no caption was written for it.
 *
 * @module
 */
import { hasBatchNorm } from "../models/registry.ts";
import { deviationsFor, deviationText } from "./deviations.ts";
import { isPaperScale } from "./discover.ts";

/** A figure's caption, resolved for one stored result. */
export interface Caption {
  /** Section heading. */
  title: string;
  /** What the paper's figure shows (and its message). */
  paper: string;
  /** What this result ran, from its config. */
  ran: string;
  /** Departures from the paper and the reason for each. */
  deviations: string[];
}

type Config = Record<string, unknown>;

interface CaptionSource {
  title: string;
  paper: string;
  ran(config: Config): string;
}

/** Report order: the paper's figure order, then the checks and the training task. */
export const FIGURE_ORDER: readonly string[] = [
  "fig1",
  "fig3",
  "fig4a",
  "fig4b",
  "fig4c",
  "fig5",
  "fig6",
  "table-at",
  "theory",
  "theory-p1",
  "theory-p2",
  "theory-p3",
  "theory-p4",
  "train",
];

/** A config value by dotted path, or undefined. */
function at(config: Config, path: string): unknown {
  let node: unknown = config;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function show(value: unknown): string {
  return Array.isArray(value) ? value.map(show).join(", ") : String(value);
}

/** `text` with `{path}` placeholders filled from the config; parts whose field is absent dropped. */
function fill(config: Config, parts: readonly string[]): string {
  const out: string[] = [];
  for (const part of parts) {
    let missing = false;
    const text = part.replace(/\{([\w.]+)\}/g, (_m, path: string) => {
      const value = at(config, path);
      if (value === undefined || value === null) missing = true;
      return show(value);
    });
    if (!missing) out.push(text);
  }
  return out.join(", ");
}

const count = (value: unknown, what: string) => (value ? `${value} ${what}` : `all ${what}`);

/** The network settings every sweep figure shares, as a sentence fragment. */
function networkSettings(config: Config): string {
  const data = at(config, "dataset") === undefined
    ? ""
    : `${at(config, "model")} on ${at(config, "dataset")} (${
      count(at(config, "trainSize"), "training")
    } / ${count(at(config, "testSize"), "test")} images, augmentation ${at(config, "augment")})`;
  const rest = fill(config, [
    "batch {batchSize}",
    "lr {lr} ({lrSchedule} schedule)",
    "momentum {momentum}",
    "weight decay {weightDecay}",
    "ρ = {rho}",
    "label smoothing {labelSmoothing}",
    "backend {backend}",
  ]);
  return [data, rest].filter((s) => s !== "").join(", ");
}

function seedList(config: Config): string {
  const seeds = at(config, "seeds");
  return Array.isArray(seeds)
    ? `${seeds.length} seed${seeds.length === 1 ? "" : "s"} (${seeds.join(", ")})`
    : `seed ${show(at(config, "seed"))}`;
}

function switchList(config: Config): string {
  const T = at(config, "epochs");
  const switches = at(config, "switches");
  if (typeof T !== "number" || !Array.isArray(switches)) return "";
  const all = [...new Set([0, ...switches.map(Number), T])].sort((a, b) => a - b);
  return `switch epochs t ∈ {${all.join(", ")}} of T = ${T} (0 and T are the pure baselines)`;
}

function sharpness(config: Config): string {
  const s = fill(config, [
    "top {sharpness.k} Hessian eigenvalues by Lanczos (at most {sharpness.iterations} " +
    "iterations) on the first {sharpness.examples} training images",
    "Lanczos stopping at relative residual {sharpness.tolerance}",
    "finite-difference step {sharpness.epsilon}",
    ...(typeof at(config, "model") !== "string" || hasBatchNorm(at(config, "model") as string)
      ? ["{sharpness.bnMode}-mode BatchNorm"]
      : []),
  ]);
  return s === "" ? "" : `λ_max: ${s}`;
}

const CAPTIONS: Record<string, CaptionSource> = {
  fig1: {
    title: "Figure 1(a): a late switch to SAM reaches SAM's test error",
    paper: "Test error against the epoch of WideResNet-16-8 on CIFAR-10 trained with SGD only, " +
      "SAM only, and SGD switched to SAM at t = 175 of T = 200 (epochs 100–200 drawn, mean ± std " +
      "over 5 seeds). The late switch ends at almost full SAM's error while paying for SAM in " +
      "only 12.5 % of the epochs.",
    ran: (c) =>
      `${networkSettings(c)}; T = ${show(at(c, "epochs"))}, late switch at t = ${
        show(at(c, "switchAt"))
      }, ${seedList(c)}; mean ± std over seeds. The three runs of a seed share their SGD ` +
      "prefix in the sweep store; the last epoch's comparisons are paired by seed, with 95 % " +
      "intervals (docs/statistics.md).",
  },
  fig3: {
    title: "Figure 3: SGD→SAM — a few late SAM epochs give SAM's error and sharpness",
    paper: "For runs that switch from SGD to SAM at epoch t, the test-error gap to full SAM " +
      "(top) and the sharpness λ_max of the final model (bottom) against the SAM proportion " +
      "(T − t)/T, mean ± std over 3 seeds. Most of SAM's effect comes from the last few epochs.",
    ran: (c) =>
      [
        `${networkSettings(c)}; ${switchList(c)}, ${seedList(c)}`,
        sharpness(c),
      ].filter((s) => s !== "").join("; ") +
      ". Every switched run branches from its seed's SGD run; gaps and shares are paired by " +
      "seed, with 95 % intervals (docs/statistics.md).",
  },
  fig4a: {
    title: "Figure 4(a): the two phases on a toy valley",
    paper: "On the paper's Example 4.1, SGD settles at a sharp minimum of a valley of minima; " +
      "after switching, SAM first escapes it and then converges to a flatter minimum of the same " +
      "valley.",
    ran: (c) =>
      fill(c, [
        "Valley L(u, v) = h(u)·q(v) with h {valley.sharpness} (h0 = {valley.h0}, a = {valley.a})",
        "a {valley.crossSection} cross-section (b = {valley.b})",
        "start (u, v) = ({start.u}, {start.v})",
        "learning rate {lr}",
        "noise σ = {sigma}",
        "ρ = {rho}",
        "SGD until the loss is below {sgd.settleLoss} (at most {sgd.maxSteps} steps)",
        "then {escape.trials} seeded trials of {escape.steps} SAM and USAM steps",
        "seed {seed}",
      ]) + ". Escape rates are fitted below a loss of " +
      `${show(at(c, "escape.fitBelowLoss"))} and compared with linear-stability predictions.`,
  },
  fig4b: {
    title: "Figure 4(b): SAM escapes SGD's minimum exponentially fast",
    paper: "From a converged SGD solution, the training loss against the number t′ of SAM " +
      "steps after the switch: the mean of 100 trials grows geometrically at first.",
    ran: (c) =>
      `${networkSettings(c)}; SGD for ${show(at(c, "epochs"))} epochs (seed ${
        show(at(c, "seed"))
      }), then ${
        fill(c, [
          "{trials} seeded trials of {steps} steps of SAM, ascent only and SGD (the control) " +
          "on the same batches",
          "ρ = {escape.rho}",
          "batch {escape.batchSize}",
          "loss on the first {escape.evalSize} training images",
        ])
      }; the growth of the loss excess over the starting loss is fitted from step 1 until it ` +
      `first reaches ${show(at(c, "fit.fraction"))} of its maximum and compared with the ` +
      "linearized prediction from the top Hessian eigenvalue at the start.",
  },
  fig4c: {
    title: "Figure 4(c): the flatter minimum lies in the same valley",
    paper: "The loss L(θ_λ) (top) and its second difference L″ with h = 0.1 (bottom) along " +
      "θ_λ = (1 − λ)·θ_SGD→SAM + λ·θ_SGD: no barrier between the two end points, and L″ grows " +
      "toward the sharper SGD end.",
    ran: (c) =>
      `${networkSettings(c)}; T = ${show(at(c, "epochs"))}, late switch at t = ${
        show(at(c, "switchAt"))
      }, ${seedList(c)}; ${
        fill(c, [
          "λ from {line.from} to {line.to} in steps of {line.step}",
          "h = {line.h}",
          "on the first {line.trainExamples} training and {line.testExamples} test images",
        ])
      }.`,
  },
  fig5: {
    title: "Figure 5: SAM→SGD — early SAM barely changes SGD's solution",
    paper: "For runs that use SAM up to epoch t and SGD afterwards, the test-error gap to full " +
      "SAM (top) and λ_max of the final model (bottom) against the SAM proportion t/T, mean ± std " +
      "over 3 seeds: unless SAM lasts almost to the end, the result stays close to SGD's.",
    ran: (c) =>
      [
        `${networkSettings(c)}; ${switchList(c)}, ${seedList(c)}`,
        at(c, "authorsWindow") === true
          ? "the authors' inclusive window (t + 1 SAM epochs)"
          : "exactly t SAM epochs",
        sharpness(c),
      ].filter((s) => s !== "").join("; ") +
      ". Every switched run branches from its seed's full-SAM run; gaps and shares are paired " +
      "by seed, with 95 % intervals (docs/statistics.md).",
  },
  fig6: {
    title: "Figure 6: late adversarial training",
    paper: "The paper's adversarial-training analogue of Figures 3 and 5: standard training " +
      "switched to adversarial training (AT) late gives robustness close to full AT. Its caption " +
      "is not available; the content is inferred from the reviews (docs/paper.md#figures-and-tables).",
    ran: (c) =>
      [networkSettings(c), seedList(c)].filter((s) => s !== "").join("; ") +
      ". The attack and switch settings are in config.json.",
  },
  "table-at": {
    title: "Table: clean and robust accuracy of standard, adversarial and late-switched training",
    paper: "The paper's table of adversarial-training results; its numbers are not available, " +
      "the content is inferred (docs/paper.md#figures-and-tables).",
    ran: (c) =>
      [networkSettings(c), seedList(c)].filter((s) => s !== "").join("; ") +
      ". The attack settings are in config.json.",
  },
  theory: {
    title: "Theory checks: summary of P1–P4",
    paper:
      "The paper's four claims about SAM after a late switch (docs/paper.md#theory): P1 it escapes " +
      "SGD's minimum exponentially fast (Cor. 4.2), P2 it stays in the same valley (Prop. 4.1), " +
      "P3 it converges to a flatter minimum (Thm. 4.1, linear stability), P4 it converges " +
      "exponentially fast under smoothness and PL (Thm. 4.3).",
    ran: () =>
      "Each claim checked numerically in float64 on problems where every quantity can be " +
      "computed exactly (over-parameterized least squares, a 1-D sub-quadratic loss, a " +
      "non-convex PL function); one PASS/FAIL line per claim.",
  },
};

const THEORY_CLAIMS: Record<string, string> = {
  "theory-p1": "P1: SAM escapes SGD's minimum exponentially fast (Corollary 4.2)",
  "theory-p2": "P2: SAM stays in the same valley (Proposition 4.1)",
  "theory-p3": "P3: SAM converges to a flatter minimum, by linear stability (Theorem 4.1)",
  "theory-p4": "P4: SAM converges exponentially fast under smoothness and PL (Theorem 4.3)",
};
for (const [name, title] of Object.entries(THEORY_CLAIMS)) {
  CAPTIONS[name] = { ...CAPTIONS.theory, title: `Theory check ${title}` };
}

CAPTIONS.train = {
  title: "Training run",
  paper: "Not a figure of the paper: the per-epoch training and test curves of one run of " +
    "`deno task train`.",
  ran: (c) =>
    `${networkSettings(c)}; phases ${show(at(c, "phases"))}, seed ${show(at(c, "seed"))}.`,
};

/** The chart title and subtitle lines of a Vega-Lite spec, when it has them. */
export function specTitle(spec: unknown): { text: string; subtitle: string[] } | null {
  const title = (spec as { title?: unknown } | null)?.title;
  if (typeof title === "string") return { text: title, subtitle: [] };
  if (typeof title !== "object" || title === null) return null;
  const { text, subtitle } = title as { text?: unknown; subtitle?: unknown };
  const lines = (v: unknown) => Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [];
  return { text: lines(text).join(" "), subtitle: lines(subtitle) };
}

/**
 * The caption of a stored result of `figure` with this config at `scale`. Figures without a
 * written caption get their chart title and a note saying so. The deviations are the entries
 * of `reports/deviations.ts` that concern the figure at that scale (at any scale when no scale
 * is given).
 */
export function captionFor(
  figure: string,
  config: unknown,
  spec?: unknown,
  scale?: string,
): Caption {
  const source = CAPTIONS[figure];
  const cfg = (typeof config === "object" && config !== null ? config : {}) as Config;
  const deviations = deviationsFor(figure, scale).map(deviationText);
  if (source) {
    return {
      title: source.title,
      paper: source.paper,
      ran: source.ran(cfg),
      deviations,
    };
  }
  const title = specTitle(spec);
  return {
    title: title?.text || figure,
    paper: `No caption has been written for "${figure}" in reports/captions.ts yet.`,
    ran: title && title.subtitle.length > 0
      ? title.subtitle.join(" ")
      : "See config.json for the settings of this result.",
    deviations,
  };
}

/** What a scale name means, for the note above each figure. */
export function scaleNote(scale: string): string {
  if (scale === "smoke") {
    return "Smoke scale: seconds-long runs that exercise the whole pipeline in CI (for the " +
      "network figures, a small CNN on 256 Fashion-MNIST training images, 512 for the AT " +
      "figures, for a few epochs, with 1–2 seeds). The numbers are not the paper's, and with so " +
      "few seeds most claims are not resolved: the checks guard the code path and the hash.";
  }
  if (scale === "small") {
    return "Small scale: sized to finish in minutes on two CPU cores (for the network " +
      "figures, the reference CNN on Fashion-MNIST subsets). Trends should show; absolute " +
      "numbers differ from the paper's CIFAR results.";
  }
  if (scale === "medium") {
    return "Medium scale: the paper's recipe in miniature (the reference CNN with BatchNorm on " +
      "10,000 augmented Fashion-MNIST images, a decayed learning rate, 5 seeds, the full " +
      "test set); Figure 3 takes about 40 minutes on two CPU cores, Figure 5 about 30 more. " +
      "Absolute numbers differ from the paper's CIFAR results.";
  }
  if (isPaperScale(scale)) {
    return `Paper scale (${scale}): the authors' settings as far as the paper and their ` +
      "code state them; the inferred ones are listed under the deviations.";
  }
  return `Scale "${scale}": a named config of this figure (see config.json).`;
}
