import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { convNetBytes, syntheticBatches, asAsync } from '../../electron/pipeline/calibrate/testmodels.js';
import { entropyThreshold } from '../../electron/pipeline/calibrate/entropy.js';
import { histogramOf } from '../../electron/pipeline/calibrate/histogram.js';
import type { Batch } from '../../electron/pipeline/data/types.js';
import { decodeModel } from '../../electron/pipeline/onnx/index.js';
import { readBatches, writeDataset } from './dataset.js';
import { instrumentRuns, type ModeResult } from './modes.js';
import { augmentAllOutputs, histogramChunks, runNaive } from './naive.js';
import { cycle } from './photos.js';
import { markdownTable, medianResult, ratios, replaceBlock, type Row } from './report.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'calib-harness-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('dataset file', () => {
  it('reads back exactly what was written, wrapping around when more samples are asked than stored', async () => {
    const dims = [3, 2, 2];
    const samples = [0, 1, 2].map((s) => ({ id: `img${s}`, data: Float32Array.from({ length: 12 }, (_, i) => s * 100 + i + 0.5) }));
    const info = await writeDataset(path.join(tmp, 'd.f32'), dims, asAsync(samples));
    expect(fs.statSync(info.file).size).toBe(3 * 12 * 4);
    const batches = await collect(readBatches(info, 7, 3));
    expect(batches.map((b) => b.count)).toEqual([3, 3, 1]);
    expect(batches[2]!.dims).toEqual([1, 3, 2, 2]);
    expect(batches.flatMap((b) => b.ids)).toEqual(['img0', 'img1', 'img2', 'img0', 'img1', 'img2', 'img0']);
    expect(Array.from(batches[1]!.data.subarray(12, 24))).toEqual(Array.from(samples[1]!.data));
    expect(Array.from(batches[2]!.data)).toEqual(Array.from(samples[0]!.data));
  });

  it('rejects a sample of the wrong length', async () => {
    await expect(writeDataset(path.join(tmp, 'bad.f32'), [3, 2, 2], asAsync([{ id: 'x', data: new Float32Array(5) }]))).rejects.toThrow(/5 values, expected 12/);
  });
});

describe('naive baseline', () => {
  const model = convNetBytes();

  it('adds every node output that is not already a graph output, by name only', () => {
    const before = decodeModel(model).graph!;
    const { bytes, added } = augmentAllOutputs(model);
    const after = decodeModel(bytes).graph!;
    const nodeOutputs = (before.node ?? []).flatMap((n) => n.output ?? []).filter((n) => n);
    const original = new Set((before.output ?? []).map((o) => o.name));
    expect(added).toEqual(nodeOutputs.filter((n) => !original.has(n)));
    expect((after.output ?? []).map((o) => o.name)).toEqual([...(before.output ?? []).map((o) => o.name), ...added]);
    expect(after.output!.slice(before.output!.length).every((o) => !o.type)).toBe(true);
  });

  it('histograms every stored batch: thresholds equal those of one histogram over all values', async () => {
    const batches: Batch[] = syntheticBatches(3, 2, 32, 7);
    const r = await runNaive(model, asAsync(batches), 6, { inputName: 'input', graphOptimizationLevel: 'disabled', capMb: 1024 });
    expect(r.capped).toBeUndefined();
    // Recompute one intermediate independently: run the augmented model and histogram its concatenation.
    const { bytes, added } = augmentAllOutputs(model);
    const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
    const name = added.find((n) => s.outputMetadata.find((m) => m.name === n && m.isTensor && m.type === 'float32'))!;
    const parts: Float32Array[] = [];
    for (const b of batches) parts.push((await s.run({ input: new ort.Tensor('float32', b.data, b.dims) }, [name]))[name]!.data as Float32Array);
    await s.release();
    const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    expect(r.thresholds.get(name)).toBe(entropyThreshold(histogramOf(all)).threshold);
    expect(r.thresholds.has('input')).toBe(true);
    expect(r.storedMb).toBeGreaterThan(0);
  });

  it('stops at the store cap and projects the full size', async () => {
    const r = await runNaive(model, asAsync(syntheticBatches(4, 2, 32, 3)), 8, { inputName: 'input', graphOptimizationLevel: 'disabled', capMb: 0 });
    expect(r.capped?.afterSamples).toBe(2);
    expect(r.capped!.projectedMb).toBeCloseTo(r.storedMb * 4, 6);
  });

  it('histogramChunks over chunks equals histogramOf over their concatenation', () => {
    const a = Float32Array.from([0.5, -3, 2.25]);
    const b = Float32Array.from([7.5, -0.125]);
    expect(histogramChunks([a, b])).toEqual(histogramOf(Float32Array.from([...a, ...b])));
  });
});

describe('run timing', () => {
  it('counts every InferenceSession.run() and the time between runs', async () => {
    const { times, restore } = instrumentRuns();
    try {
      const s = await ort.InferenceSession.create(convNetBytes());
      const [b] = syntheticBatches(1, 1, 32);
      const feeds = { input: new ort.Tensor('float32', b!.data, b!.dims) };
      await s.run(feeds);
      await new Promise((r) => setTimeout(r, 60));
      await s.run(feeds);
      await s.release();
      expect(times.runs).toBe(2);
      expect(times.ortSeconds).toBeGreaterThan(0);
      expect(times.gapSeconds).toBeGreaterThanOrEqual(0.05);
    } finally {
      restore();
    }
  });
});

describe('report', () => {
  const result = (mode: ModeResult['mode'], seconds: number, rss: number, ok = true): ModeResult => ({ mode, ok, seconds, cpuSeconds: seconds * 2, samples: 4, peakRssMb: rss, ortSeconds: 1, gapSeconds: 0.5, runs: 2, provider: 'cpu', detail: 'd', loadavg: [0, 0, 0] });
  const rows: Row[] = [
    { model: 'm', count: 4, result: result('plain', 2, 100) },
    { model: 'm', count: 4, result: result('entropy', 3, 140) },
    { model: 'm', count: 4, result: result('naive', 8, 400) },
    { model: 'm', count: 8, result: result('plain', 4, 100) },
    { model: 'm', count: 8, result: result('entropy', 7, 160) },
    { model: 'm', count: 8, result: result('entropy-loader', 7, 160) },
  ];

  it('compares each mode with plain inference at the same model and count', () => {
    expect(ratios(rows, rows[1]!)).toEqual({ time: 1.5, cpu: 1.5, rss: 1.4 });
    expect(ratios(rows, rows[4]!)).toEqual({ time: 1.75, cpu: 1.75, rss: 1.6 });
    expect(ratios(rows, rows[5]!)).toEqual({}); // no plain-loader row to compare with
  });

  it('marks engine ratios against the 1.5× target', () => {
    const t = markdownTable(rows);
    expect(t.split('\n')).toHaveLength(2 + rows.length);
    expect(t).toContain('| m | 4 | entropy | 3.00 | 1.50× ✓ | 6.00 | 1.50× ✓ | 140 | 1.40× ✓ |');
    expect(t).toContain('| m | 8 | entropy | 7.00 | 1.75× ✗ | 14.00 | 1.75× ✗ | 160 | 1.60× ✗ |');
    expect(t).toContain('| m | 4 | naive | 8.00 | 4.00× | 16.00 | 4.00× | 400 | 4.00× |');
  });

  it('replaces the marked block and keeps the rest of the document', () => {
    const doc = replaceBlock('# Title\n\nintro\n', 'T1');
    expect(doc).toBe('# Title\n\nintro\n\n<!-- bench:calibration-results:start -->\nT1\n<!-- bench:calibration-results:end -->\n');
    const again = replaceBlock(`${doc}tail\n`, 'T2');
    expect(again).toContain('T2');
    expect(again).not.toContain('T1');
    expect(again.endsWith('tail\n')).toBe(true);
  });

  it('folds repetitions into medians, and fails when any repetition failed', () => {
    const m = medianResult([result('entropy', 3, 100), result('entropy', 1, 300), result('entropy', 2, 200)]);
    expect([m.seconds, m.cpuSeconds, m.peakRssMb, m.ok]).toEqual([2, 4, 200, true]);
    expect(m.detail).toBe('d; median of 3');
    expect(medianResult([result('plain', 1, 1), result('plain', 3, 3, false)]).ok).toBe(false);
    expect(medianResult([result('plain', 1, 1), result('plain', 3, 3)]).seconds).toBe(2);
  });

  it('cycles photos to the requested count', () => {
    expect(cycle(['a', 'b'], 5)).toEqual(['a', 'b', 'a', 'b', 'a']);
    expect(() => cycle([], 1)).toThrow(/no photos/);
  });
});
