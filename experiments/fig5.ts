/**
 * Figure 5: SAM→SGD. For each SAM proportion t/T, the test-error gap to full SAM (top) and
 * λ_max of the final model (bottom), mean ± std over seeds. The paper's message: early SAM
 * barely matters; the result stays close to SGD's unless SAM lasts almost to the end.
 *
 *     deno task fig5 [--scale smoke|small|paper|paper-c100|paper-resnet20|paper-vgg16]
 *                    [--authors-window] [--workers N] [--shard i/n] [--dry-run] [--FIELD VALUE ...]
 *
 * Each seed's full-SAM run is the trunk every switched run branches from. `--authors-window`
 * reproduces the authors' inclusive window (SAM on epochs 0…t: t + 1 SAM epochs, SPEC §3.2).
 *
 * @module
 */
import { runMain } from "../core/cli.ts";
import { runFigure } from "../core/figure.ts";
import { FIG3_SCALES } from "./fig3.ts";
import { type SwitchFigureConfig, switchTask } from "./switch_sweep.ts";

function early(config: SwitchFigureConfig, switches: number[]): SwitchFigureConfig {
  return { ...config, switches };
}

/** Named configs of Figure 5: Figure 3's settings with SAM-first switch points. */
export const FIG5_SCALES: Record<string, SwitchFigureConfig> = Object.fromEntries(
  Object.entries(FIG3_SCALES).map(([name, config]) => {
    const T = config.epochs;
    const switches = name === "smoke"
      ? [3, 4]
      : name === "small"
      ? [3, 6, 12, 24]
      : [0, 0.2, 0.4, 0.6, 0.8].map((f) => Math.round(f * T)); // SPEC §3.2 (inferred)
    return [name, early(config, switches)];
  }),
);

/** The Figure 5 task. */
export const fig5Task = switchTask({
  name: "fig5",
  direction: "sam-to-sgd",
  description: "Figure 5 (SAM→SGD): test-error gap to full SAM and λ_max of the final model " +
    "against the SAM proportion t/T, mean ± std over seeds. Switched runs branch from each " +
    "seed's full-SAM run; runs shared with Figure 3 come from the sweep store.",
  title: "Figure 5 (SAM→SGD): test-error gap to full SAM and sharpness against the SAM proportion",
  scales: FIG5_SCALES,
});

if (import.meta.main) await runMain(() => runFigure(fig5Task, Deno.args).then(() => {}));
