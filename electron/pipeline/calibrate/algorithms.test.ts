import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { accumulate, addValues, emptyHistogram, histogramOf, mergeHistograms, summarize, widthExponent, type AbsHistogram } from './histogram.js';
import { entropyThreshold } from './entropy.js';
import { percentileThreshold } from './percentile.js';
import { AbsMax, minmaxThreshold } from './minmax.js';

/** A histogram with width 2^exponent and the given counts; amax = top edge of the last non-empty bin. */
function hist(counts: number[] | Float64Array, exponent = 0, amax?: number): AbsHistogram {
  const c = Float64Array.from(counts);
  let last = 0;
  for (let k = 0; k < c.length; k++) if (c[k]! > 0) last = k;
  let total = 0;
  for (const v of c) total += v;
  return { exponent, counts: c, amax: amax ?? (last + 1) * 2 ** exponent, total };
}

/**
 * Straight transcription of the GTC 2017 procedure with pytorch-quantization's choices
 * (bins[0] = bins[1], Q spread over non-zero bins, no smoothing, last argmin), one candidate at
 * a time in O(bins): the oracle the prefix-sum implementation must agree with.
 */
function naiveEntropy(h: AbsHistogram, levels = 128): { bins: number; divergence: number } {
  const bins = Array.from(h.counts);
  bins[0] = bins[1]!;
  let best = Infinity;
  let bestI = -1;
  for (let i = levels; i <= bins.length; i++) {
    const P = bins.slice(0, i);
    const tail = bins.slice(i).reduce((s, v) => s + v, 0);
    P[i - 1]! += tail;
    const group = (j: number): number => Math.floor((j * levels) / i);
    const sums = new Array<number>(levels).fill(0);
    const nz = new Array<number>(levels).fill(0);
    for (let j = 0; j < i; j++) {
      if (bins[j]! > 0) {
        sums[group(j)]! += bins[j]!;
        nz[group(j)]! += 1;
      }
    }
    const Q = bins.slice(0, i).map((c, j) => (c > 0 ? sums[group(j)]! / nz[group(j)]! : 0));
    const sp = P.reduce((s, v) => s + v, 0);
    const sq = Q.reduce((s, v) => s + v, 0);
    let d = 0;
    for (let j = 0; j < i; j++) {
      const p = P[j]! / sp;
      const q = Q[j]! / sq;
      if (p === 0) continue;
      d += q === 0 ? Infinity : p * Math.log(p / q);
    }
    if (d <= best + 1e-12) {
      if (d < best) best = d;
      bestI = i;
    }
  }
  return { bins: bestI, divergence: best };
}

describe('power-of-two histograms', () => {
  it('picks the smallest power-of-two width that keeps amax inside the last bin', () => {
    // 2048 · 2^-4 = 128 > 100 and 2048 · 2^-5 = 64 ≤ 100.
    expect(widthExponent(100, 2048)).toBe(-4);
    // Exactly on an edge: 2048 · 2^-11 = 1 is not > 1, so the width doubles.
    expect(widthExponent(1, 2048)).toBe(-10);
    expect(widthExponent(0, 2048)).toBeLessThan(-100);
  });

  it('merges exactly and independently of order and batch split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.float({ min: -1000, max: 1000, noNaN: true }).map(Math.fround), { minLength: 1, maxLength: 50 }), { minLength: 1, maxLength: 6 }),
        (batches) => {
          const n = 64;
          const all = batches.flat();
          const whole = histogramOf(all, n);
          const merged = batches.map((b) => histogramOf(b, n)).reduce(mergeHistograms, emptyHistogram(n));
          const reversed = [...batches].reverse().map((b) => histogramOf(b, n)).reduce(mergeHistograms, emptyHistogram(n));
          let acc = emptyHistogram(n);
          let added = emptyHistogram(n);
          const scratch = new Float64Array(n);
          for (const b of batches) {
            const hb = histogramOf(b, n);
            acc = accumulate(acc, hb.counts, hb.exponent, hb.amax);
            added = addValues(added, Float32Array.from(b), hb.amax, scratch);
          }
          // Relu applied on the fly equals histogramming the Relu'd values.
          let relu = emptyHistogram(n);
          for (const b of batches) {
            const r = Float32Array.from(b, (v) => Math.max(v, 0));
            relu = addValues(relu, Float32Array.from(b), histogramOf(r, n).amax, scratch, true);
          }
          const wantRelu = histogramOf(Float32Array.from(all, (v) => Math.max(v, 0)), n);
          expect(Array.from(relu.counts)).toEqual(Array.from(wantRelu.counts));
          expect(relu.exponent).toBe(wantRelu.exponent);
          for (const m of [merged, reversed, acc, added]) {
            expect(m.exponent).toBe(whole.exponent);
            expect(Array.from(m.counts)).toEqual(Array.from(whole.counts));
            expect(m.amax).toBe(whole.amax);
            expect(m.total).toBe(all.length);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('summarizes the occupied range into at most 64 bins', () => {
    const h = histogramOf(Float32Array.from({ length: 5000 }, (_, k) => (k % 1000) / 10), 2048);
    const s = summarize(h);
    expect(s.counts.length).toBeLessThanOrEqual(64);
    expect(s.counts.length).toBeGreaterThan(32);
    expect(s.counts.reduce((a, b) => a + b, 0)).toBe(5000);
    expect(s.binWidth * s.counts.length).toBeGreaterThanOrEqual(h.amax);
  });
});

describe('entropy (EntropyCalibration2)', () => {
  it('agrees with a direct O(bins²) transcription of the procedure on random histograms', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 100000 })), { minLength: 256, maxLength: 256 }),
        (counts) => {
          const h = hist(counts);
          if (h.total === 0) return;
          const fast = entropyThreshold(h);
          const slow = naiveEntropy(h);
          expect(fast.bins).toBe(slow.bins);
          if (Number.isFinite(slow.divergence)) expect(fast.divergence).toBeCloseTo(Math.max(0, slow.divergence), 9);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps everything when all mass is in one bin', () => {
    // Mass only in bin 700. Every candidate i ≤ 700 puts the whole tail into an empty bin i−1
    // while Q is empty there: infinite divergence. Every i > 700 reproduces the single spike
    // exactly (its group has one non-zero bin): divergence 0. Ties go to the largest i, and the
    // threshold is capped at the observed max, which lies inside bin 700.
    const counts = new Float64Array(2048);
    counts[700] = 1e6;
    const r = entropyThreshold(hist(counts, -8, 700.3 / 256));
    expect(r.divergence).toBe(0);
    expect(r.threshold).toBe(700.3 / 256);
  });

  it('keeps ~a for |x| uniform on [0, a]', () => {
    // Bins 0..1199 hold 1000 each. For i ≥ 1200, P is exactly the uniform body and every group
    // of Q averages equal counts, so Q = P and D = 0; for i < 1200 the tail piles onto bin i−1
    // and D > 0. The largest tied i wins and the cap gives threshold = amax = a.
    const counts = new Float64Array(2048);
    for (let k = 0; k < 1200; k++) counts[k] = 1000;
    const a = 1200 * 2 ** -6;
    const r = entropyThreshold(hist(counts, -6, a));
    expect(r.threshold).toBe(a);
    // Clipping the body is strictly worse: check against a truncated search.
    expect(entropyThreshold(hist(counts.slice(0, 1024), -6, 1024 * 2 ** -6)).bins).toBe(1024);
  });

  it('clips a far outlier of tiny mass when the body has structure', () => {
    // Body in bins 0..127 alternating 1000, 2000 counts; one value in bin 2000.
    // - i = 128: groups are single bins, so Q reproduces the body; only the one outlier count
    //   moves onto bin 127: D ≈ tiny (of order 1/total).
    // - 128 < i ≤ 2000: bin i−1 is empty but the tail (the outlier) is not → D = ∞.
    // - i > 2000: each group spans ≥ 15 bins and averages pairs (1000, 2000) → 1500, costing
    //   (1/3)ln(2/3) + (2/3)ln(4/3) ≈ 0.0566 nats.
    // So i = 128 wins: threshold = 128.5 · w, far below the outlier at ~2000 · w.
    const counts = new Float64Array(2048);
    for (let k = 0; k < 128; k++) counts[k] = k % 2 === 0 ? 1000 : 2000;
    counts[2000] = 1;
    const w = 2 ** -7;
    const r = entropyThreshold(hist(counts, -7, 2000.5 * w));
    expect(r.bins).toBe(128);
    expect(r.threshold).toBe(128.5 * w);
    expect(r.divergence).toBeLessThan(1e-3);
    expect(naiveEntropy(hist(counts, -7)).bins).toBe(128);
    // The unclipped alternative costs what the derivation says.
    const pairCost = (1 / 3) * Math.log(2 / 3) + (2 / 3) * Math.log(4 / 3);
    expect(pairCost).toBeCloseTo(0.0566, 3);
  });

  it('clips the long tail of a Laplace-like distribution but not the body', () => {
    // Deterministic Laplace(0, 1) quantiles: |x| = −ln(1 − u), u on a uniform grid.
    const n = 200000;
    const values = new Float64Array(n);
    for (let k = 0; k < n; k++) values[k] = -Math.log(1 - (k + 0.5) / n);
    const h = histogramOf(values);
    const r = entropyThreshold(h);
    // Max is ~12.9; the body (99% of mass below ln 100 ≈ 4.6) must be kept, the tail cut.
    expect(r.threshold).toBeLessThan(h.amax * 0.9);
    expect(r.threshold).toBeGreaterThan(4.6);
  });
});

describe('percentile', () => {
  it('returns the upper edge of the bin where the CDF reaches p', () => {
    // 9 999 values of 1.0 and one of 100: amax 100 → w = 2^-4 (2048·2^-4 = 128 > 100).
    // 1.0 lies in bin 16 = [1.0, 1.0625); the CDF there is 9999/10000 = 99.99% → threshold 1.0625.
    const values = new Float64Array(10000).fill(1);
    values[0] = 100;
    const h = histogramOf(values);
    expect(h.exponent).toBe(-4);
    expect(percentileThreshold(h, 99.99).threshold).toBe(1.0625);
    // At 100% nothing may be clipped: the bin of 100 is [100, 100.0625) → capped at amax = 100.
    expect(percentileThreshold(h, 100).threshold).toBe(100);
    // Four equal levels 1, 2, 3, 4 (w = 2^-9): p = 50 reaches the CDF in the bin of 2.
    const four = histogramOf(Float64Array.from({ length: 400 }, (_, k) => 1 + (k % 4)));
    expect(percentileThreshold(four, 50).threshold).toBe(2 + 2 ** four.exponent);
  });

  it('rejects percentiles outside (0, 100]', () => {
    expect(() => percentileThreshold(histogramOf([1]), 0)).toThrow(RangeError);
    expect(() => percentileThreshold(histogramOf([1]), 101)).toThrow(RangeError);
  });
});

describe('minmax', () => {
  it('is the exact max |x| over all batches', () => {
    const m = new AbsMax();
    expect(m.empty).toBe(true);
    m.addValues(Float32Array.from([0.5, -3.25, 2]));
    m.add(1.5);
    m.addValues([-0.1]);
    expect(m.amax).toBe(3.25);
    expect(minmaxThreshold(m.amax).threshold).toBe(3.25);
  });
});
