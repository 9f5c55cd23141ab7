import { describe, expect, it } from 'vitest';
import { runCalibration, type CalibrationOptions } from './engine.js';
import { asAsync, convNetBytes, syntheticBatches } from './testmodels.js';

const SIZE = 24;
const batches = syntheticBatches(2, 2, SIZE);

function opts(model: Uint8Array, extra: Partial<CalibrationOptions> = {}): CalibrationOptions {
  return { model, batches: asAsync(batches), totalBatches: batches.length, algorithm: 'entropy', histogram: 'exact', provider: 'cpu', threads: 1, ...extra };
}

describe('exact histograms on an opset-15 graph', () => {
  it('lifts the statistics graph to opset 16 and gives the same statistics as the opset-17 graph', async () => {
    const logs: string[] = [];
    const r15 = await runCalibration(opts(convNetBytes({ size: SIZE, opset: 15 }), { log: (l, t) => logs.push(`${l}: ${t}`) }));
    expect(r15.method).toBe('exact');
    expect(r15.opset).toBe(15);
    expect(logs.some((l) => /opset 15 graph without RoiAlign/.test(l))).toBe(true);
    expect(logs.some((l) => /no ScatterElements reduction/.test(l))).toBe(false);
    const r17 = await runCalibration(opts(convNetBytes({ size: SIZE, opset: 17 })));
    expect(r17.method).toBe('exact');
    // Same weights, same ops at either opset: the same values, so the same counts.
    expect(r15.tensors.map((t) => [t.name, t.amax, t.histogram])).toEqual(r17.tensors.map((t) => [t.name, t.amax, t.histogram]));
    expect(r15.tensors.length).toBeGreaterThan(10);
  });

  it('still falls back to sampled histograms at opset 14', async () => {
    const r = await runCalibration(opts(convNetBytes({ size: SIZE, opset: 14 })));
    expect(r.method).toBe('sampled');
  });
});
