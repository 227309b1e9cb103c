/**
 * Training-step benchmarks on the default backend (wasm): SGD and SAM steps of the reference
 * CNN (batch 128, 28×28×1) and of ResNet-20 (batch 128, 32×32×3). `deno bench` reports the
 * time per step; images/s is 128 divided by it, and the SAM/SGD ratio is in each group's
 * summary. The `half-batch` group times the CNN's step at batch 64 next to 128: the work each
 * of two data-parallel workers would do (see docs/benchmarks.md, "Both cores").
 */
import { useBackend } from "../../core/backend.ts";
import { makeStepper } from "./step_fixture.ts";

await useBackend("wasm");

const n = { n: 5, warmup: 2 };
/** A step as a bench body (the parameters it returns are not needed). */
const stepOnly = (step: () => unknown) => () => void step();
Deno.bench(
  "reference CNN, SGD step (batch 128, 28×28×1)",
  { group: "cnn", baseline: true, ...n },
  stepOnly(makeStepper("cnn", "sgd")),
);
Deno.bench(
  "reference CNN, SAM step (batch 128, 28×28×1)",
  { group: "cnn", ...n },
  stepOnly(makeStepper("cnn", "sam")),
);
Deno.bench("ResNet-20, SGD step (batch 128, 32×32×3)", {
  group: "resnet20",
  baseline: true,
  n: 3,
  warmup: 1,
}, stepOnly(makeStepper("resnet20", "sgd")));
Deno.bench(
  "ResNet-20, SAM step (batch 128, 32×32×3)",
  { group: "resnet20", n: 3, warmup: 1 },
  stepOnly(makeStepper("resnet20", "sam")),
);
Deno.bench(
  "reference CNN, SGD step, batch 128",
  { group: "half-batch", baseline: true, ...n },
  stepOnly(makeStepper("cnn", "sgd", 128)),
);
Deno.bench(
  "reference CNN, SGD step, batch 64",
  { group: "half-batch", ...n },
  stepOnly(makeStepper("cnn", "sgd", 64)),
);
