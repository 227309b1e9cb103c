/**
 * The exact second-moment step of USAM as the paper writes it (Eq. 4): ascent and descent on
 * the **same** mini-batch, c ← A·c with A = I − η·H_B(I + ρ·H_B) = I − η(H_B + ρH_B²).
 *
 * With B indices drawn with replacement, H_B = Σᵢ wᵢ·zᵢzᵢᵀ where wᵢ = (count of i)/B. Every
 * product of rank-one terms collapses to scalars: zₐzₐᵀ·z_bz_bᵀ = G_ab·zₐz_bᵀ with the Gram
 * matrix G = ZZᵀ, and zₐzₐᵀ·M·z_bz_bᵀ = W_ab·zₐz_bᵀ with W = ZMZᵀ. So
 *
 *     T(M) = E[A M Aᵀ] = M − η(Q̄M + MQ̄) + η²·Zᵀ(C₂ + ρ(C₃ + C₃ᵀ) + ρ²C₄)Z,   Q̄ = E[H_B + ρH_B²],
 *     C₂ = m₂∘W,   (C₃)_ac = Σ_b m₃(a,b,c)·G_ab·W_bc,   (C₄)_ad = Σ_bc m₄(a,b,c,d)·G_ab·W_bc·G_cd,
 *
 * with the multinomial moments m_k(i₁…i_k) = E[w_{i₁}⋯w_{i_k}]. Positions of the batch are
 * independent draws, so m_k = Σ_π B(B−1)⋯(B−|π|+1)/(Bᵏ·n^{|π|})·δ_π over the set partitions π
 * of the k slots (δ_π = 1 when the indices agree within every block of π). Each partition
 * turns the sum into one O(n³) matrix expression (listed in the code), so one step costs
 * O(n³), not the O(n⁴) or nᴮ of a direct sum.
 *
 * Unlike the independent-batch step of `second_moment.ts`, the ascent noise and the descent
 * noise are correlated here; this is the step the experiments run (one batch, two passes).
 *
 * @module
 */
import type { HessianSpectrum } from "./least_squares.ts";
import { matMul, matMulTransposed } from "./linalg.ts";

/** Per (spectrum, B): the Gram matrix, its diagonal and E[H_B²] in range coordinates. */
interface SharedCache {
  gram: Float64Array;
  gramDiag: Float64Array;
  /** E[H_B²] = Zᵀ(m₂∘G)Z. */
  meanH2: Float64Array;
}

const caches = new WeakMap<HessianSpectrum, Map<number, SharedCache>>();

/** B(B−1)⋯(B−k+1)/(B^slots·n^k): the weight of a partition with k blocks of `slots` slots. */
function partitionWeight(batch: number, n: number, slots: number, blocks: number): number {
  let falling = 1;
  for (let j = 0; j < blocks; j++) falling *= batch - j;
  return falling / (batch ** slots * n ** blocks);
}

/** Zᵀ C Z for row-major Z (row i is zᵢ). */
function sandwich(z: Float64Array, c: Float64Array, n: number): Float64Array {
  const cz = matMul(c, z, n);
  const out = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let k = 0; k < n; k++) {
      const zak = z[a * n + k];
      for (let j = 0; j < n; j++) out[k * n + j] += zak * cz[a * n + j];
    }
  }
  return out;
}

function cacheFor(spectrum: HessianSpectrum, batch: number): SharedCache {
  let perBatch = caches.get(spectrum);
  if (!perBatch) caches.set(spectrum, perBatch = new Map());
  const hit = perBatch.get(batch);
  if (hit) return hit;
  const { n, z } = spectrum;
  const gram = matMulTransposed(z, z, n);
  const gramDiag = diagOf(gram, n);
  const m2 = moment2(gram, batch, n);
  const cache = { gram, gramDiag, meanH2: sandwich(z, m2, n) };
  perBatch.set(batch, cache);
  return cache;
}

/** m₂∘X: the two-slot partitions {1}{2} and {12}. */
function moment2(x: Float64Array, batch: number, n: number): Float64Array {
  const w2 = partitionWeight(batch, n, 2, 2);
  const w1 = partitionWeight(batch, n, 2, 1);
  const out = x.map((v) => w2 * v);
  for (let a = 0; a < n; a++) out[a * n + a] += w1 * x[a * n + a];
  return out;
}

/** diag(v)·X (left) or X·diag(v) (right). */
function scaleRows(v: Float64Array, x: Float64Array, n: number): Float64Array {
  return x.map((e, i) => v[Math.floor(i / n)] * e);
}
function scaleCols(x: Float64Array, v: Float64Array, n: number): Float64Array {
  return x.map((e, i) => e * v[i % n]);
}
function diagOf(x: Float64Array, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, a) => x[a * n + a]);
}

/** C₃ = Σ_b m₃(a,b,c)G_ab W_bc over the five partitions of three slots. */
function moment3(
  g: Float64Array,
  gd: Float64Array,
  w: Float64Array,
  batch: number,
  n: number,
): Float64Array {
  const [w3, w2, w1] = [3, 2, 1].map((k) => partitionWeight(batch, n, 3, k));
  const gw = matMul(g, w, n);
  const wd = diagOf(w, n);
  const r = diagOf(gw, n);
  const dgW = scaleRows(gd, w, n);
  const gDw = scaleCols(g, wd, n);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    out[i] = w3 * gw[i] + w2 * (dgW[i] + gDw[i]); // {1}{2}{3}; {12}{3}, {23}{1}
  }
  for (let a = 0; a < n; a++) out[a * n + a] += w2 * r[a] + w1 * gd[a] * wd[a]; // {13}{2}; {123}
  return out;
}

/** C₄ = Σ_bc m₄(a,b,c,d)G_ab W_bc G_cd over the fifteen partitions of four slots. */
function moment4(
  g: Float64Array,
  gd: Float64Array,
  w: Float64Array,
  batch: number,
  n: number,
): Float64Array {
  const [w4, w3, w2, w1] = [4, 3, 2, 1].map((k) => partitionWeight(batch, n, 4, k));
  const wd = diagOf(w, n);
  const gw = matMul(g, w, n);
  const gwg = matMul(gw, g, n);
  const gDwG = matMul(scaleCols(g, wd, n), g, n);
  const r = diagOf(gw, n);
  const gwProd = gd.map((v, a) => v * wd[a]);
  // Four blocks: {1}{2}{3}{4}.
  const out = gwg.map((v) => w4 * v);
  // Three blocks, written as matrices: D_g·W·G, D_r·G, G·D_w·G, G·D_r, G·W·D_g.
  const dgWG = scaleRows(gd, matMul(w, g, n), n);
  const drG = scaleRows(r, g, n);
  const gDr = scaleCols(g, r, n);
  const gwDg = scaleCols(gw, gd, n);
  for (let i = 0; i < n * n; i++) {
    out[i] += w3 * (dgWG[i] + drG[i] + gDwG[i] + gDr[i] + gwDg[i]);
    // Two blocks: {12}{34} D_g·W·D_g, {13}{24} G∘G∘W, {123}{4} D_{g∘w}·G, {234}{1} G·D_{w∘g}.
    const a = Math.floor(i / n);
    const d = i % n;
    out[i] += w2 *
      (gd[a] * w[i] * gd[d] + g[i] * g[i] * w[i] + gwProd[a] * g[i] + g[i] * gwProd[d]);
  }
  for (let a = 0; a < n; a++) {
    const i = a * n + a;
    // Diagonal-only: {14}{2}{3} (3 blocks); {14}{23}, {124}{3}, {134}{2} (2); {1234} (1).
    out[i] += w3 * gwg[i] + w2 * (gDwG[i] + 2 * gd[a] * r[a]) + w1 * gd[a] * gd[a] * wd[a];
  }
  return out;
}

/**
 * One application of T for shared-batch USAM: the second moment E[ccᵀ] after one step of
 * Eq. 4 with B indices drawn with replacement, ascent and descent on the same batch.
 */
export function sharedBatchMomentStep(
  spectrum: HessianSpectrum,
  m: Float64Array,
  hyper: { eta: number; rho: number; batch: number },
): Float64Array {
  const { n, z, lambda } = spectrum;
  const { eta, rho, batch } = hyper;
  const { gram, gramDiag, meanH2 } = cacheFor(spectrum, batch);
  // W = Z M Zᵀ.
  const w = matMulTransposed(matMul(z, m, n), z, n);
  const c = moment2(w, batch, n);
  if (rho !== 0) {
    const c3 = moment3(gram, gramDiag, w, batch, n);
    const c4 = moment4(gram, gramDiag, w, batch, n);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        const i = a * n + b;
        c[i] += rho * (c3[i] + c3[b * n + a]) + rho * rho * c4[i];
      }
    }
  }
  const noise = sandwich(z, c, n);
  // Q̄ = Λ + ρE[H_B²]; Q̄M + MQ̄ with M symmetric is S + Sᵀ for S = Q̄M.
  const qm = rho === 0 ? null : matMul(meanH2, m, n);
  const out = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const i = a * n + b;
      let drift = (lambda[a] + lambda[b]) * m[i];
      if (qm) drift += rho * (qm[i] + qm[b * n + a]);
      out[i] = m[i] - eta * drift + eta * eta * noise[i];
    }
  }
  return out;
}
