/**
 * Optimizers as pure, optax-style transforms over explicit state: SGD (PyTorch semantics),
 * the SAM-family perturbation, and full SGD/SAM steps with optimizer switching.
 *
 * @module
 */
export { applyUpdates, sgd, type SgdOptions, type SgdState, type Transform } from "./sgd.ts";
export { samPerturbation, type SamPerturbationArgs, type SamVariant } from "./sam.ts";
export {
  disposeSgdState,
  type LossAndGrad,
  type OptimizerSpec,
  optimizerStep,
  type OptimizerStepArgs,
  type OptimizerStepResult,
  switchOptimizerState,
  type SwitchOptimizerStateArgs,
} from "./step.ts";
