/**
 * Deterministic sampling shared by the calibration data sources.
 *
 * PRNG: mulberry32 (Tommy Ettinger's 32-bit generator: add 0x6D2B79F5 to the state, then two
 * xorshift-multiply rounds). Its 32-bit state is seeded from the user's seed through MurmurHash3's
 * fmix32 finalizer (below), so nearby seeds (1, 2, 3…) start far apart. The same seed gives
 * the same stream on every platform: everything is 32-bit integer arithmetic (Math.imul, >>> 0).
 */

/** A source of uniformly distributed uint32 values. */
export type Rng = () => number;

function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Seeds beyond 2^32 keep their high bits; negative or fractional seeds are not accepted. */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  return mulberry32(mix32(lo ^ mix32(hi + 0x9e3779b9)));
}

/** The mulberry32 step from a raw 32-bit state (no seed mixing): uint32 outputs. */
export function mulberry32(state0: number): Rng {
  let state = state0 >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform floats in [0, 1) from a seeded createRng (for synthetic data, not for sampling). */
export function createUnitRng(seed: number): () => number {
  const next = createRng(seed);
  return () => next() / 2 ** 32;
}

/** Uniform integer in [0, n), n ≤ 2^32, without modulo bias (rejection of the short last bucket). */
export function randomBelow(rng: Rng, n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) throw new RangeError(`randomBelow: bad bound ${n}`);
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const x = rng();
    if (x < limit) return x % n;
  }
}

/**
 * `min(k, total)` distinct indices from [0, total), uniformly at random, **in sampled order**
 * (the order a partial Fisher–Yates shuffle draws them). Swaps are kept in a Map, so memory is
 * O(k) however large `total` is.
 *
 * Prefix property: `sampleIndices(t, k + r, s)` starts with `sampleIndices(t, k, s)`; the spec
 * loader relies on it to take a reserve after the main selection without changing the selection.
 */
export function sampleIndices(total: number, k: number, seed: number): number[] {
  if (!Number.isSafeInteger(total) || total < 0) throw new RangeError(`sampleIndices: bad total ${total}`);
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`sampleIndices: bad count ${k}`);
  const n = Math.min(k, total);
  const rng = createRng(seed);
  const swapped = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const j = i + randomBelow(rng, total - i);
    const atJ = swapped.get(j) ?? j;
    const atI = swapped.get(i) ?? i;
    swapped.set(j, atI);
    swapped.delete(i);
    out.push(atJ);
  }
  return out;
}

/** A seeded Fisher–Yates shuffle of a copy of `items`. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const order = sampleIndices(items.length, items.length, seed);
  return order.map((i) => items[i] as T);
}
