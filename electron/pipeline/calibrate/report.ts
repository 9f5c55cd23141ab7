import type { CalibrationResult } from './engine.js';

/** JSON for the app's calibration charts (one entry per tensor, in graph order). */
export interface CalibrationReport {
  kind: 'export-studio/calibration-report';
  algorithm: string;
  method: CalibrationResult['method'];
  provider: string;
  samples: number;
  seconds: number;
  tensors: {
    name: string;
    amax: number;
    threshold: number;
    scale: number;
    /** Fraction of |x| values above the threshold (estimated from the histogram). */
    clippedFraction: number;
    /** threshold / amax: 1 = nothing clipped. */
    thresholdRatio: number;
    /** Up to 64 bins of |x| counts starting at 0, each `binWidth` wide. */
    histogram: { binWidth: number; counts: number[] } | null;
  }[];
  uncalibrated: { name: string; reason: string }[];
}

export function buildCalibrationReport(result: CalibrationResult, algorithm: string): CalibrationReport {
  return {
    kind: 'export-studio/calibration-report',
    algorithm,
    method: result.method,
    provider: result.provider,
    samples: result.samples,
    seconds: Math.round(result.seconds * 1000) / 1000,
    tensors: result.tensors.map((t) => ({
      name: t.name,
      amax: t.amax,
      threshold: t.threshold,
      scale: t.scale,
      clippedFraction: t.clipped,
      thresholdRatio: t.amax > 0 ? t.threshold / t.amax : 1,
      histogram: t.histogram ? { binWidth: t.histogram.binWidth, counts: t.histogram.counts } : null,
    })),
    uncalibrated: result.uncalibrated,
  };
}
