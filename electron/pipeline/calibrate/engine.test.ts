import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { DataType, decodeModel, encodeModel, makeNode, makeTensor, makeValueInfo, onnx } from '../onnx/index.js';
import { StudioError } from '../../../shared/errors.js';
import { runCalibration, type CalibrationOptions, type CalibrationResult } from './engine.js';
import { buildCalibrationReport, type CalibrationReport } from './report.js';
import { entropyThreshold } from './entropy.js';
import { emptyHistogram, histogramOf, mergeHistograms, summarize, type AbsHistogram } from './histogram.js';
import { probeModel } from './instrument.js';
import { percentileThreshold } from './percentile.js';
import { planGraph } from './plan.js';
import { asAsync, buildConvNet, convNetBytes, syntheticBatches } from './testmodels.js';

const SIZE = 32;
const batches = syntheticBatches(3, 2, SIZE);

function opts(model: Uint8Array, extra: Partial<CalibrationOptions> = {}, data = batches): CalibrationOptions {
  return { model, batches: asAsync(data), totalBatches: data.length, algorithm: 'entropy', percentile: 99.99, provider: 'cpu', threads: 1, ...extra };
}

/**
 * Reference statistics: every candidate tensor fetched from a session with graph optimizations
 * DISABLED and histogrammed in JS. The engine (optimizations on, in-graph reductions) must agree.
 */
async function reference(model: Uint8Array, data = batches): Promise<Map<string, AbsHistogram>> {
  const m = decodeModel(model);
  const plan = planGraph(m.graph!);
  const s = await ort.InferenceSession.create(encodeModel(probeModel(m, plan.runnable, plan.candidates)), { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  const hists = new Map<string, AbsHistogram>();
  for (const b of data) {
    const out = await s.run({ input: new ort.Tensor('float32', b.data, b.dims) });
    for (const [name, t] of Object.entries(out)) {
      if (t.type !== 'float32') continue;
      hists.set(name, mergeHistograms(hists.get(name) ?? emptyHistogram(), histogramOf(t.data as Float32Array)));
    }
  }
  await s.release();
  return hists;
}

/** Split a batch into batches of one sample. */
function oneByOne(b: (typeof batches)[number]): (typeof batches)[number][] {
  const per = b.data.length / b.count;
  return b.ids.map((id, k) => ({ ids: [id], count: 1, dims: [1, ...b.dims.slice(1)], data: b.data.slice(k * per, (k + 1) * per) }));
}

function byName(r: CalibrationResult): Map<string, CalibrationResult['tensors'][number]> {
  return new Map(r.tensors.map((t) => [t.name, t]));
}

describe('runCalibration', () => {
  const model = convNetBytes({ size: SIZE });

  it('computes in-graph histograms equal to a reference taken with optimizations disabled', async () => {
    const ref = await reference(model);
    const r = await runCalibration(opts(model, { histogram: 'exact' }));
    expect(r.method).toBe('exact');
    expect(r.samples).toBe(6);
    expect(r.uncalibrated).toEqual([]);
    const got = byName(r);
    // Every float tensor of the unoptimized graph, by its ONNX name; the int64 Shape output is not.
    expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
    expect(got.has('/shape/Shape_output_0')).toBe(false);
    expect(got.has('input')).toBe(true);
    expect(got.has('/conv0/Conv_output_0')).toBe(true);
    for (const [name, h] of ref) {
      const t = got.get(name)!;
      expect(t.amax, name).toBeCloseTo(h.amax, 4);
      const want = entropyThreshold(h).threshold;
      expect(Math.abs(t.threshold - want) / want, name).toBeLessThan(0.01);
      expect(t.scale).toBe(Math.fround(t.threshold / 127)); // float32: what the cache holds
      const sum = t.histogram!.counts.reduce((a, b) => a + b, 0);
      expect(sum).toBe(h.total);
    }
    // The graph input is not touched by any kernel: its histogram must match exactly.
    expect(got.get('input')!.histogram).toEqual(summarize(ref.get('input')!));
  });

  it('samples with exact extremes; all values when the sample target covers the tensor', async () => {
    const ref = await reference(model);
    const logs: string[] = [];
    const full = byName(await runCalibration(opts(model, { sampleTarget: 1e6, log: (_l, t) => logs.push(t) })));
    // Relu outputs and Conv outputs (inputs of BatchNormalization) are derived, not reduced:
    // the comparisons below check those derivations against the reference too.
    expect(logs).toContain('6 Relu outputs and 6 BatchNormalization inputs take their statistics from related tensors');
    const sampled = await runCalibration(opts(model, { sampleTarget: 3000 }));
    expect(sampled.method).toBe('sampled');
    const sm = byName(sampled);
    let dev = 0;
    for (const [name, h] of ref) {
      // Every value is in the sample: the same histogram as the reference.
      expect(full.get(name)!.histogram!.counts.reduce((a, b) => a + b, 0), name).toBe(h.total);
      expect(Math.abs(full.get(name)!.threshold - entropyThreshold(h).threshold) / h.amax, name).toBeLessThan(0.01);
      // A ~1/3…1/10 sample: the max is still exact, counts shrink, the threshold stays close.
      const t = sm.get(name)!;
      expect(t.amax, name).toBeCloseTo(h.amax, 4);
      const n = t.histogram!.counts.reduce((a, b) => a + b, 0);
      expect(n, name).toBeLessThanOrEqual(h.total);
      // Odd stride s = 2⌊N/2S⌋+1 keeps between ~S/2 and 2S values per run (3 runs here).
      expect(n, name).toBeGreaterThan(0.4 * Math.min(h.total, 3 * 3000));
      dev = Math.max(dev, Math.abs(t.threshold - entropyThreshold(h).threshold) / h.amax);
    }
    expect(dev).toBeLessThan(0.1);
  });

  it('gives the same statistics for static shapes (constant sample steps, no dims in the chunk)', async () => {
    // Same weights with a fixed batch of 1: every shape is static, so the chunk layout and the
    // sample step are decided at build time; the results must match the dynamic-shape model's.
    for (const sampleTarget of [1e6, 500]) {
      const dyn = await runCalibration(opts(convNetBytes({ size: SIZE }), { sampleTarget }, batches.map(oneByOne).flat()));
      const fixed = await runCalibration(opts(convNetBytes({ size: SIZE, batch: 1 }), { sampleTarget }));
      expect(fixed.runs).toBe(6);
      const d = byName(dyn);
      for (const t of fixed.tensors) {
        const u = d.get(t.name)!;
        expect(t.amax, t.name).toBeCloseTo(u.amax, 5);
        expect(t.histogram!.counts.reduce((a, b) => a + b, 0), t.name).toBe(u.histogram!.counts.reduce((a, b) => a + b, 0));
        expect(Math.abs(t.threshold - u.threshold) / u.amax, t.name).toBeLessThan(0.01);
      }
    }
  });

  it('is deterministic and independent of batch order', async () => {
    const a = await runCalibration(opts(model, { sampleTarget: 2000 }));
    const b = await runCalibration(opts(model, { sampleTarget: 2000 }));
    const c = await runCalibration(opts(model, { sampleTarget: 2000 }, [...batches].reverse()));
    const strip = (r: CalibrationResult): unknown => r.tensors;
    expect(strip(b)).toEqual(strip(a));
    expect(strip(c)).toEqual(strip(a));
  });

  it('minmax gives the exact max |x| and percentile the reference percentile', async () => {
    const ref = await reference(model);
    const mmr = await runCalibration(opts(model, { algorithm: 'minmax' }));
    expect(mmr.method).toBe('minmax');
    const mm = byName(mmr);
    const pc = byName(await runCalibration(opts(model, { algorithm: 'percentile', percentile: 99.9, sampleTarget: 1e6 })));
    for (const [name, h] of ref) {
      expect(mm.get(name)!.amax, name).toBeCloseTo(h.amax, 4);
      expect(mm.get(name)!.threshold).toBe(mm.get(name)!.amax);
      const want = percentileThreshold(h, 99.9).threshold;
      expect(Math.abs(pc.get(name)!.threshold - want) / want, name).toBeLessThan(0.01);
    }
    expect(mm.get('input')!.amax).toBe(ref.get('input')!.amax);
  });

  it('falls back to fetching tensors below opset 10, and from exact to sampled below 16', async () => {
    const old = convNetBytes({ size: SIZE, opset: 9 });
    const logs: string[] = [];
    const r = await runCalibration(opts(old, { fetchGroup: 5, log: (l, t) => logs.push(`${l}: ${t}`) }));
    expect(r.method).toBe('fetch');
    expect(logs.some((l) => l.startsWith('warn') && /opset 9/.test(l))).toBe(true);
    const ref = await reference(old);
    expect(r.tensors.length).toBe(ref.size);
    for (const t of r.tensors) {
      // Optimized kernels (fused Conv+BN, NCHWc) round differently in the last bits, so a few
      // values may land in a neighbouring bin; the bin width and totals must agree.
      const want = summarize(ref.get(t.name)!);
      expect(t.histogram!.binWidth, t.name).toBe(want.binWidth);
      let diff = 0;
      let total = 0;
      want.counts.forEach((c, k) => {
        diff += Math.abs(c - (t.histogram!.counts[k] ?? 0));
        total += c;
      });
      expect(diff / total, t.name).toBeLessThan(1e-3);
    }
    const o13 = await runCalibration(opts(convNetBytes({ size: SIZE, opset: 13 }), { histogram: 'exact', log: (l, t) => logs.push(`${l}: ${t}`) }));
    expect(o13.method).toBe('sampled');
    expect(logs.some((l) => /opset 13 has no ScatterElements/.test(l))).toBe(true);
  });

  it('calibrates the runnable part of a graph with a TensorRT plugin and lists the rest', async () => {
    const m = convNetBytes({ size: SIZE, plugin: true });
    const logs: string[] = [];
    const r = await runCalibration(opts(m, { log: (l, t) => logs.push(`${l}: ${t}`) }));
    expect(r.uncalibrated.map((u) => u.name)).toEqual(['multilevel_propose_rois', '/roi/Sigmoid_output_0']);
    expect(r.uncalibrated[0]!.reason).toMatch(/MultilevelProposeROI_TRT/);
    expect(r.uncalibrated[1]!.reason).toMatch(/depends on MultilevelProposeROI_TRT/);
    const names = r.tensors.map((t) => t.name);
    expect(names).toContain('/pool0/MaxPool_output_0');
    expect(names).toContain('probs');
    expect(logs.some((l) => /MultilevelProposeROI_TRT/.test(l) && l.startsWith('warn'))).toBe(true);
  });

  it('feeds rank-3 models one sample per run', async () => {
    const m = convNetBytes({ size: SIZE, rank3: true });
    const r = await runCalibration(opts(m, { algorithm: 'minmax' }));
    expect(r.samples).toBe(6);
    expect(r.runs).toBe(6);
    const fixed = await runCalibration(opts(convNetBytes({ size: SIZE, batch: 1 }), { algorithm: 'minmax' }));
    expect(fixed.runs).toBe(6);
    expect(byName(fixed).get('probs')!.amax).toBeGreaterThan(0);
  });

  it('stops between batches when aborted, and reports progress', async () => {
    const ac = new AbortController();
    const progress: number[] = [];
    const p = runCalibration(opts(model, { signal: ac.signal, onProgress: (d) => { progress.push(d); if (d === 1) ac.abort(); } }));
    await expect(p).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(progress).toEqual([1]);
    await expect(p).rejects.toBeInstanceOf(StudioError);
  });

  it('builds a JSON report for the charts', async () => {
    const r = await runCalibration(opts(model, { sampleTarget: 1e6 }));
    const rep = JSON.parse(JSON.stringify(buildCalibrationReport(r, 'entropy'))) as CalibrationReport;
    expect(rep.tensors.map((t) => t.name)).toEqual(r.tensors.map((t) => t.name));
    for (const t of rep.tensors) {
      expect(t.scale).toBe(Math.fround(t.threshold / 127));
      expect(t.thresholdRatio).toBeLessThanOrEqual(1);
      expect(t.histogram!.counts.length).toBeLessThanOrEqual(64);
      expect(t.clippedFraction).toBeGreaterThanOrEqual(0);
      // Nothing is clipped exactly when the threshold is the max.
      if (t.threshold === t.amax) expect(t.clippedFraction).toBe(0);
      else expect(t.clippedFraction).toBeGreaterThan(0);
    }
  });

  it('reports tensors that are empty in every batch instead of giving them a zero scale', async () => {
    const graph = onnx.GraphProto.create({
      name: 'empty',
      node: [
        makeNode('Relu', ['input'], ['full'], {}, 'relu'),
        makeNode('Slice', ['input', 'zero', 'zero', 'one'], ['nothing'], {}, 'slice'),
        makeNode('Sigmoid', ['nothing'], ['still_nothing'], {}, 'sigmoid'),
      ],
      initializer: [makeTensor('zero', [1], BigInt64Array.of(0n)), makeTensor('one', [1], BigInt64Array.of(1n))],
      input: [makeValueInfo('input', DataType.FLOAT, ['N', 3, SIZE, SIZE])],
      output: [makeValueInfo('full', DataType.FLOAT, ['N', 3, SIZE, SIZE]), makeValueInfo('still_nothing', DataType.FLOAT, ['N', 0, SIZE, SIZE])],
    });
    const m = encodeModel(onnx.ModelProto.create({ irVersion: 8, opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })], graph }));
    for (const histogram of ['sampled', 'exact'] as const) {
      const r = await runCalibration(opts(m, { histogram }));
      expect(r.tensors.map((t) => t.name).sort()).toEqual(['full', 'input']);
      expect(r.uncalibrated.map((u) => u.name).sort()).toEqual(['nothing', 'still_nothing']);
      expect(r.uncalibrated[0]!.reason).toMatch(/empty in every calibration batch/);
    }
  });

  it('refuses a model whose input cannot be fed', async () => {
    const m = buildConvNet({ size: SIZE, batch: 4 });
    await expect(runCalibration(opts(encodeModel(m), { algorithm: 'minmax' }))).rejects.toMatchObject({ code: 'E_MODEL_SPEC_MISMATCH' });
  });
});
