/**
 * Seeded, splittable random streams.
 *
 * Every random draw in the project comes from a stream named by `(root seed, key path)`, for
 * example `(0, ["run", 3, "epoch", 7, "shuffle"])`. The stream's 128-bit state is
 *
 *     state = first 16 bytes of sha256("late-sam/rng/v1:" + seed + ":" + path.join("/"))
 *
 * read as four little-endian uint32 words, and the generator is xoshiro128** (Blackman and
 * Vigna). Two consequences matter for the experiments:
 *
 * - streams are independent of the order in which they are created: epoch 7's shuffle of a
 *   run is the same whether or not epochs 0–6 were run in this process (resume, branching);
 * - runs that share a seed share exactly the draws whose paths they share, as the authors'
 *   per-epoch reseeding does (docs/paper.md#switching): an SGD→SAM run and the SGD baseline see
 * the same
 *   batches up to the switch epoch.
 *
 * @module
 */
import { sha256Digest } from "./hash.ts";

/** One component of a key path: a name or a non-negative integer index. */
export type KeyPart = string | number;

/** A named random stream: a root seed and a key path. Plain data, cheap to derive. */
export interface RngKey {
  readonly seed: number;
  readonly path: readonly string[];
}

const DOMAIN = "late-sam/rng/v1";
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

function checkPart(part: KeyPart): string {
  if (typeof part === "number") {
    if (!Number.isSafeInteger(part) || part < 0) {
      throw new RangeError(`key path index must be a non-negative integer, got ${part}`);
    }
    return String(part);
  }
  if (part.length === 0 || part.includes("/") || part.includes(":")) {
    throw new RangeError(`key path name must be non-empty without "/" or ":", got "${part}"`);
  }
  return part;
}

/**
 * Names a stream by root seed and key path.
 *
 * @example
 * ```ts
 * const key = rngKey(0, "run", 3, "epoch", 7, "shuffle");
 * const order = createRng(key).permutation(60000);
 * ```
 */
export function rngKey(seed: number, ...path: KeyPart[]): RngKey {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  }
  return { seed, path: path.map(checkPart) };
}

/** The stream one level below `key`: `deriveKey(rngKey(0, "run", 3), "init")` is `0:run/3/init`. */
export function deriveKey(key: RngKey, ...path: KeyPart[]): RngKey {
  return { seed: key.seed, path: [...key.path, ...path.map(checkPart)] };
}

/** The canonical text of a key, `seed:path`, as hashed into the stream state. */
export function keyToString(key: RngKey): string {
  return `${key.seed}:${key.path.join("/")}`;
}

/** The 128-bit initial state of a key's stream (four uint32 words). */
export function keyState(key: RngKey): Uint32Array {
  const digest = sha256Digest(`${DOMAIN}:${keyToString(key)}`);
  const words = new DataView(digest.buffer, digest.byteOffset, 16);
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) state[i] = words.getUint32(4 * i, true);
  // xoshiro's all-zero state is a fixed point; sha256 giving 128 zero bits is not a practical
  // concern, but the guard keeps the generator total.
  if (state[0] === 0 && state[1] === 0 && state[2] === 0 && state[3] === 0) state[0] = 1;
  return state;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A stateful generator over one stream (xoshiro128**). Create one per key; the draws are a
 * pure function of the key and the sequence of calls.
 */
export class Rng {
  #s: Uint32Array;
  #spareNormal: number | null = null;

  /** Starts the stream of `key`, or the raw xoshiro128** state given as four uint32 words. */
  constructor(keyOrState: RngKey | Uint32Array) {
    this.#s = keyOrState instanceof Uint32Array
      ? Uint32Array.from(keyOrState)
      : keyState(keyOrState);
    if (this.#s.length !== 4 || this.#s.every((w) => w === 0)) {
      throw new RangeError("xoshiro128** state must be four words, not all zero");
    }
  }

  /** The next raw 32-bit output, an integer in [0, 2³²). */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float64 uniform on [0, 1) with 53 random bits (two outputs). */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** A uniform integer in [0, n) without modulo bias (rejection sampling), n ≤ 2³². */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new RangeError(`int(n) needs an integer 0 < n ≤ 2^32, got ${n}`);
    }
    // Accept draws below the largest multiple of n that fits in 32 bits.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /**
   * A standard normal draw (Box–Muller). Draws come in pairs; the second of a pair is kept
   * for the next call, so `normal()` called n times equals `normals(n)`.
   */
  normal(): number {
    if (this.#spareNormal !== null) {
      const z = this.#spareNormal;
      this.#spareNormal = null;
      return z;
    }
    const u1 = 1 - this.uniform(); // in (0, 1]: log stays finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.#spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** `n` uniform draws on [low, high) as a Float64Array. */
  uniforms(n: number, low = 0, high = 1): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  /** `n` normal draws with the given mean and standard deviation as a Float64Array. */
  normals(n: number, mean = 0, std = 1): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** A uniformly random permutation of 0…n−1 (Fisher–Yates, from the end). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i];
      out[i] = out[j];
      out[j] = tmp;
    }
    return out;
  }
}

/** Starts the generator of a key's stream. */
export function createRng(key: RngKey): Rng {
  return new Rng(key);
}
