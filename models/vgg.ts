/**
 * VGG-16 with BatchNorm (configuration D) as in the authors' `cifar_vgg.vgg16_bn`,
 * docs/paper.md#settings:
 *
 * - features: conv3×3 (with bias) → BN → ReLU for the widths
 *   [64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M]
 *   (M = 2×2 max pool, stride 2); 32×32 inputs end at 1×1;
 * - adaptive average pool to 1×1 (a global average pool);
 * - classifier: dense 512→4096 → ReLU → Dropout → dense 4096→4096 → ReLU → Dropout → dense
 *   4096→K.
 *
 * Init: conv kernels `kaiming_normal_` (fan_out, gain √2, untruncated), conv biases 0; BN
 * γ = 1, β = 0; dense kernels N(0, 0.01²), dense biases 0.
 *
 * Dropout (rate 0.5 by default, as the authors) is applied in train mode only and needs
 * randomness, which the {@link Model} contract does not carry: a train-mode `apply` with a
 * non-zero rate must get `options.dropoutKey`, from which the two masks are drawn
 * (`deriveKey(dropoutKey, "fc1")` and `"fc2"`), and throws without one. Create the model with
 * `dropout: 0` to train through the plain contract without dropout (a documented deviation).
 *
 * Parameters: `features/conv{0..12}/{kernel,bias}`, `features/bn{0..12}/{gamma,beta}`,
 * `fc1/{kernel,bias}`, `fc2/{kernel,bias}`, `classifier/{kernel,bias}`. State:
 * `features/bn{i}/{mean,var}`. 33,646,666 parameters for 10 classes, 34,015,396 for 100.
 *
 * @module
 */
import type { ModelOptions } from "../core/model.ts";
import { deriveKey } from "../core/random.ts";
import type * as tf from "@tensorflow/tfjs";
import {
  defineModel,
  dropout,
  globalAvgPool,
  maxPool2,
  relu,
  SpecBuilder,
  type SpecModel,
} from "./layers.ts";

/** Configuration D: conv widths, with "M" for a max pool. */
export const VGG16_CONFIG: readonly (number | "M")[] = [
  64,
  64,
  "M",
  128,
  128,
  "M",
  256,
  256,
  256,
  "M",
  512,
  512,
  512,
  "M",
  512,
  512,
  512,
  "M",
];

/** Options of {@link createVgg16Bn}. */
export interface VggOptions extends ModelOptions {
  /** Dropout rate of the two hidden dense layers in train mode; default 0.5. */
  dropout?: number;
}

/**
 * Builds VGG-16-BN.
 *
 * @throws {RangeError} for a dropout rate outside [0, 1) or an input smaller than 32×32
 *   (five 2×2 pools).
 */
export function createVgg16Bn(options: VggOptions): SpecModel {
  const { numClasses, inputShape, dropout: rate = 0.5 } = options;
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`vgg16-bn: dropout must be in [0, 1), got ${rate}`);
  }
  if (inputShape[0] < 32 || inputShape[1] < 32) {
    throw new RangeError(`vgg16-bn: input must be at least 32x32, got ${inputShape.join("x")}`);
  }
  const b = new SpecBuilder();
  let cin = inputShape[2];
  let i = 0;
  for (const layer of VGG16_CONFIG) {
    if (layer === "M") continue;
    b.conv(`features/conv${i}`, 3, cin, layer, {
      weight: { kind: "kaimingNormal", mode: "fan_out" },
      bias: { kind: "zeros" },
    });
    b.batchNorm(`features/bn${i}`, layer);
    cin = layer;
    i++;
  }
  const fc = { weight: { kind: "normal", std: 0.01 }, bias: { kind: "zeros" } } as const;
  b.dense("fc1", 512, 4096, fc);
  b.dense("fc2", 4096, 4096, fc);
  b.dense("classifier", 4096, numClasses, fc);
  return defineModel({
    name: "vgg16-bn",
    numClasses,
    inputShape,
    spec: b.build(),
    forward(f, x, options) {
      const train = f.mode === "train" && rate > 0;
      if (train && !options.dropoutKey) {
        throw new Error(
          `vgg16-bn: train mode with dropout ${rate} needs apply(…, { dropoutKey }); ` +
            `create the model with dropout: 0 to train without dropout`,
        );
      }
      let h: tf.Tensor4D = x;
      let j = 0;
      for (const layer of VGG16_CONFIG) {
        if (layer === "M") {
          h = maxPool2(h);
          continue;
        }
        h = relu(f.batchNorm(`features/bn${j}`, f.conv(`features/conv${j}`, h)));
        j++;
      }
      let z = globalAvgPool(h);
      for (const name of ["fc1", "fc2"]) {
        z = relu(f.dense(name, z));
        if (train) z = dropout(z, rate, deriveKey(options.dropoutKey!, name));
      }
      return f.dense("classifier", z);
    },
  });
}
