import { binWidth, type AbsHistogram } from './histogram.js';

/**
 * TensorRT EntropyCalibration2 as presented at GTC 2017 (S7310), on a histogram of |x|:
 *
 *   for i in start..nbins:
 *     P = bins[0, i) with the count of every bin ≥ i added to bin i−1
 *     Q = bins[0, i) merged into `levels` groups, each group's count spread evenly over its
 *         non-zero bins (empty bins stay empty), i.e. expanded back to i bins
 *     D(i) = KL(P/ΣP ‖ Q/ΣQ)
 *   threshold = (argmin + 0.5) · bin width, capped at the observed max |x|.
 *
 * Details the slides leave open, chosen to match NVIDIA's pytorch-quantization
 * `_compute_amax_entropy` (the public code closest to TensorRT), except where noted:
 * - bin 0 takes bin 1's count before the search (pytorch-quantization): it damps the spike of
 *   exact zeros after ReLU, which would otherwise dominate group 0 and push thresholds down;
 * - group of bin j for candidate i is ⌊j·levels/i⌋ (exact integer form of numpy's
 *   digitize(linspace(0, i, levels+1))), so groups differ by at most one bin when levels ∤ i;
 * - no smoothing: a candidate whose P has mass where Q is empty (bin i−1 empty while the tail
 *   is not) has infinite divergence and cannot win;
 * - ties (within 1e-12 nats) go to the larger i, i.e. the least clipping (pytorch-quantization
 *   takes the last argmin too);
 * - threshold = (i + 0.5)·w as on the GTC slide (pytorch-quantization uses the edge i·w), and
 *   never above the observed max |x|: a threshold past every value cannot be better.
 *
 * Cost: with prefix sums of h, h·ln h and non-zero counts, each candidate is O(levels), so the
 * whole search is O(levels × candidates) instead of O(bins²).
 */

export interface EntropyOptions {
  /** Quantized levels on one side of zero: 128 for INT8. */
  levels?: number;
  /** First candidate (number of bins kept); GTC and pytorch-quantization use 128. */
  start?: number;
}

export interface ThresholdResult {
  /** Clip threshold (amax used for the scale). */
  threshold: number;
  /** Candidate chosen (number of bins kept), or -1 when the histogram is empty. */
  bins: number;
  /** KL divergence at the chosen candidate (0 for non-entropy methods). */
  divergence: number;
}

const TIE_EPS = 1e-12;

// ln k for small integers k: the search takes ~250 000 logarithms per tensor.
const LOG_TABLE_SIZE = 1 << 16;
const LOG = new Float64Array(LOG_TABLE_SIZE);
for (let k = 1; k < LOG_TABLE_SIZE; k++) LOG[k] = Math.log(k);

export function entropyThreshold(h: AbsHistogram, opts: EntropyOptions = {}): ThresholdResult {
  const levels = opts.levels ?? 128;
  const n = h.counts.length;
  const start = Math.min(opts.start ?? levels, n);
  const width = binWidth(h);

  const bins = new Float64Array(h.counts);
  if (n > 1) bins[0] = bins[1]!;

  // Prefix sums: C = counts, Z = non-zero bins, HL = Σ h·ln h.
  const C = new Float64Array(n + 1);
  const Z = new Float64Array(n + 1);
  const HL = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) {
    const c = bins[j]!;
    C[j + 1] = C[j]! + c;
    Z[j + 1] = Z[j]! + (c > 0 ? 1 : 0);
    HL[j + 1] = HL[j]! + (c > 0 ? c * Math.log(c) : 0);
  }
  const total = C[n]!;
  if (total === 0) return { threshold: h.amax, bins: -1, divergence: 0 };

  let best = Infinity;
  let bestI = -1;
  for (let i = start; i <= n; i++) {
    const kept = C[i]!;
    const tail = total - kept;
    const last = bins[i - 1]!;
    if (kept === 0 || (tail > 0 && last === 0)) continue; // infinite divergence
    const pLast = last + tail;
    const a = HL[i - 1]! + (pLast > 0 ? pLast * Math.log(pLast) : 0);
    let b = 0;
    let lastGroupLog = 0;
    let lo = 0;
    for (let g = 1; g <= levels; g++) {
      // group g−1 covers bins [⌈(g−1)·i/levels⌉, ⌈g·i/levels⌉)
      const hi = Math.floor((g * i + levels - 1) / levels);
      if (hi > lo) {
        const nz = Z[hi]! - Z[lo]!;
        if (nz !== 0) {
          const sum = C[hi]! - C[lo]!;
          // log(sum / nz) from a table when the counts are small integers (most groups).
          const lg = (sum < LOG_TABLE_SIZE && Number.isInteger(sum) ? LOG[sum]! : Math.log(sum)) - (nz < LOG_TABLE_SIZE ? LOG[nz]! : Math.log(nz));
          b += sum * lg;
          if (hi === i) lastGroupLog = lg;
        }
      }
      lo = hi;
    }
    b += tail * lastGroupLog;
    const d = (a - b) / total + Math.log(kept / total);
    if (d <= best + TIE_EPS) {
      if (d < best) best = d;
      bestI = i;
    }
  }
  if (bestI < 0) return { threshold: h.amax, bins: -1, divergence: Infinity };
  return { threshold: Math.min((bestI + 0.5) * width, h.amax), bins: bestI, divergence: Math.max(0, best) };
}
