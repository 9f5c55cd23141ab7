/**
 * Threshold algorithms applied to collected statistics: one tensor's |x| histogram and max |x|
 * in, the clip threshold (amax) of the requested algorithm out, plus the other algorithms'
 * thresholds from the same statistics so the INT8 search can choose per tensor without a
 * second calibration pass.
 */
import type { CalibrationAlgorithm } from '../../../shared/request.js';
import { entropyThreshold, type ThresholdResult } from './entropy.js';
import { binWidth, summarize, type AbsHistogram, type HistogramSummary } from './histogram.js';
import { percentileThreshold } from './percentile.js';

export interface TensorThresholds {
  /** Clip threshold of the requested algorithm (≤ amax). */
  threshold: number;
  /** Estimated fraction of values above it (0 for minmax without a histogram). */
  clipped: number;
  histogram?: HistogramSummary;
  /** Every algorithm's threshold, when a histogram was collected. */
  alternatives?: Record<CalibrationAlgorithm, number>;
  /** The tensor's own fake-quant SNR (dB) at each of those thresholds, estimated from the histogram. */
  localSnr?: Record<CalibrationAlgorithm, number>;
}

/**
 * `h` is null when only min/max were collected (minmax): then every algorithm is minmax.
 * With `alternatives`, the other two algorithms are computed too (entropy is the dearer one,
 * O(levels × candidates) per tensor).
 */
export function tensorThresholds(h: AbsHistogram | null, amax: number, algorithm: CalibrationAlgorithm, percentile: number, alternatives: boolean): TensorThresholds {
  if (h === null || (algorithm === 'minmax' && !alternatives)) return { threshold: amax, clipped: 0, ...(h ? { histogram: summarize(h) } : {}) };
  const by = (a: CalibrationAlgorithm): ThresholdResult => (a === 'minmax' ? { threshold: amax, bins: -1, divergence: 0 } : a === 'percentile' ? percentileThreshold(h, percentile) : entropyThreshold(h));
  const threshold = by(algorithm).threshold;
  const out: TensorThresholds = { threshold, clipped: clippedFraction(h, threshold), histogram: summarize(h) };
  if (alternatives) {
    const alt = { entropy: 0, percentile: 0, minmax: amax } as Record<CalibrationAlgorithm, number>;
    for (const a of ['entropy', 'percentile'] as const) alt[a] = a === algorithm ? threshold : by(a).threshold;
    alt[algorithm] = threshold;
    out.alternatives = alt;
    out.localSnr = { entropy: histogramQuantSnr(h, alt.entropy), percentile: histogramQuantSnr(h, alt.percentile), minmax: histogramQuantSnr(h, alt.minmax) };
  }
  return out;
}

/** Fraction of the histogram above `threshold`, the straddling bin counted proportionally. */
export function clippedFraction(h: AbsHistogram, threshold: number): number {
  if (h.total === 0) return 0;
  const w = binWidth(h);
  let above = 0;
  for (let k = h.counts.length - 1; k >= 0; k--) {
    const lo = k * w;
    if (lo >= threshold) above += h.counts[k]!;
    else {
      const hi = Math.min((k + 1) * w, h.amax);
      if (hi > threshold && hi > lo) above += (h.counts[k]! * (hi - threshold)) / (hi - lo);
      break;
    }
  }
  return above / h.total;
}

/**
 * The SNR (dB) of symmetric INT8 fake quantization at `threshold` (scale = threshold/127),
 * estimated from the |x| histogram without running anything: a value at bin centre c contributes
 * c² of signal and, as error, c² when it rounds to zero (c < step/2), step²/12 inside the range
 * (uniform rounding error) and (c − threshold)² when clipped. It ranks tensors and thresholds the
 * way the measured fake-quant error does (see fakeQuantError), at no inference cost.
 */
export function histogramQuantSnr(h: AbsHistogram, threshold: number): number {
  if (h.total === 0) return 200;
  if (!(threshold > 0) || !Number.isFinite(threshold)) return -200;
  const w = binWidth(h);
  const step = threshold / 127;
  let signal = 0;
  let noise = 0;
  for (let k = 0; k < h.counts.length; k++) {
    const n = h.counts[k]!;
    if (n === 0) continue;
    const c = Math.min((k + 0.5) * w, h.amax);
    signal += n * c * c;
    if (c > threshold) noise += n * ((c - threshold) ** 2 + (step * step) / 12);
    else if (c < step / 2) noise += n * c * c;
    else noise += (n * step * step) / 12;
  }
  if (noise === 0) return 200;
  if (signal === 0) return -200;
  return Math.max(-200, Math.min(200, 10 * Math.log10(signal / noise)));
}
