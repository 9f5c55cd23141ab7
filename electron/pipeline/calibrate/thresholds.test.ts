import { describe, expect, it } from 'vitest';
import { histogramOf } from './histogram.js';
import { histogramQuantSnr, tensorThresholds } from './thresholds.js';
import { fakeQuantError } from '../fidelity/metrics.js';
import { mulberry32 } from '../onnx/testing.js';

function gaussianWithOutliers(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(1e-12, r());
    const v = r();
    x[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * (i % 997 === 0 ? 40 : 1);
  }
  return x;
}

describe('histogramQuantSnr: the fake-quant error estimated from the |x| histogram', () => {
  const x = gaussianWithOutliers(200_000, 7);
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  const h = histogramOf(x, 2048, m);

  it('agrees with the measured fake-quant SNR within 1.5 dB across thresholds', () => {
    for (const t of [m, m / 4, 8, 4, 2]) expect(histogramQuantSnr(h, t)).toBeCloseTo(fakeQuantError(x, t).snrDb, 0);
    for (const t of [m, m / 4, 8, 4, 2]) expect(Math.abs(histogramQuantSnr(h, t) - fakeQuantError(x, t).snrDb)).toBeLessThan(1.5);
  });

  it('ranks thresholds as the measurement does, and comes with every algorithm from one histogram', () => {
    const r = tensorThresholds(h, m, 'entropy', 99.99, true);
    expect(r.alternatives!.minmax).toBe(m);
    expect(r.alternatives!.entropy).toBeLessThan(m);
    const measured = (t: number) => fakeQuantError(x, t).snrDb;
    const est = r.localSnr!;
    const order = (f: (a: 'entropy' | 'percentile' | 'minmax') => number) => (['entropy', 'percentile', 'minmax'] as const).slice().sort((a, b) => f(a) - f(b));
    expect(order((a) => est[a])).toEqual(order((a) => measured(r.alternatives![a])));
  });
});
