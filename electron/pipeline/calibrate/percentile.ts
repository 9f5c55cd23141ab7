import { binWidth, type AbsHistogram } from './histogram.js';
import type { ThresholdResult } from './entropy.js';

/**
 * amax = the |x| value where the cumulative distribution first reaches p percent: the upper
 * edge of the first bin whose cumulative count is ≥ p/100 · total, capped at the observed max.
 * The upper edge (pytorch-quantization takes the lower one) guarantees that at most
 * (100 − p)% of the values are clipped. Default p = 99.99 (pytorch-quantization's default).
 */
export function percentileThreshold(h: AbsHistogram, percentile = 99.99): ThresholdResult {
  if (!(percentile > 0 && percentile <= 100)) {
    throw new RangeError(`percentile must be in (0, 100], got ${percentile}`);
  }
  let total = 0;
  for (let k = 0; k < h.counts.length; k++) total += h.counts[k]!;
  if (total === 0) return { threshold: h.amax, bins: -1, divergence: 0 };
  // Relative slack so that 99.99% of 10 000 values is 9 999 despite 0.9999·10000 rounding up.
  const target = (percentile / 100) * total * (1 - 1e-12);
  let cum = 0;
  for (let k = 0; k < h.counts.length; k++) {
    cum += h.counts[k]!;
    if (cum >= target) {
      return { threshold: Math.min((k + 1) * binWidth(h), h.amax), bins: k + 1, divergence: 0 };
    }
  }
  return { threshold: h.amax, bins: h.counts.length, divergence: 0 };
}
