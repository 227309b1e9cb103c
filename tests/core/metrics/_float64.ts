/**
 * Independent float64 oracles for the HVP tests, in plain TypeScript (no tfjs): the loss and
 * analytic gradient of the MLP and of the reference CNN (`models/mlp.ts`, `models/cnn.ts`)
 * under mean softmax cross-entropy, written from the layer definitions (NHWC, PyTorch padding
 * 1 for 3×3 convolutions, 2×2 max pooling, NHWC flatten, dense [in, out]), and a Hessian-vector
 * product by a tiny central difference of that float64 gradient.
 *
 * Each forward pass also records a hash of its activation pattern (ReLU signs and the winners
 * of max-pool windows with a positive maximum): where the patterns at θ ± εv agree, the network is a
 * smooth function of θ on that segment, so finite differences there see no kink.
 */
import type { ParamLayout } from "../../../core/metrics/mod.ts";

/** Parameters by name, each a view into one flat float64 vector. */
type Views = Record<string, Float64Array>;

function views(theta: Float64Array, layout: ParamLayout): Views {
  const out: Views = {};
  layout.names.forEach((name, i) => {
    const size = layout.shapes[i].reduce((a, b) => a * b, 1);
    out[name] = theta.subarray(layout.offsets[i], layout.offsets[i] + size);
  });
  return out;
}

/** What a float64 forward/backward pass returns. */
export interface Pass64 {
  loss: number;
  grad: Float64Array;
  /** ReLU signs and max-pool winners, as one string per layer. */
  pattern: string;
}

/** Mean cross-entropy of logits [n, k] and its gradient (p − onehot)/n. */
function softmaxCe(logits: Float64Array, labels: Int32Array, n: number, k: number) {
  const dlogits = new Float64Array(n * k);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[i * k + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[i * k + j] - max);
    const lse = max + Math.log(sum);
    loss += lse - logits[i * k + labels[i]];
    for (let j = 0; j < k; j++) {
      dlogits[i * k + j] = (Math.exp(logits[i * k + j] - lse) - (j === labels[i] ? 1 : 0)) / n;
    }
  }
  return { loss: loss / n, dlogits };
}

function denseForward(x: Float64Array, w: Float64Array, b: Float64Array, n: number) {
  const inputs = w.length / b.length;
  const outputs = b.length;
  const y = new Float64Array(n * outputs);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outputs; o++) {
      let s = b[o];
      for (let f = 0; f < inputs; f++) s += x[i * inputs + f] * w[f * outputs + o];
      y[i * outputs + o] = s;
    }
  }
  return y;
}

function denseBackward(
  x: Float64Array,
  w: Float64Array,
  dy: Float64Array,
  n: number,
  outputs: number,
) {
  const inputs = w.length / outputs;
  const dw = new Float64Array(w.length);
  const db = new Float64Array(outputs);
  const dx = new Float64Array(n * inputs);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outputs; o++) {
      const g = dy[i * outputs + o];
      db[o] += g;
      for (let f = 0; f < inputs; f++) {
        dw[f * outputs + o] += x[i * inputs + f] * g;
        dx[i * inputs + f] += w[f * outputs + o] * g;
      }
    }
  }
  return { dw, db, dx };
}

/** One step of the 32-bit FNV-1a hash (patterns are compared by hash). */
function fnv(hash: number, value: number): number {
  return Math.imul(hash ^ (value & 0xffffffff), 16777619) >>> 0;
}

function reluForward(x: Float64Array, frozen?: Uint8Array) {
  const own = Uint8Array.from(x, (v) => (v > 0 ? 1 : 0));
  const mask = frozen ?? own;
  const y = x.map((v, i) => (mask[i] ? v : 0));
  let pattern = 2166136261;
  for (let i = 0; i < own.length; i++) pattern = fnv(pattern, own[i]);
  return { y, mask, pattern: String(pattern) };
}

function reluBackward(mask: Uint8Array, dy: Float64Array): Float64Array {
  return dy.map((g, i) => (mask[i] ? g : 0));
}

/** 3×3 convolution, padding 1, stride 1, NHWC, kernel [3, 3, cin, cout]. */
function convForward(
  x: Float64Array,
  w: Float64Array,
  b: Float64Array,
  shape: [number, number, number, number],
) {
  const [n, h, wd, cin] = shape;
  const cout = b.length;
  const y = new Float64Array(n * h * wd * cout);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < wd; c++) {
        for (let o = 0; o < cout; o++) {
          let s = b[o];
          for (let kr = 0; kr < 3; kr++) {
            const rr = r + kr - 1;
            if (rr < 0 || rr >= h) continue;
            for (let kc = 0; kc < 3; kc++) {
              const cc = c + kc - 1;
              if (cc < 0 || cc >= wd) continue;
              for (let ci = 0; ci < cin; ci++) {
                s += x[((i * h + rr) * wd + cc) * cin + ci] *
                  w[((kr * 3 + kc) * cin + ci) * cout + o];
              }
            }
          }
          y[((i * h + r) * wd + c) * cout + o] = s;
        }
      }
    }
  }
  return y;
}

function convBackward(
  x: Float64Array,
  w: Float64Array,
  dy: Float64Array,
  shape: [number, number, number, number],
  cout: number,
) {
  const [n, h, wd, cin] = shape;
  const dw = new Float64Array(w.length);
  const db = new Float64Array(cout);
  const dx = new Float64Array(x.length);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < wd; c++) {
        for (let o = 0; o < cout; o++) {
          const g = dy[((i * h + r) * wd + c) * cout + o];
          db[o] += g;
          for (let kr = 0; kr < 3; kr++) {
            const rr = r + kr - 1;
            if (rr < 0 || rr >= h) continue;
            for (let kc = 0; kc < 3; kc++) {
              const cc = c + kc - 1;
              if (cc < 0 || cc >= wd) continue;
              for (let ci = 0; ci < cin; ci++) {
                const xi = ((i * h + rr) * wd + cc) * cin + ci;
                const wi = ((kr * 3 + kc) * cin + ci) * cout + o;
                dw[wi] += x[xi] * g;
                dx[xi] += w[wi] * g;
              }
            }
          }
        }
      }
    }
  }
  return { dw, db, dx };
}

/** 2×2 max pooling, stride 2, floor; returns the winners' input indices (or uses `frozen`). */
function poolForward(
  x: Float64Array,
  shape: [number, number, number, number],
  frozen?: Int32Array,
) {
  const [n, h, w, c] = shape;
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const y = new Float64Array(n * oh * ow * c);
  const winner = new Int32Array(y.length);
  let pattern = 2166136261;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let a = 0; a < 2; a++) {
            for (let b = 0; b < 2; b++) {
              const idx = ((i * h + 2 * r + a) * w + 2 * q + b) * c + ch;
              if (x[idx] > best) {
                best = x[idx];
                at = idx;
              }
            }
          }
          const o = ((i * oh + r) * ow + q) * c + ch;
          pattern = fnv(pattern, best > 0 ? at : -1);
          if (frozen) at = frozen[o];
          y[o] = x[at];
          winner[o] = at;
        }
      }
    }
  }
  return {
    y,
    winner,
    pattern: String(pattern),
    shape: [n, oh, ow, c] as [number, number, number, number],
  };
}

function poolBackward(dy: Float64Array, winner: Int32Array, inputSize: number): Float64Array {
  const dx = new Float64Array(inputSize);
  for (let o = 0; o < dy.length; o++) dx[winner[o]] += dy[o];
  return dx;
}

function assemble(layout: ParamLayout, grads: Views): Float64Array {
  const out = new Float64Array(layout.dim);
  layout.names.forEach((name, i) => out.set(grads[name], layout.offsets[i]));
  return out;
}

/** Loss and gradient of `models/mlp.ts` (dense → ReLU per hidden layer → classifier). */
export function mlpPass(
  theta: Float64Array,
  layout: ParamLayout,
  data: { x: Float32Array; y: Int32Array; n: number },
  hidden: readonly number[],
  numClasses: number,
): Pass64 {
  const p = views(theta, layout);
  const acts: Float64Array[] = [Float64Array.from(data.x)];
  const pre: Uint8Array[] = [];
  let pattern = "";
  hidden.forEach((_, l) => {
    const z = denseForward(acts[l], p[`fc${l}/kernel`], p[`fc${l}/bias`], data.n);
    const r = reluForward(z);
    pre.push(r.mask);
    acts.push(r.y);
    pattern += r.pattern + "|";
  });
  const logits = denseForward(
    acts[hidden.length],
    p["classifier/kernel"],
    p["classifier/bias"],
    data.n,
  );
  const { loss, dlogits } = softmaxCe(logits, data.y, data.n, numClasses);
  const g: Views = {};
  let back = denseBackward(
    acts[hidden.length],
    p["classifier/kernel"],
    dlogits,
    data.n,
    numClasses,
  );
  g["classifier/kernel"] = back.dw;
  g["classifier/bias"] = back.db;
  for (let l = hidden.length - 1; l >= 0; l--) {
    const dz = reluBackward(pre[l], back.dx);
    back = denseBackward(acts[l], p[`fc${l}/kernel`], dz, data.n, hidden[l]);
    g[`fc${l}/kernel`] = back.dw;
    g[`fc${l}/bias`] = back.db;
  }
  return { loss, grad: assemble(layout, g), pattern };
}

/** The activation pattern of the CNN: ReLU masks and max-pool winners of both stages. */
export interface CnnPattern {
  relu1: Uint8Array;
  pool1: Int32Array;
  relu2: Uint8Array;
  pool2: Int32Array;
}

/**
 * Loss and gradient of `models/cnn.ts` on [n, h, w, c] inputs. With `frozen`, the ReLU masks
 * and max-pool winners are those given instead of the current ones: the network is then a
 * polynomial in θ, and differences of this gradient give the almost-everywhere Hessian that
 * double backprop computes (kinks ignored).
 */
export function cnnPass(
  theta: Float64Array,
  layout: ParamLayout,
  data: { x: Float32Array; y: Int32Array; n: number },
  inputShape: readonly [number, number, number],
  numClasses: number,
  frozen?: CnnPattern,
): Pass64 & { frozen: CnnPattern } {
  const p = views(theta, layout);
  const [h, w, c] = inputShape;
  const x = Float64Array.from(data.x);
  const s1: [number, number, number, number] = [data.n, h, w, c];
  const z1 = convForward(x, p["conv1/kernel"], p["conv1/bias"], s1);
  const r1 = reluForward(z1, frozen?.relu1);
  const p1 = poolForward(r1.y, [data.n, h, w, 32], frozen?.pool1);
  const z2 = convForward(p1.y, p["conv2/kernel"], p["conv2/bias"], p1.shape);
  const r2 = reluForward(z2, frozen?.relu2);
  const p2 = poolForward(r2.y, [p1.shape[0], p1.shape[1], p1.shape[2], 64], frozen?.pool2);
  const logits = denseForward(p2.y, p["classifier/kernel"], p["classifier/bias"], data.n);
  const { loss, dlogits } = softmaxCe(logits, data.y, data.n, numClasses);
  const g: Views = {};
  const d3 = denseBackward(p2.y, p["classifier/kernel"], dlogits, data.n, numClasses);
  g["classifier/kernel"] = d3.dw;
  g["classifier/bias"] = d3.db;
  const dz2 = reluBackward(r2.mask, poolBackward(d3.dx, p2.winner, z2.length));
  const d2 = convBackward(p1.y, p["conv2/kernel"], dz2, p1.shape, 64);
  g["conv2/kernel"] = d2.dw;
  g["conv2/bias"] = d2.db;
  const dz1 = reluBackward(r1.mask, poolBackward(d2.dx, p1.winner, z1.length));
  const d1 = convBackward(x, p["conv1/kernel"], dz1, s1, 32);
  g["conv1/kernel"] = d1.dw;
  g["conv1/bias"] = d1.db;
  return {
    loss,
    grad: assemble(layout, g),
    pattern: [r1.pattern, p1.pattern, r2.pattern, p2.pattern].join("|"),
    frozen: { relu1: r1.mask, pool1: p1.winner, relu2: r2.mask, pool2: p2.winner },
  };
}

/** A float64 gradient oracle: θ ↦ loss, gradient, activation pattern. */
export type Oracle = (theta: Float64Array) => Pass64;

/**
 * H·v by a central difference of the float64 gradient with step δ along the unit v/‖v‖
 * (truncation O(δ²), rounding ~1e-16·‖g‖/δ). Throws if the activation pattern changes on the
 * segment (a kink: the difference would not be a Hessian).
 */
export function hvp64(oracle: Oracle, theta: Float64Array, v: Float64Array, delta = 1e-5) {
  const vn = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  const plus = theta.map((t, i) => t + (delta * v[i]) / vn);
  const minus = theta.map((t, i) => t - (delta * v[i]) / vn);
  const gp = oracle(plus);
  const gm = oracle(minus);
  if (gp.pattern !== gm.pattern) throw new Error("hvp64: activation pattern changes within ±δ");
  return gp.grad.map((g, i) => ((g - gm.grad[i]) * vn) / (2 * delta));
}

/** Whether the activation pattern is the same at θ − εv/‖v‖, θ and θ + εv/‖v‖. */
export function smoothOnSegment(
  oracle: Oracle,
  theta: Float64Array,
  v: Float64Array,
  epsilon: number,
): boolean {
  const vn = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  const at = (sign: number) =>
    oracle(theta.map((t, i) => t + (sign * epsilon * v[i]) / vn)).pattern;
  const mid = at(0);
  return at(1) === mid && at(-1) === mid;
}

/** The full n×n Hessian, one column per unit vector (symmetrized). */
export function hessian64(oracle: Oracle, theta: Float64Array, delta = 1e-5): Float64Array {
  const n = theta.length;
  const h = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const col = hvp64(oracle, theta, e, delta);
    for (let i = 0; i < n; i++) h[i * n + j] = col[i];
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) h[i * n + j] = h[j * n + i] = (h[i * n + j] + h[j * n + i]) / 2;
  }
  return h;
}

/**
 * The analytic Hessian of softmax regression (`createMlp` with no hidden layer: logits =
 * x·W + b) under mean cross-entropy: (1/n) Σᵢ (diag(pᵢ) − pᵢpᵢᵀ) ⊗ φᵢφᵢᵀ with φ = (x, 1),
 * laid out in the parameter vector order (`classifier/bias`, then `classifier/kernel` [in, K]).
 */
export function softmaxRegressionHessian(
  theta: Float64Array,
  layout: ParamLayout,
  data: { x: Float32Array; y: Int32Array; n: number },
  numClasses: number,
): Float64Array {
  const p = views(theta, layout);
  const w = p["classifier/kernel"];
  const b = p["classifier/bias"];
  const k = numClasses;
  const inputs = w.length / k;
  const dim = layout.dim;
  const biasAt = layout.offsets[layout.names.indexOf("classifier/bias")];
  const kernelAt = layout.offsets[layout.names.indexOf("classifier/kernel")];
  // Index of the parameter multiplying feature a (a = inputs: the bias) into class c.
  const index = (a: number, c: number) => (a === inputs ? biasAt + c : kernelAt + a * k + c);
  const h = new Float64Array(dim * dim);
  const logits = denseForward(Float64Array.from(data.x), w, b, data.n);
  for (let i = 0; i < data.n; i++) {
    const z = logits.subarray(i * k, (i + 1) * k);
    const max = Math.max(...z);
    const e = Array.from(z, (v) => Math.exp(v - max));
    const s = e.reduce((acc, v) => acc + v, 0);
    const prob = e.map((v) => v / s);
    const phi = (a: number) => (a === inputs ? 1 : data.x[i * inputs + a]);
    for (let a = 0; a <= inputs; a++) {
      for (let bb = 0; bb <= inputs; bb++) {
        const ff = (phi(a) * phi(bb)) / data.n;
        for (let c = 0; c < k; c++) {
          for (let d = 0; d < k; d++) {
            const curv = (c === d ? prob[c] : 0) - prob[c] * prob[d];
            h[index(a, c) * dim + index(bb, d)] += ff * curv;
          }
        }
      }
    }
  }
  return h;
}
