/**
 * The config of `deno task theory`: one section per check plus the shared least-squares
 * data, and the named scales.
 *
 * @module
 */
import { z } from "zod";

const positive = (what: string) => z.number().positive().describe(what);
const count = (what: string) => z.number().int().positive().describe(what);
const positives = (what: string) => z.array(z.number().positive()).min(1).describe(what);
const nonnegatives = (what: string) => z.array(z.number().nonnegative()).min(1).describe(what);

/** Config of the theory checks. */
export const theorySchema = z.strictObject({
  seed: z.number().int().nonnegative().describe("root seed of every stream"),
  data: z.strictObject({
    n: z.number().int().min(2).describe("least-squares samples n"),
    d: count("parameters d (must exceed n: over-parameterized)"),
    featureStd: positive("inputs xᵢⱼ ~ N(0, featureStd²)"),
    startLoss: positive("L(θ₀) of the start near the global minimum"),
  }).refine((v) => v.d > v.n, { path: ["d"], message: "must exceed data.n (over-parameterized)" }),
  gamma: z.strictObject({
    directions: count("random directions for the sampled alignment γ (the exact inf is computed)"),
  }),
  power: z.strictObject({
    iterations: count("power iterations per exact growth factor of E[L̃]"),
    bisections: count("bisection steps for exact stability edges"),
  }),
  p3: z.strictObject({
    etas: positives("learning rates η of the grid"),
    rhos: nonnegatives("USAM radii ρ of the grid"),
    batchSizes: z.array(z.number().int().positive()).min(1).describe("batch sizes B of the grid"),
    trials: count("seeded trials per grid point"),
    steps: count("USAM steps per trial"),
    boundaryEtas: z.number().int().nonnegative().describe(
      "η points of the exact boundary curve per B (0: none)",
    ),
  }),
  band: z.strictObject({
    eta: positive("η of the band and of P1"),
    rho: positive("ρ of the band and of P1"),
    batchSize: count("B of the band and of P1"),
    position: z.number().gt(0).lt(1).describe(
      "where P1's minimum sits: 0…1, log scale from USAM's bound to SGD's exact edge",
    ),
    sweepPoints: z.number().int().min(2).describe("points of the ‖H‖_F² sweep"),
  }),
  p1: z.strictObject({
    trials: count("seeded trials of SGD and USAM"),
    steps: count("steps per trial"),
    fitFrom: z.number().int().nonnegative().describe("first step of the growth-phase fit"),
    fitTo: count("last step of the growth-phase fit"),
  }).refine((v) => v.fitTo >= v.fitFrom + 2 && v.fitTo <= v.steps, {
    path: ["fitTo"],
    message: "must be at least p1.fitFrom + 2 and at most p1.steps",
  }),
  p2: z.strictObject({
    a: positive("slope a of the valley's arms"),
    b: positive("half-width b of the quadratic core"),
    etas: positives("learning rates η of the sweep"),
    rhos: nonnegatives("radii ρ of the sweep"),
    starts: count("starts spread over (−b, b)"),
    steps: count("steps per run"),
    trajectory: z.strictObject({
      eta: positive("η of the headline USAM run"),
      rho: z.number().nonnegative().describe("ρ of the headline USAM run"),
      start: z.number().gt(-1).lt(1).describe("θ₀/b of the headline run"),
      steps: count("steps of the headline run"),
    }),
    control: z.strictObject({
      eta: positive("η of the negative control (ηa > 2b)"),
      rho: z.number().nonnegative().describe("ρ of the negative control (above the ρ bound)"),
    }),
  }),
  p4: z.strictObject({
    etaBeta: positives("η·β of the grid"),
    rhoBeta: nonnegatives("ρ·β of the grid"),
    starts: z.array(z.number()).min(1).describe("starts x₀ on the non-convex problem"),
    drop: z.number().gt(0).lt(1).describe("run until L ≤ drop·L₀"),
    maxSteps: count("most steps per run"),
    headline: z.strictObject({
      etaBeta: positive("η·β of the plotted curves and of the control"),
      rhoBeta: z.number().nonnegative().describe("ρ·β of the plotted curves and of the control"),
    }),
    miniBatch: z.strictObject({
      etaBeta: positive("η·β of shared-batch USAM on least squares"),
      rhoBeta: z.number().nonnegative().describe("ρ·β of shared-batch USAM"),
      batchSize: count("its batch size B"),
      trials: count("its seeded trials"),
      steps: count("its steps"),
      drop: z.number().gt(0).lt(1).describe("the mean of trials must reach L ≤ drop·L₀"),
    }),
    controlStart: z.number().gt(0).lte(1).describe(
      "x₀ of the control f(x) = x⁴ (smooth, not PL)",
    ),
  }),
});

/** A validated theory config. */
export type TheoryConfig = z.output<typeof theorySchema>;

const range = (from: number, to: number, step: number) =>
  Array.from(
    { length: Math.round((to - from) / step) + 1 },
    (_, i) => +(from + i * step).toFixed(10),
  );

const small: TheoryConfig = {
  seed: 0,
  data: { n: 20, d: 60, featureStd: 0.4, startLoss: 1e-8 },
  gamma: { directions: 2000 },
  power: { iterations: 2000, bisections: 24 },
  p3: {
    etas: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8],
    rhos: [0, 0.25, 0.5, 1, 1.5, 2],
    batchSizes: [1, 2, 4],
    trials: 100,
    steps: 200,
    boundaryEtas: 16,
  },
  band: { eta: 0.1, rho: 1, batchSize: 2, position: 0.5, sweepPoints: 25 },
  p1: { trials: 1000, steps: 40, fitFrom: 0, fitTo: 20 },
  p2: {
    a: 1,
    b: 1,
    etas: range(0.1, 5, 0.1),
    rhos: range(0, 4, 0.05),
    starts: 40,
    steps: 1000,
    trajectory: { eta: 1.5, rho: 1, start: 1e-4, steps: 60 },
    control: { eta: 2.8, rho: 4 },
  },
  p4: {
    etaBeta: [0.25, 0.5, 1],
    rhoBeta: [0, 0.1, 0.2],
    starts: [-7.3, 2.2, 5],
    drop: 1e-20,
    maxSteps: 20000,
    headline: { etaBeta: 0.5, rhoBeta: 0.1 },
    miniBatch: { etaBeta: 0.15, rhoBeta: 0.1, batchSize: 2, trials: 100, steps: 3000, drop: 1e-10 },
    controlStart: 1,
  },
};

/** Named configs: `smoke` (seconds, what the tests and CI run) and `small` (the default). */
export const THEORY_SCALES: Record<string, TheoryConfig> = {
  smoke: {
    ...small,
    gamma: { directions: 200 },
    power: { iterations: 600, bisections: 16 },
    p3: {
      etas: [0.1, 0.3, 0.8],
      rhos: [0, 1, 2],
      batchSizes: [1, 2],
      trials: 20,
      steps: 100,
      boundaryEtas: 0,
    },
    band: { ...small.band, sweepPoints: 6 },
    p1: { trials: 100, steps: 30, fitFrom: 0, fitTo: 15 },
    p2: {
      ...small.p2,
      etas: [0.5, 1, 2, 2.2, 2.5, 2.8, 3, 3.5, 4.5],
      rhos: [0, 0.5, 1, 2, 4],
      starts: 8,
      steps: 300,
    },
    p4: {
      ...small.p4,
      etaBeta: [0.5, 1],
      rhoBeta: [0, 0.1],
      starts: [2.2, 5],
      miniBatch: { ...small.p4.miniBatch, trials: 20 },
    },
  },
  small,
};
