import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { DataType, encodeModel, makeNode, makeValueInfo, onnx } from '../onnx/index.js';
import { mulberry32 } from '../onnx/testing.js';
import { StatsCollector, planExactDerivations, type CollectorConfig } from './collect.js';
import { emptyHistogram, histogramOf, mergeHistograms, type AbsHistogram } from './histogram.js';
import { STAT_OUTPUTS, foldHistogram, sampleStep, statsModel, type AffineDerivation, type CalibTensor, type ChunkLayout } from './instrument.js';

const NB = 64;
const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);
const maxAbs = (xs: ArrayLike<number>): number => Math.max(...Array.from(xs, Math.abs));

/** The straightforward reference: every run's whole tensor histogrammed at its own width, merged. */
function reference(runs: number[][], nbins = NB): AbsHistogram {
  return runs.reduce<AbsHistogram>((acc, v) => mergeHistograms(acc, histogramOf(f32(v), nbins)), emptyHistogram(nbins));
}

function collector(tensors: string[], method: CollectorConfig['method'], extra: Partial<CollectorConfig> = {}): StatsCollector {
  const ts: CalibTensor[] = tensors.map((name) => ({ name, elemType: DataType.FLOAT }));
  return new StatsCollector({ tensors: ts, method, histograms: method !== 'minmax', bins: NB, sampleTarget: 1024, ...extra });
}

describe('StatsCollector on hand-made statistics chunks', () => {
  // Three tensors: a static [1, 6] with its whole content sampled (step 1), a dynamic-shape one
  // (n before the sample), and c = Relu(a), derived.
  const layout = new Map<string, ChunkLayout>([
    ['a', { staticDims: [1, 6], step: 1, rank: null }],
    ['b', { staticDims: null, step: null, rank: null }],
  ]);
  const runs = {
    a: [
      [0.5, -3, 1.25, 2, -0.75, 0],
      [4, -1, 0.1, 0.2, -0.3, 2.5],
    ],
    b: [[1, -2, 3], [0.5, 0.25]],
  };
  const chunk = (r: number): Float32Array => {
    const a = runs.a[r]!;
    const b = runs.b[r]!;
    return f32([Math.max(...a), Math.min(...a), ...a, Math.max(...b), Math.min(...b), b.length, ...b]);
  };

  it('keeps the exact max |x| and the histograms of every value, and derives Relu outputs', () => {
    const c = collector(['a', 'b', 'c'], 'sampled', { layout, relus: new Map([['c', 'a']]) });
    c.addStats(chunk(0));
    c.addStats(chunk(1));
    const [a, b, relu] = c.results();
    expect(a!.amax).toBe(4);
    expect(b!.amax).toBe(3);
    expect(relu!.amax).toBe(4);
    expect(a!.histogram).toEqual(reference(runs.a));
    expect(b!.histogram).toEqual(reference(runs.b));
    expect(relu!.histogram).toEqual(reference(runs.a.map((v) => v.map((x) => Math.max(x, 0)))));
    expect([a, b, relu].every((t) => t!.seen && !t!.nonFinite)).toBe(true);
  });

  it('minmax chunks hold [max, min] only; no histograms', () => {
    const c = collector(['a', 'b', 'c'], 'minmax', { layout, relus: new Map([['c', 'a']]) });
    for (let r = 0; r < 2; r++) {
      const a = runs.a[r]!;
      const b = runs.b[r]!;
      c.addStats(f32([Math.max(...a), Math.min(...a), Math.max(...b), Math.min(...b)]));
    }
    expect(c.results().map((t) => [t.amax, t.histogram])).toEqual([
      [4, null],
      [3, null],
      [4, null],
    ]);
  });

  it('a Relu of an all-negative tensor has amax 0, and an empty run adds nothing', () => {
    const c = collector(['a', 'b', 'c'], 'sampled', { layout, relus: new Map([['c', 'a']]) });
    const neg = [-1, -2, -3, -4, -5, -6];
    c.addStats(f32([-1, -6, ...neg, -Infinity, Infinity, 0]));
    const [a, b, relu] = c.results();
    expect(a!.amax).toBe(6);
    expect(relu!.amax).toBe(0);
    expect(relu!.histogram).toEqual(reference([[0, 0, 0, 0, 0, 0]]));
    expect(b!.seen).toBe(false);
    expect(b!.histogram!.total).toBe(0);
  });

  it('marks NaN and infinite maxima as non-finite', () => {
    const c = collector(['a', 'b'], 'minmax', { layout });
    c.addStats(f32([1, -1, NaN, 0]));
    c.addStats(f32([Infinity, 0, 1, 0]));
    const [a, b] = c.results();
    expect(a!.nonFinite).toBe(true);
    expect(b!.nonFinite).toBe(true);
  });

  it('derives a BatchNormalization input from the per-channel chunk of its output', () => {
    // y = a_c·x + b_c over [1, 2, 1, 3] (2 channels, 3 values each); x is derived from y.
    const d: AffineDerivation = { x: 'x', y: 'y', rank: 4, a: Float64Array.of(2, -0.5), b: Float64Array.of(1, 0.25) };
    const x = [0.5, -1, 3, 2, -4, 0.125];
    const y = x.map((v, i) => Math.fround(d.a[Math.floor(i / 3)]! * v + d.b[Math.floor(i / 3)]!));
    const ch = (c: number): number[] => y.slice(3 * c, 3 * c + 3);
    const c = collector(['x', 'y'], 'sampled', { layout: new Map([['y', { staticDims: [1, 2, 1, 3], step: 1, rank: 4 }]]), batchNorms: new Map([['x', d]]) });
    c.addStats(f32([Math.max(...ch(0)), Math.max(...ch(1)), Math.min(...ch(0)), Math.min(...ch(1)), ...y]));
    const [gx, gy] = c.results();
    expect(gy!.amax).toBe(maxAbs(f32(y)));
    expect(gx!.amax).toBeCloseTo(4, 5);
    const back = y.map((v, i) => (v - d.b[Math.floor(i / 3)]!) / d.a[Math.floor(i / 3)]!);
    expect(gx!.histogram).toEqual(histogramOf(f32(back), NB, Math.fround(maxAbs(back))));
  });

  it('rejects a chunk whose length does not match the layout', () => {
    const c = collector(['a', 'b'], 'minmax', { layout });
    expect(() => c.addStats(f32([1, 0, 1, 0, 7]))).toThrow(/5 values, expected 4/);
  });

  it('folds signed exact-histogram counts into |x| bins', () => {
    const signed = new Int32Array(2 * NB);
    signed[0] = 5; // (−w, w)
    signed[3] = 2; // [3w, 4w)
    signed[2 * NB - 3] = 4; // (−4w, −3w]
    signed[2 * NB - 1] = 1; // (−2w, −w]
    const folded = foldHistogram(signed, NB);
    expect(Array.from(folded.subarray(0, 5))).toEqual([5, 1, 0, 6, 0]);
    expect(folded.reduce((s, v) => s + v, 0)).toBe(12);
    signed[NB] = 1;
    expect(() => foldHistogram(signed, NB)).toThrow(/no value can reach/);
  });
});

describe('statistics graph + collector on real ONNX Runtime sessions', () => {
  /** x → Identity → y, x → Neg → z, x → Relu → r, Concat(y, z, r, y) → c: calibrate all, static or dynamic length. */
  function model(n: number | null): onnx.ModelProto {
    const g = onnx.GraphProto.create({
      name: 'g',
      node: [makeNode('Identity', ['x'], ['y']), makeNode('Neg', ['x'], ['z']), makeNode('Relu', ['x'], ['r']), makeNode('Concat', ['y', 'z', 'r', 'y'], ['c'], { axis: 0 })],
      input: [makeValueInfo('x', DataType.FLOAT, [n ?? 'N'])],
      output: [makeValueInfo('y', DataType.FLOAT, [n ?? 'N']), makeValueInfo('z', DataType.FLOAT, [n ?? 'N']), makeValueInfo('r', DataType.FLOAT, [n ?? 'N'])],
    });
    return onnx.ModelProto.create({ irVersion: 8, opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })], graph: g });
  }
  const tensors: CalibTensor[] = ['x', 'y', 'z', 'r', 'c'].map((name) => ({ name, elemType: DataType.FLOAT }));
  /** Values with exact bin edges on both signs (w = 1/16 for amax 3.5 at 64 bins), zeros and noise. */
  function values(len: number, seed: number): Float32Array {
    const rnd = mulberry32(seed);
    const v = new Float32Array(len).map(() => (rnd() - 0.5) * 6);
    v.set([3.5, -3.5, 1 / 16, -1 / 16, 2 / 16, -2 / 16, 0, -0, 1 / 32, -1 / 32]);
    return v;
  }

  async function run(form: 'exact' | 'sampled', n: number | null, sampleTarget: number, feeds: Float32Array[], deriveConcat = true, exactChunk?: number): Promise<StatsCollector> {
    const m = model(n);
    const relus = new Map([['r', 'x']]);
    const exact = planExactDerivations(m.graph!, [0, 1, 2, 3], tensors);
    const concats = exact.concats;
    expect([...concats]).toEqual([['c', ['y', 'z', 'r', 'y']]]);
    expect([...exact.relus]).toEqual([['r', 'x']]);
    const derived = form === 'sampled' ? new Set(relus.keys()) : deriveConcat ? exact.derived : new Set<string>();
    const shapes = new Map(tensors.map((t) => [t.name, n === null ? null : [t.name === 'c' ? 4 * n : n]]));
    const reluSources = form === 'exact' && deriveConcat ? new Set(['x']) : new Set<string>();
    const built = statsModel(m, [0, 1, 2, 3], tensors, form, { nbins: NB, sampleTarget, derived, opset: 17, shapes, reluSources, ...(exactChunk ? { exactChunk } : {}) });
    if (exactChunk && n !== null) expect(built.model.graph!.node!.filter((k) => k.opType === 'Split').length).toBeGreaterThan(0);
    const s = await ort.InferenceSession.create(encodeModel(built.model), { intraOpNumThreads: 1 });
    const c = new StatsCollector({ tensors, method: form, histograms: true, bins: NB, sampleTarget, layout: built.layout, ...(form === 'sampled' || deriveConcat ? { relus } : {}), ...(form === 'exact' && deriveConcat ? { concats } : {}) });
    try {
      for (const x of feeds) {
        const out = await s.run({ x: new ort.Tensor('float32', x, [x.length]) });
        if (form === 'exact') c.addExact(out[STAT_OUTPUTS.scalars]!.data as Float32Array, out[STAT_OUTPUTS.hist]!.data as Int32Array);
        else c.addStats(out[STAT_OUTPUTS.stats]!.data as Float32Array);
      }
    } finally {
      await s.release();
    }
    return c;
  }

  it('exact: every value counted, equal bin for bin to histogramming the whole tensors in JS; Relu and Concat outputs derived', async () => {
    const feeds = [values(5000, 1), values(3001, 2).map((v) => v / 8), values(4000, 5).map((v) => (v < 0 ? v * 5 : v))];
    // In the third run min(x) = −17.5 and max(x) = 3.5: r's bins are 8× finer than y's and z's,
    // so x's histogram needs its non-negative part coarsened, and the Concat's needs r's.
    const want = exactWant(feeds);
    for (const deriveConcat of [true, false]) {
      const c = await run('exact', null, 1, feeds, deriveConcat);
      for (const t of c.results()) {
        expect(t.amax, t.name).toBe(Math.max(...want[t.name]!.map(maxAbs)));
        expect(t.histogram, `${t.name}, derived: ${deriveConcat}`).toEqual(reference(want[t.name]!));
      }
    }
  });

  it('exact: static tensors counted in pieces (Split, ScatterElements chained) give the same histograms', async () => {
    const n = 5000;
    const feeds = [values(n, 7), values(n, 8).map((v) => (v < 0 ? v * 3 : v / 2))];
    const want = exactWant(feeds);
    for (const deriveConcat of [true, false]) {
      const c = await run('exact', n, 1, feeds, deriveConcat, 1024);
      for (const t of c.results()) expect(t.histogram, `${t.name}, derived: ${deriveConcat}`).toEqual(reference(want[t.name]!));
    }
  });

  it('sampled: exact extremes and the strided sample x[0], x[s], x[2s], … (static and dynamic shapes)', async () => {
    for (const n of [7001, null]) {
      const feeds = [values(7001, 3), values(7001, 4).map((v) => v * 3)];
      const target = 500;
      const c = await run('sampled', n, target, feeds);
      const step = sampleStep(7001, target);
      const sample = (f: Float32Array, g: (v: number) => number = (v) => v): number[] => Array.from(f.filter((_, i) => i % step === 0), g);
      const expectTensor = (name: string, g: (v: number) => number): void => {
        const t = c.results().find((r) => r.name === name)!;
        const full = feeds.map((f) => Array.from(f, g));
        expect(t.amax, name).toBe(Math.max(...full.map(maxAbs)));
        // Each run's width is set by the exact max of the whole tensor, the counts by the sample.
        const h = feeds.reduce<AbsHistogram>((acc, f, i) => mergeHistograms(acc, histogramOf(f32(sample(f, g)), NB, maxAbs(full[i]!))), emptyHistogram(NB));
        expect(t.histogram, name).toEqual(h);
      };
      expectTensor('x', (v) => v);
      expectTensor('y', (v) => v);
      expectTensor('z', (v) => -v);
      expectTensor('r', (v) => Math.max(v, 0));
    }
  });
});

/** Every value each tensor of the exact test graph holds per run: y = x, z = −x, r = Relu(x), c = Concat(y, z, r, y). */
function exactWant(feeds: Float32Array[]): Record<string, number[][]> {
  const want: Record<string, number[][]> = {
    x: feeds.map((f) => Array.from(f)),
    y: feeds.map((f) => Array.from(f)),
    z: feeds.map((f) => Array.from(f, (v) => -v)),
    r: feeds.map((f) => Array.from(f, (v) => Math.max(v, 0))),
  };
  want.c = feeds.map((_, i) => [...want.y![i]!, ...want.z![i]!, ...want.r![i]!, ...want.y![i]!]);
  return want;
}
