/**
 * WideResNet-16-8 as in the authors' code (davda54/sam `wide_res_net.py`), docs/paper.md#settings.
 * It is
 * deeper than the canonical WRN-16-8: each stage has 3 residual units.
 *
 * - stem: conv3×3 C→16 (no bias);
 * - stages at widths 128, 256, 512 (16·8·{1,2,4}) with strides 1, 2, 2; each is one
 *   downsample unit followed by `(depth − 4) / 6 = 2` basic units;
 * - downsample unit (pre-activation): `a = ReLU(BN1(x))`;
 *   `out = conv2(Dropout(ReLU(BN2(conv1_stride(a))))) + shortcut_stride(a)`, where the
 *   shortcut is a 1×1 conv of the *activated* input `a`;
 * - basic unit: `x + conv2(Dropout(ReLU(BN2(conv1(ReLU(BN1(x)))))))`;
 * - head: BN → ReLU → global average pool (the authors' AvgPool(8) on the final 8×8 map of a
 *   32×32 input) → dense 512→K.
 *
 * Init: convs `kaiming_normal_` (fan_in, gain √2, untruncated), no conv biases; BN γ = 1,
 * β = 0; the classifier's kernel and bias are zero (so every initial logit is 0). Dropout is
 * 0 in the authors' runs and is not implemented.
 *
 * Parameters: `stem/conv/kernel`; `stage{1..3}/unit{0..2}/{bn1,bn2}/{gamma,beta}`,
 * `stage{s}/unit{u}/{conv1,conv2}/kernel`, `stage{s}/unit0/shortcut/kernel` [1,1,Cin,Cout];
 * `final/bn/{gamma,beta}`; `classifier/{kernel,bias}`. State: `mean`/`var` of every BN.
 * 17,158,106 parameters for 10 classes, 17,204,276 for 100.
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

/** Options of {@link createWideResNet}. */
export interface WideResNetOptions extends ModelOptions {
  /** Depth (6k + 4); 16 by default. */
  depth?: number;
  /** Width factor; 8 by default. */
  widthFactor?: number;
}

/** Builds the davda54 WideResNet (WRN-16-8 by default). @throws {RangeError} on a bad depth. */
export function createWideResNet(options: WideResNetOptions): SpecModel {
  const { numClasses, inputShape, depth = 16, widthFactor = 8 } = options;
  if (!Number.isInteger(depth) || depth < 10 || (depth - 4) % 6 !== 0) {
    throw new RangeError(`wrn: depth must be 6k + 4 with k ≥ 1, got ${depth}`);
  }
  if (!Number.isInteger(widthFactor) || widthFactor < 1) {
    throw new RangeError(`wrn: widthFactor must be a positive integer, got ${widthFactor}`);
  }
  const basicUnits = (depth - 4) / 6;
  const widths = [16 * widthFactor, 32 * widthFactor, 64 * widthFactor];
  const conv: Init = { kind: "kaimingNormal", mode: "fan_in" };
  const b = new SpecBuilder();
  b.conv("stem/conv", 3, inputShape[2], 16, { weight: conv });
  let cin = 16;
  widths.forEach((width, s) => {
    for (let u = 0; u <= basicUnits; u++) {
      const unit = `stage${s + 1}/unit${u}`;
      b.batchNorm(`${unit}/bn1`, cin);
      b.conv(`${unit}/conv1`, 3, cin, width, { weight: conv });
      b.batchNorm(`${unit}/bn2`, width);
      b.conv(`${unit}/conv2`, 3, width, width, { weight: conv });
      if (u === 0) b.conv(`${unit}/shortcut`, 1, cin, width, { weight: conv });
      cin = width;
    }
  });
  b.batchNorm("final/bn", cin);
  b.dense("classifier", cin, numClasses, { weight: { kind: "zeros" }, bias: { kind: "zeros" } });
  return defineModel({
    name: depth === 16 && widthFactor === 8 ? "wrn16-8" : `wrn${depth}-${widthFactor}`,
    numClasses,
    inputShape,
    spec: b.build(),
    forward(f, x) {
      let h = f.conv("stem/conv", x);
      widths.forEach((_, s) => {
        for (let u = 0; u <= basicUnits; u++) {
          const unit = `stage${s + 1}/unit${u}`;
          const stride = s > 0 && u === 0 ? 2 : 1;
          const a = relu(f.batchNorm(`${unit}/bn1`, h));
          let y = f.conv(`${unit}/conv1`, a, { stride });
          y = f.conv(`${unit}/conv2`, relu(f.batchNorm(`${unit}/bn2`, y)));
          const shortcut = u === 0 ? f.conv(`${unit}/shortcut`, a, { stride }) : h;
          h = tf.add(y, shortcut);
        }
      });
      h = relu(f.batchNorm("final/bn", h));
      return f.dense("classifier", globalAvgPool(h));
    },
  });
}
