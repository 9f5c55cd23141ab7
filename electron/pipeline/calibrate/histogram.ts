/**
 * Histograms of |x| whose bin width is a power of two.
 *
 * Each batch is histogrammed with its own width w_b = 2^e_b, the smallest power of two with
 * nbins · w_b > amax_b, so no value is ever clipped into the last bin. Two such histograms merge
 * exactly: the finer one is coarsened by summing groups of 2^(e_max − e) bins, which is the same
 * as histogramming its values at the coarser width (floor(floor(x/w)/r) = floor(x/(w·r)) for an
 * integer r). Counts are integers held in a Float64Array (exact to 2^53), so the merged result is
 * independent of batch order and of how the data was split into batches.
 */

export const DEFAULT_BINS = 2048;

export interface AbsHistogram {
  /** Bin width is 2^exponent; bin k covers [k·w, (k+1)·w). */
  exponent: number;
  /** Integer counts, length = number of bins. */
  counts: Float64Array;
  /** Largest |x| seen (exact, not rounded to a bin edge). */
  amax: number;
  /** Number of values histogrammed. */
  total: number;
}

/** Smallest exponent of two kept away from float32 subnormals (all-zero tensors use it). */
export const MIN_EXPONENT = -110;

/** Smallest e with nbins · 2^e > amax (nbins a power of two), never below MIN_EXPONENT. */
export function widthExponent(amax: number, nbins: number): number {
  if (!(amax > 0)) return MIN_EXPONENT;
  let e = Math.floor(Math.log2(amax / nbins)) + 1;
  // Math.log2 can be off by one ulp near exact powers of two: fix the exponent exactly.
  while (nbins * 2 ** e <= amax) e += 1;
  while (e > MIN_EXPONENT && nbins * 2 ** (e - 1) > amax) e -= 1;
  return Math.max(e, MIN_EXPONENT);
}

export function binWidth(h: Pick<AbsHistogram, 'exponent'>): number {
  return 2 ** h.exponent;
}

export function emptyHistogram(nbins = DEFAULT_BINS): AbsHistogram {
  assertPowerOfTwo(nbins);
  return { exponent: MIN_EXPONENT, counts: new Float64Array(nbins), amax: 0, total: 0 };
}

/**
 * Histogram of |values| at the width the in-graph reduction would pick for this data. Used by
 * the sampled and fetch paths and as the reference the in-graph result is tested against.
 * `amax` (default: the max of |values|) sets the width: the sampled path passes the exact max of
 * the whole tensor so that every batch's width is decided by all its values, not the sample.
 * Non-finite values are not allowed (the caller reports such tensors as uncalibrated).
 */
export function histogramOf(values: ArrayLike<number>, nbins = DEFAULT_BINS, amax?: number): AbsHistogram {
  assertPowerOfTwo(nbins);
  let top = amax ?? 0;
  if (amax === undefined) {
    for (let k = 0; k < values.length; k++) {
      const a = Math.abs(values[k] as number);
      if (a > top) top = a;
    }
  }
  const exponent = widthExponent(top, nbins);
  const inv = 2 ** -exponent;
  const counts = new Float64Array(nbins);
  const last = nbins - 1;
  for (let k = 0; k < values.length; k++) {
    const idx = Math.floor(Math.abs(values[k] as number) * inv);
    counts[idx < last ? idx : last]! += 1;
  }
  return { exponent, counts, amax: top, total: values.length };
}

/**
 * Add |values| (or Relu(values) when `relu`) to `acc`, with the batch's exact `amax` deciding
 * the batch width, without allocating: the same result as
 * mergeHistograms(acc, histogramOf(values, n, amax)), using `scratch` (length n) as workspace.
 */
export function addValues(acc: AbsHistogram, values: Float32Array, amax: number, scratch: Float64Array, relu = false): AbsHistogram {
  const n = acc.counts.length;
  if (values.length === 0) return acc;
  const exponent = widthExponent(amax, n);
  const inv = 2 ** -exponent;
  const last = n - 1;
  scratch.fill(0);
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    const a = relu ? (v > 0 ? v : 0) : v < 0 ? -v : v;
    const idx = Math.floor(a * inv);
    scratch[idx < last ? idx : last]! += 1;
  }
  if (acc.total === 0 || exponent <= acc.exponent) {
    if (acc.total === 0) {
      acc.exponent = exponent;
      acc.counts.fill(0);
    }
    const shift = acc.exponent - exponent;
    if (shift === 0) for (let k = 0; k < n; k++) acc.counts[k]! += scratch[k]!;
    else if (shift >= 53) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += scratch[k]!;
      acc.counts[0]! += sum;
    } else {
      const r = 2 ** shift;
      for (let k = 0; k < n; k++) if (scratch[k] !== 0) acc.counts[Math.floor(k / r)]! += scratch[k]!;
    }
    acc.amax = Math.max(acc.amax, amax);
    acc.total += values.length;
    return acc;
  }
  return mergeHistograms(acc, { exponent, counts: new Float64Array(scratch), amax, total: values.length });
}

/** Sum a histogram's bins into groups of 2^shift (shift ≥ 0), keeping the bin count. */
function coarsen(counts: Float64Array, shift: number): Float64Array {
  if (shift === 0) return counts;
  const n = counts.length;
  const out = new Float64Array(n);
  if (shift >= 53) {
    // Every value falls into bin 0 at the coarser width.
    let s = 0;
    for (let k = 0; k < n; k++) s += counts[k]!;
    out[0] = s;
    return out;
  }
  const r = 2 ** shift;
  for (let k = 0; k < n; k++) {
    const c = counts[k]!;
    if (c !== 0) out[Math.floor(k / r)]! += c;
  }
  return out;
}

/** Exact, order-independent merge of two histograms with the same number of bins. */
export function mergeHistograms(a: AbsHistogram, b: AbsHistogram): AbsHistogram {
  if (a.counts.length !== b.counts.length) {
    throw new Error(`cannot merge histograms with ${a.counts.length} and ${b.counts.length} bins`);
  }
  if (a.total === 0) return cloneHistogram(b);
  if (b.total === 0) return cloneHistogram(a);
  const exponent = Math.max(a.exponent, b.exponent);
  const ca = coarsen(a.counts, exponent - a.exponent);
  const cb = coarsen(b.counts, exponent - b.exponent);
  const counts = new Float64Array(ca.length);
  for (let k = 0; k < counts.length; k++) counts[k] = ca[k]! + cb[k]!;
  return { exponent, counts, amax: Math.max(a.amax, b.amax), total: a.total + b.total };
}

/**
 * Merge one batch's counts (as produced in-graph) into an accumulator, in place when the
 * accumulator is at least as coarse. `batchCounts` may be any integer typed array.
 */
export function accumulate(
  acc: AbsHistogram,
  batchCounts: ArrayLike<number | bigint>,
  batchExponent: number,
  batchAmax: number,
): AbsHistogram {
  const n = acc.counts.length;
  if (batchCounts.length !== n) throw new Error(`expected ${n} bins, got ${batchCounts.length}`);
  let total = 0;
  const counts = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const c = Number(batchCounts[k]);
    counts[k] = c;
    total += c;
  }
  if (total === 0) return acc;
  if (acc.total === 0) return { exponent: batchExponent, counts, amax: batchAmax, total };
  if (batchExponent <= acc.exponent) {
    const shift = acc.exponent - batchExponent;
    const fine = coarsen(counts, shift);
    for (let k = 0; k < n; k++) acc.counts[k]! += fine[k]!;
    acc.amax = Math.max(acc.amax, batchAmax);
    acc.total += total;
    return acc;
  }
  return mergeHistograms(acc, { exponent: batchExponent, counts, amax: batchAmax, total });
}

export function cloneHistogram(h: AbsHistogram): AbsHistogram {
  return { exponent: h.exponent, counts: new Float64Array(h.counts), amax: h.amax, total: h.total };
}

/** Index one past the last non-empty bin (0 when empty). */
export function occupiedBins(h: AbsHistogram): number {
  for (let k = h.counts.length - 1; k >= 0; k--) if (h.counts[k] !== 0) return k + 1;
  return 0;
}

export interface HistogramSummary {
  /** Width of one summary bin (same unit as the tensor). */
  binWidth: number;
  /** Counts of the summary bins, starting at |x| = 0. */
  counts: number[];
}

/**
 * A compact view for charts: the occupied bins merged by a power of two so that at most
 * `maxBins` remain (33–64 bins for the default 64 when the histogram is at least half full).
 */
export function summarize(h: AbsHistogram, maxBins = 64): HistogramSummary {
  const used = Math.max(1, occupiedBins(h));
  let group = 1;
  while (Math.ceil(used / group) > maxBins) group *= 2;
  const out = new Array<number>(Math.ceil(used / group)).fill(0);
  for (let k = 0; k < used; k++) out[Math.floor(k / group)]! += h.counts[k]!;
  return { binWidth: binWidth(h) * group, counts: out };
}

function assertPowerOfTwo(n: number): void {
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) {
    throw new Error(`histogram bin count must be a power of two ≥ 2, got ${n}`);
  }
}
