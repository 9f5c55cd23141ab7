import ort from 'onnxruntime-node';
import type { Batch } from '../../electron/pipeline/data/types.js';
import { decodeModel, encodeModel, onnx } from '../../electron/pipeline/onnx/index.js';
import { widthExponent, DEFAULT_BINS, type AbsHistogram } from '../../electron/pipeline/calibrate/histogram.js';
import { entropyThreshold } from '../../electron/pipeline/calibrate/entropy.js';

/**
 * The peers' way, reproduced as the baseline: ONNX Runtime's calibrate.py makes every float
 * intermediate a graph output, runs with graph optimisations disabled, keeps every batch's
 * outputs, and only then histograms each tensor. Here: name-only outputs (ORT infers their
 * types), 2048-bin |x| histograms in plain JS, and the same entropy search our engine uses, so
 * the difference to the engine is the collection strategy, not the search.
 */

/** Adds every top-level node output that is not already a graph output as a name-only output. */
export function augmentAllOutputs(modelBytes: Uint8Array): { bytes: Uint8Array; added: string[] } {
  const model = decodeModel(modelBytes);
  const graph = model.graph!;
  const existing = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const added: string[] = [];
  for (const node of graph.node ?? []) {
    for (const name of node.output ?? []) {
      if (!name || existing.has(name)) continue;
      existing.add(name);
      added.push(name);
    }
  }
  graph.output = [...(graph.output ?? []), ...added.map((name) => onnx.ValueInfoProto.create({ name }))];
  return { bytes: encodeModel(model), added };
}

export interface NaiveOptions {
  inputName: string;
  /** ORT's calibrator disables graph optimisations; 'all' is offered to separate that effect. */
  graphOptimizationLevel: 'disabled' | 'all';
  /** Stop storing (and report) beyond this many MB of stored outputs, instead of exhausting the machine. */
  capMb: number;
  executionProviders?: ort.InferenceSession.SessionOptions['executionProviders'];
}

export interface NaiveResult {
  tensors: number;
  storedMb: number;
  /** Set when the store cap was hit: the run stopped early and its time is not comparable. */
  capped?: { afterSamples: number; projectedMb: number };
  thresholds: Map<string, number>;
}

export async function runNaive(modelBytes: Uint8Array, batches: AsyncIterable<Batch>, totalSamples: number, opts: NaiveOptions): Promise<NaiveResult> {
  const { bytes } = augmentAllOutputs(modelBytes);
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: opts.graphOptimizationLevel,
    ...(opts.executionProviders ? { executionProviders: opts.executionProviders } : {}),
  });
  try {
    const fetches = session.outputMetadata.filter((m) => m.isTensor && m.type === 'float32').map((m) => m.name);
    const stored = new Map<string, Float32Array[]>([[opts.inputName, []]]);
    for (const name of fetches) stored.set(name, []);
    let storedBytes = 0;
    let samples = 0;
    let capped: NaiveResult['capped'];
    for await (const batch of batches) {
      const out = await session.run({ [opts.inputName]: new ort.Tensor('float32', batch.data, batch.dims) }, fetches);
      stored.get(opts.inputName)!.push(batch.data);
      storedBytes += batch.data.byteLength;
      for (const name of fetches) {
        const data = out[name]!.data as Float32Array;
        stored.get(name)!.push(data);
        storedBytes += data.byteLength;
      }
      samples += batch.count;
      if (storedBytes / 2 ** 20 > opts.capMb) {
        capped = { afterSamples: samples, projectedMb: (storedBytes / 2 ** 20) * (totalSamples / samples) };
        break;
      }
    }
    const thresholds = new Map<string, number>();
    for (const [name, chunks] of stored) {
      const h = histogramChunks(chunks);
      thresholds.set(name, entropyThreshold(h).threshold);
      stored.set(name, []); // let the chunks go as we go, as a careful peer would
    }
    return { tensors: stored.size, storedMb: storedBytes / 2 ** 20, thresholds, ...(capped ? { capped } : {}) };
  } finally {
    await session.release();
  }
}

/** 2048-bin histogram of |x| over all stored chunks of one tensor (two passes: amax, then counts). */
export function histogramChunks(chunks: readonly Float32Array[], nbins = DEFAULT_BINS): AbsHistogram {
  let amax = 0;
  let total = 0;
  for (const c of chunks) {
    total += c.length;
    for (let k = 0; k < c.length; k++) {
      const a = Math.abs(c[k]!);
      if (a > amax) amax = a;
    }
  }
  const exponent = widthExponent(amax, nbins);
  const inv = 2 ** -exponent;
  const counts = new Float64Array(nbins);
  for (const c of chunks) {
    for (let k = 0; k < c.length; k++) {
      const idx = Math.floor(Math.abs(c[k]!) * inv);
      counts[idx < nbins ? idx : nbins - 1]! += 1;
    }
  }
  return { exponent, counts, amax, total };
}
