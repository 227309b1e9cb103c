/**
 * CIFAR ResNet-20/32/44/56 (He et al. 2016, §4.2) as in the authors' `cifar_resnet_plus`
 * (Idelbayev's implementation), docs/paper.md#settings:
 *
 * - stem: conv3×3 C→16 → BN → ReLU;
 * - three stages of n basic blocks (n = 3, 5, 7, 9) at widths 16, 32, 64 with strides 1, 2, 2;
 *   a block is `ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x))`, convs 3×3 without bias,
 *   the first conv carrying the stride;
 * - option-A shortcut when the shape changes ({@link optionAShortcut}), identity otherwise;
 * - global average pool → dense 64→K.
 *
 * Init: `kaiming_normal_` (fan_in, gain √2, untruncated) for conv kernels and the classifier
 * kernel; the classifier bias keeps PyTorch's default U(±1/√64); BN γ = 1, β = 0.
 *
 * The authors' code accepts ResNets on CIFAR-10 only (docs/paper.md#settings); this factory does
 * not
 * restrict the number of classes. Global average pooling equals their `avg_pool2d` over the
 * final 8×8 map for 32×32 inputs and also accepts other sizes.
 *
 * Parameters: `stem/conv/kernel`, `stem/bn/{gamma,beta}`;
 * `stage{1..3}/unit{i}/{conv1,conv2}/kernel`, `stage{s}/unit{i}/{bn1,bn2}/{gamma,beta}`;
 * `classifier/{kernel,bias}`. State: `mean` and `var` next to every BN's `gamma`/`beta`
 * (`stem/bn/mean`, `stage1/unit0/bn1/var`, …).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelOptions } from "../core/model.ts";
import {
  defineModel,
  globalAvgPool,
  type Init,
  relu,
  SpecBuilder,
  type SpecModel,
} from "./layers.ts";

/** Depths of the CIFAR ResNets and their blocks per stage, n = (depth − 2) / 6. */
export const RESNET_DEPTHS = [20, 32, 44, 56] as const;

/** A supported depth. */
export type ResNetDepth = (typeof RESNET_DEPTHS)[number];

const WIDTHS = [16, 32, 64] as const;

/**
 * The option-A shortcut of He et al.: subsample `x[:, ::2, ::2, :]` (NHWC; PyTorch
 * `x[:, :, ::2, ::2]` in NCHW) and zero-pad `outChannels / 4` channels on each side, so
 * C → C + 2·⌊outChannels/4⌋ (= outChannels when outChannels = 2C).
 *
 * @throws {Error} when the padded width is not `outChannels`.
 */
export function optionAShortcut(x: tf.Tensor4D, outChannels: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const pad = Math.floor(outChannels / 4);
  if (c + 2 * pad !== outChannels) {
    throw new Error(`optionAShortcut: cannot pad ${c} channels to ${outChannels}`);
  }
  return tf.tidy(() => {
    // tfjs has no gradient for stridedSlice: pad H and W to even sizes (the extra row/column
    // is never sampled), split each into (size/2, 2) and keep index 0 of every pair.
    const he = h + (h % 2);
    const we = w + (w % 2);
    const even = he === h && we === w ? x : tf.pad(x, [[0, 0], [0, he - h], [0, we - w], [0, 0]]);
    const pairs = tf.reshape(even, [n, he / 2, 2, we / 2, 2, c]);
    const picked = tf.slice(pairs, [0, 0, 0, 0, 0, 0], [n, he / 2, 1, we / 2, 1, c]);
    const sub = tf.reshape(picked, [n, he / 2, we / 2, c]) as tf.Tensor4D;
    return tf.pad(sub, [[0, 0], [0, 0], [0, 0], [pad, pad]]);
  });
}

/** Options of {@link createResNet}. */
export interface ResNetOptions extends ModelOptions {
  depth: ResNetDepth;
}

/** Builds a CIFAR ResNet. @throws {RangeError} for an unsupported depth. */
export function createResNet(options: ResNetOptions): SpecModel {
  const { numClasses, inputShape, depth } = options;
  if (!(RESNET_DEPTHS as readonly number[]).includes(depth)) {
    throw new RangeError(`resnet: depth must be one of ${RESNET_DEPTHS.join(", ")}, got ${depth}`);
  }
  const n = (depth - 2) / 6;
  const conv: Init = { kind: "kaimingNormal", mode: "fan_in" };
  const b = new SpecBuilder();
  b.conv("stem/conv", 3, inputShape[2], 16, { weight: conv });
  b.batchNorm("stem/bn", 16);
  let cin = 16;
  WIDTHS.forEach((width, s) => {
    for (let i = 0; i < n; i++) {
      const unit = `stage${s + 1}/unit${i}`;
      b.conv(`${unit}/conv1`, 3, cin, width, { weight: conv });
      b.batchNorm(`${unit}/bn1`, width);
      b.conv(`${unit}/conv2`, 3, width, width, { weight: conv });
      b.batchNorm(`${unit}/bn2`, width);
      cin = width;
    }
  });
  b.dense("classifier", 64, numClasses, {
    weight: { kind: "kaimingNormal", mode: "fan_in" },
    bias: { kind: "uniform", bound: 1 / Math.sqrt(64) },
  });
  return defineModel({
    name: `resnet${depth}`,
    numClasses,
    inputShape,
    spec: b.build(),
    forward(f, x) {
      let h = relu(f.batchNorm("stem/bn", f.conv("stem/conv", x)));
      let c = 16;
      WIDTHS.forEach((width, s) => {
        for (let i = 0; i < n; i++) {
          const unit = `stage${s + 1}/unit${i}`;
          const stride = s > 0 && i === 0 ? 2 : 1;
          let y = relu(f.batchNorm(`${unit}/bn1`, f.conv(`${unit}/conv1`, h, { stride })));
          y = f.batchNorm(`${unit}/bn2`, f.conv(`${unit}/conv2`, y));
          const shortcut = stride !== 1 || c !== width ? optionAShortcut(h, width) : h;
          h = relu(tf.add(y, shortcut));
          c = width;
        }
      });
      return f.dense("classifier", globalAvgPool(h));
    },
  });
}
