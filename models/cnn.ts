/**
 * The reference small CNN of the benchmarks (docs/benchmarks.md):
 *
 *     conv3×3×32 → ReLU → maxpool2 → conv3×3×64 → ReLU → maxpool2 → flatten → dense K
 *
 * Convolutions use `same` padding (PyTorch `padding=1`) and have biases. This is the variant
 * whose cost matches the benchmark's "7.74 MFLOP forward per 28×28×1 image": with `same`
 * padding the multiply-adds are 28·28·32·9 + 14·14·64·288 + 7·7·64·10 = 3,869,824, i.e.
 * 7,739,648 FLOPs (2 per multiply-add), while `valid` convolutions would give 4.88 MFLOP
 * ({@link cnnForwardFlops}). All layers use PyTorch's default init (U(±1/√fan_in)).
 *
 * Parameters: `conv1/kernel` [3,3,C,32], `conv1/bias`, `conv2/kernel` [3,3,32,64],
 * `conv2/bias`, `classifier/kernel` [⌊⌊H/2⌋/2⌋·⌊⌊W/2⌋/2⌋·64, K], `classifier/bias`. No state.
 * The flatten is in NHWC order (PyTorch flattens NCHW); this only permutes the classifier's
 * rows.
 *
 * `cnn-bn` ({@link createCnnBn}) is the same network with BatchNorm after each convolution,
 * the smallest model here that exercises what BatchNorm changes for SAM (its second pass in
 * train mode, sharpness with batch statistics, running statistics):
 *
 *     conv3×3×32 → BN → ReLU → maxpool2 → conv3×3×64 → BN → ReLU → maxpool2 → flatten → dense K
 *
 * Its convolutions have no bias (BatchNorm's shift replaces it). Parameters as above without
 * the conv biases, plus `bn1/gamma`, `bn1/beta`, `bn2/gamma`, `bn2/beta`; state `bn1/mean`,
 * `bn1/var`, `bn2/mean`, `bn2/var`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { ModelOptions } from "../core/model.ts";
import {
  defineModel,
  flatten,
  maxPool2,
  relu,
  SpecBuilder,
  type SpecModel,
  torchDefaultLayerInit,
} from "./layers.ts";

/** Spatial sizes after each stage of the CNN. */
function cnnShapes(inputShape: readonly [number, number, number]) {
  const [h, w] = inputShape;
  const p1 = [Math.floor(h / 2), Math.floor(w / 2)];
  const p2 = [Math.floor(p1[0] / 2), Math.floor(p1[1] / 2)];
  return { conv1: [h, w], conv2: p1, flat: p2[0] * p2[1] * 64 };
}

/**
 * Forward FLOPs per image (2 per multiply-add of the convolutions and the dense layer;
 * biases, ReLU and pooling not counted). 7,739,648 for 28×28×1 and 10 classes.
 */
export function cnnForwardFlops(options: ModelOptions): number {
  const { inputShape, numClasses } = options;
  const s = cnnShapes(inputShape);
  const macs = s.conv1[0] * s.conv1[1] * 32 * 9 * inputShape[2] +
    s.conv2[0] * s.conv2[1] * 64 * 9 * 32 + s.flat * numClasses;
  return 2 * macs;
}

/** Builds the reference CNN. @throws {RangeError} for inputs smaller than 4×4. */
export function createCnn(options: ModelOptions): SpecModel {
  return buildCnn(options, false);
}

/** Builds the reference CNN with BatchNorm (`cnn-bn`). @throws {RangeError} as {@link createCnn}. */
export function createCnnBn(options: ModelOptions): SpecModel {
  return buildCnn(options, true);
}

function buildCnn(options: ModelOptions, withBatchNorm: boolean): SpecModel {
  const { numClasses, inputShape } = options;
  const name = withBatchNorm ? "cnn-bn" : "cnn";
  const s = cnnShapes(inputShape);
  if (s.flat === 0) throw new RangeError(`${name}: input must be at least 4x4, got ${inputShape}`);
  const c = inputShape[2];
  // With BatchNorm after it a convolution's bias would be cancelled by the normalization.
  const convInit = (fanIn: number) =>
    withBatchNorm ? { weight: torchDefaultLayerInit(fanIn).weight } : torchDefaultLayerInit(fanIn);
  const b = new SpecBuilder().conv("conv1", 3, c, 32, convInit(9 * c));
  if (withBatchNorm) b.batchNorm("bn1", 32);
  b.conv("conv2", 3, 32, 64, convInit(9 * 32));
  if (withBatchNorm) b.batchNorm("bn2", 64);
  b.dense("classifier", s.flat, numClasses, torchDefaultLayerInit(s.flat));
  return defineModel({
    name,
    numClasses,
    inputShape,
    spec: b.build(),
    forward(f, x) {
      const norm = (bn: string, h: tf.Tensor4D) => withBatchNorm ? f.batchNorm(bn, h) : h;
      const h1 = maxPool2(relu(norm("bn1", f.conv("conv1", x))));
      const h2 = maxPool2(relu(norm("bn2", f.conv("conv2", h1))));
      return f.dense("classifier", flatten(h2));
    },
  });
}
