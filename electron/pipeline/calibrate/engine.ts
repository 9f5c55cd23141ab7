import ort from 'onnxruntime-node';
import { StudioError } from '../../../shared/errors.js';
import type { CalibrationAlgorithm } from '../../../shared/request.js';
import type { Batch } from '../data/types.js';
import { DataType, decodeModel, encodeModel, float16ToFloat32, forEachNode, getOpset, isDefaultDomain, type Dim, type onnx } from '../onnx/index.js';
import { createSession, runtimeError, type GraphOptimization, type LogFn, type ProviderChoice, type StudioSession } from '../runtime/index.js';
import { DEFAULT_BINS, type HistogramSummary } from './histogram.js';
import { STAT_OUTPUTS, probeModel, statsModel, type CalibTensor, type ChunkLayout } from './instrument.js';
import { StatsCollector, noDerivations, planDerivations, planExactDerivations } from './collect.js';
import { tensorThresholds } from './thresholds.js';
import { MIN_AMAX, scaleForAmax } from './cache.js';
import { elemTypeOfOrtName, isCalibratedType, planGraph, type GraphPlan, type ModelInput, type Uncalibrated } from './plan.js';
import { throwIfAborted } from '../cancel.js';

export interface CalibrationOptions {
  /** ONNX model bytes. */
  model: Uint8Array;
  /** The input to feed; default: the model's only float input. */
  inputName?: string;
  batches: AsyncIterable<Batch>;
  totalBatches: number;
  algorithm: CalibrationAlgorithm;
  /** For 'percentile' (default 99.99). */
  percentile?: number;
  provider: ProviderChoice;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  log?: LogFn;
  /** Histogram bins (power of two, default 2048). */
  bins?: number;
  /**
   * How entropy/percentile histograms are gathered: 'sampled' (default) = exact max|x| plus a
   * deterministic strided sample of about ⅔·`sampleTarget`…2·`sampleTarget` values per tensor per
   * run, histogrammed in JS; 'exact' = every value counted in-graph (opset ≥ 16, several times
   * slower on CPU because ONNX Runtime's ScatterElements is slow).
   */
  histogram?: 'sampled' | 'exact';
  /** Values sampled per tensor per run in 'sampled' mode (default 16384). */
  sampleTarget?: number;
  /** Force the fallback that fetches whole tensors into JS (tests, benchmarks). */
  forceFetch?: boolean;
  /** Tensors fetched per run in the fetch fallback (default 16). */
  fetchGroup?: number;
  /** ONNX Runtime graph optimizations for the statistics session (default 'all'). */
  optimization?: GraphOptimization;
  /** ONNX Runtime intra-op threads. */
  threads?: number;
  /** Write an ONNX Runtime profile with this prefix. */
  profilePrefix?: string;
  /** Also compute the other algorithms' thresholds per tensor (default true; needs histograms). */
  alternatives?: boolean;
}

export interface TensorStats {
  name: string;
  /** Max |x| seen over all samples. */
  amax: number;
  /** Clip threshold chosen by the algorithm (≤ amax). */
  threshold: number;
  /** threshold / 127: what the cache stores. */
  scale: number;
  /** Estimated fraction of values above the threshold (from the histogram; 0 for minmax). */
  clipped: number;
  /** Compact |x| histogram for charts (absent for minmax). */
  histogram?: HistogramSummary;
  /** Every algorithm's threshold from the same statistics (histogram forms only): the search's choices. */
  alternatives?: Record<CalibrationAlgorithm, number>;
  /** The tensor's own fake-quant SNR (dB) at each alternative, estimated from the histogram. */
  localSnr?: Record<CalibrationAlgorithm, number>;
}

export interface CalibrationResult {
  tensors: TensorStats[];
  uncalibrated: Uncalibrated[];
  provider: string;
  notice?: string;
  samples: number;
  runs: number;
  /** Wall time in total, and of which before the first batch (graph analysis, session creation). */
  seconds: number;
  setupSeconds: number;
  /** Where the time after setup went: inside ONNX Runtime runs, JS statistics, threshold search (seconds). */
  timing: { inference: number; statistics: number; thresholds: number };
  /**
   * How statistics were gathered: in-graph min/max only, in-graph extremes + strided samples,
   * in-graph full histograms, or whole tensors fetched into JS.
   */
  method: 'minmax' | 'sampled' | 'exact' | 'fetch';
  /** The sample target used when method is 'sampled' (for the provenance), else null. */
  sampleTarget: number | null;
  opset: number;
}

const MAX_RETRIES = 8;

/** Values sampled per tensor per run by default in the 'sampled' statistics form. */
export const DEFAULT_SAMPLE_TARGET = 16384;

/**
 * Gathers activation statistics for every float tensor of the unoptimized graph and turns them
 * into per-tensor thresholds. See docs/FORMATS.md for the formulation and its reasons.
 */
export async function runCalibration(opts: CalibrationOptions): Promise<CalibrationResult> {
  const t0 = performance.now();
  const log: LogFn = opts.log ?? (() => undefined);
  const nbins = opts.bins ?? DEFAULT_BINS;
  const model = decodeModel(opts.model);
  const opset = getOpset(model) ?? 1;
  if (opset < 7) {
    throw new StudioError('E_RUNTIME_UNSUPPORTED_OPS', `The model imports ONNX opset ${opset}; calibration needs opset 7 or newer.`, 'Re-export the model with a newer opset (11 or later).');
  }

  // Plan, probe types, build the statistics model; cut further if ONNX Runtime rejects an op.
  const { plan, types } = await planAndProbe(model, log);
  for (const u of plan.unrunnable) log('warn', `cannot run ${u.opType}${u.domain ? ` (${u.domain})` : ''} node '${u.name}' in ONNX Runtime: tensors after it are not calibrated`);

  const input = pickInput(plan.inputs, opts.inputName);
  const tensors: CalibTensor[] = [];
  let skippedTypes = 0;
  for (const name of plan.candidates) {
    const et = types.get(name)?.elemType;
    if (et !== undefined && isCalibratedType(et)) tensors.push({ name, elemType: et });
    else skippedTypes++;
  }
  log('info', `calibrating ${tensors.length} float tensors (${skippedTypes} integer/bool skipped, ${plan.constants.size} weights/constants, ${plan.uncalibrated.length} unreachable)`);

  const wantHist = opts.algorithm !== 'minmax';
  let method: CalibrationResult['method'] = wantHist ? (opts.histogram ?? 'sampled') : 'minmax';
  // Opset 16 only changed RoiAlign's meaning (its coordinate_transformation_mode default); every
  // other opset-16 change adds types or optional attributes. So an opset-15 graph without RoiAlign
  // runs unchanged as opset 16, and its statistics graph can use ScatterElements' reduction.
  let statsOpset = opset;
  if (method === 'exact' && opset === 15 && !hasNode(model.graph!, 'RoiAlign')) {
    statsOpset = 16;
    log('debug', 'opset 15 graph without RoiAlign: the statistics graph imports opset 16 for its exact histograms');
  }
  if (method === 'exact' && statsOpset < 16) {
    log('warn', `opset ${opset} has no ScatterElements reduction (needs 16): using sampled histograms instead of exact ones`);
    method = 'sampled';
  }
  if (method === 'sampled' && opset < 10) {
    log('warn', `opset ${opset} has no strided Slice (needs 10): fetching whole tensors in groups of ${opts.fetchGroup ?? 16} (slower, more memory)`);
    method = 'fetch';
  }
  if (opts.forceFetch === true) method = 'fetch';
  const sampleTarget = Math.max(1, Math.floor(opts.sampleTarget ?? DEFAULT_SAMPLE_TARGET));

  // Statistics that follow exactly from another tensor's (Relu outputs, BatchNormalization inputs).
  const derivations =
    method === 'minmax' || method === 'sampled'
      ? planDerivations(model.graph!, plan.runnable, tensors, new Map([...types].map(([n, i]) => [n, i.rank])))
      : method === 'exact'
        ? planExactDerivations(model.graph!, plan.runnable, tensors)
        : noDerivations();
  const { relus: reluDerived, batchNorms: bnDerived, concats, derived: derivedNames, perChannel } = derivations;
  if (reluDerived.size + bnDerived.size > 0) log('debug', `${reluDerived.size} Relu outputs and ${bnDerived.size} BatchNormalization inputs take their statistics from related tensors`);
  if (concats.size > 0) log('debug', `${concats.size} Concat outputs take their histograms from their inputs'`);

  const shapes = new Map([...types].map(([n, i]) => [n, i.shape]));
  const built =
    method === 'fetch'
      ? { model: probeModel(model, plan.runnable, tensors.map((t) => t.name)), layout: new Map<string, ChunkLayout>() }
      : statsModel(model, plan.runnable, tensors, method, { nbins, sampleTarget, derived: derivedNames, perChannel, opset, shapes, ...(method === 'exact' ? { reluSources: new Set(reluDerived.values()) } : {}) });
  const calModel = built.model;
  if (statsOpset !== opset) calModel.opsetImport = (calModel.opsetImport ?? []).map((o) => (isDefaultDomain(o.domain) ? { ...o, version: statsOpset } : o));
  const tEnc = performance.now();
  const bytes = encodeModel(calModel);
  log('debug', `statistics graph: ${calModel.graph!.node!.length} nodes, ${(bytes.length / 2 ** 20).toFixed(1)} MiB, encoded in ${((performance.now() - tEnc) / 1000).toFixed(2)} s`);
  const sessionOpts: Parameters<typeof createSession>[1] = { provider: opts.provider, optimization: opts.optimization ?? 'all', log };
  if (opts.threads !== undefined) sessionOpts.threads = opts.threads;
  if (opts.profilePrefix !== undefined) sessionOpts.profilePrefix = opts.profilePrefix;
  let session: StudioSession;
  try {
    session = await createSession(bytes, sessionOpts);
  } catch (e) {
    throw runtimeError(e, 'ONNX Runtime could not load the calibration graph');
  }

  const collector = new StatsCollector({ tensors, method, histograms: wantHist, bins: nbins, sampleTarget, layout: built.layout, relus: reluDerived, batchNorms: bnDerived, concats });
  let samples = 0;
  let runs = 0;
  let done = 0;
  const group = Math.max(1, opts.fetchGroup ?? 16);
  const timing = { run: 0, stats: 0, thresholds: 0 };

  const runOne = async (feed: ort.Tensor): Promise<void> => {
    const feeds = { [input.name]: feed };
    if (method === 'fetch') {
      for (let start = 0; start < tensors.length; start += group) {
        const part = tensors.slice(start, start + group);
        const out = await session.session.run(feeds, part.map((t) => t.name));
        runs++;
        part.forEach((t, j) => {
          const v = out[t.name]!;
          try {
            collector.addFetched(start + j, v.type === 'float16' ? Float32Array.from(v.data as Uint16Array, float16ToFloat32) : (v.data as Float32Array));
          } finally {
            v.dispose();
          }
        });
      }
      return;
    }
    const tr = performance.now();
    const out = await session.session.run(feeds, fetches);
    timing.run += performance.now() - tr;
    runs++;
    const ts = performance.now();
    try {
      if (method === 'exact') collector.addExact(out[STAT_OUTPUTS.scalars]!.data as Float32Array, out[STAT_OUTPUTS.hist]!.data as Int32Array);
      else collector.addStats(out[STAT_OUTPUTS.stats]!.data as Float32Array);
    } finally {
      timing.stats += performance.now() - ts;
    }
  };

  const fetches = method === 'exact' ? [STAT_OUTPUTS.scalars, STAT_OUTPUTS.hist] : [STAT_OUTPUTS.stats];
  const setupSeconds = (performance.now() - t0) / 1000;
  const iterator = opts.batches[Symbol.asyncIterator]();
  try {
    let next = iterator.next();
    // A cancel before the first await must not leave this promise's rejection unhandled.
    next.catch(() => undefined);
    for (;;) {
      checkAbort(opts.signal);
      const r = await next;
      if (r.done) break;
      // Ask for the next batch before running this one: decoding (sharp, libuv threads)
      // overlaps the synchronous inference.
      next = iterator.next();
      next.catch(() => undefined);
      for (const feed of feedsFor(r.value, input)) {
        try {
          await runOne(feed);
        } catch (e) {
          throw runtimeError(e, 'ONNX Runtime failed while running a calibration batch');
        }
      }
      samples += r.value.count;
      done++;
      opts.onProgress?.(done, opts.totalBatches);
    }
  } finally {
    await iterator.return?.();
    await session.release();
  }
  if (samples === 0) {
    throw new StudioError('E_CAL_TOO_FEW_SAMPLES', 'No calibration samples were produced.', 'Check the calibration source: it yielded no usable images.');
  }

  const tt = performance.now();
  const uncalibrated: Uncalibrated[] = [...plan.uncalibrated];
  const stats: TensorStats[] = [];
  for (const t of collector.results()) {
    if (t.nonFinite) {
      uncalibrated.push({ name: t.name, reason: 'NaN or infinite values in at least one batch' });
      continue;
    }
    if (!t.seen) {
      uncalibrated.push({ name: t.name, reason: 'empty in every calibration batch (no values to measure)' });
      continue;
    }
    const m = t.amax;
    const r = tensorThresholds(t.histogram, m, opts.algorithm, opts.percentile ?? 99.99, opts.alternatives ?? true);
    const scale = scaleForAmax(r.threshold);
    if (scale === null) {
      uncalibrated.push({ name: t.name, reason: `threshold ${r.threshold} is not a finite non-negative number` });
      continue;
    }
    // An all-zero tensor gets ZERO_TENSOR_AMAX (never a 0 scale): threshold and scale agree.
    const threshold = r.threshold <= MIN_AMAX ? scale * 127 : r.threshold;
    const s: TensorStats = { name: t.name, amax: m, threshold, scale, clipped: r.clipped };
    if (r.histogram) s.histogram = r.histogram;
    if (r.alternatives) s.alternatives = r.alternatives;
    if (r.localSnr) s.localSnr = r.localSnr;
    stats.push(s);
  }
  timing.thresholds = performance.now() - tt;
  const seconds = (performance.now() - t0) / 1000;
  log('debug', `calibration time: setup ${setupSeconds.toFixed(2)} s, inference ${(timing.run / 1000).toFixed(2)} s, statistics ${(timing.stats / 1000).toFixed(2)} s, thresholds ${(timing.thresholds / 1000).toFixed(2)} s`);
  log('info', `calibrated ${stats.length} tensors from ${samples} samples in ${seconds.toFixed(2)} s (${runs} runs, ${method} statistics, ${session.provider})`);
  const result: CalibrationResult = {
    tensors: stats,
    uncalibrated,
    provider: session.provider,
    samples,
    runs,
    seconds,
    setupSeconds,
    timing: { inference: timing.run / 1000, statistics: timing.stats / 1000, thresholds: timing.thresholds / 1000 },
    method, sampleTarget: method === 'sampled' ? sampleTarget : null, opset };
  if (session.notice !== undefined) result.notice = session.notice;
  return result;
}

/** A default-domain node of this type anywhere in the graph or its subgraphs. */
function hasNode(graph: onnx.GraphProto.$Properties, opType: string): boolean {
  let found = false;
  forEachNode(graph, (n) => {
    if (n.opType === opType && isDefaultDomain(n.domain)) found = true;
  });
  return found;
}

function checkAbort(signal: AbortSignal | undefined): void {
  throwIfAborted(signal, 'Calibration');
}

function pickInput(inputs: ModelInput[], wanted: string | undefined): ModelInput {
  if (wanted !== undefined) {
    const found = inputs.find((i) => i.name === wanted);
    if (!found) {
      throw new StudioError('E_MODEL_SPEC_MISMATCH', `The model has no input named "${wanted}" (inputs: ${inputs.map((i) => i.name).join(', ') || 'none'}).`, 'Give the name of the image input.');
    }
    return found;
  }
  const floats = inputs.filter((i) => i.elemType === DataType.FLOAT || i.elemType === DataType.FLOAT16);
  if (inputs.length !== 1 && floats.length !== 1) {
    throw new StudioError(
      'E_MODEL_SPEC_MISMATCH',
      `The model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); calibration feeds a single image input.`,
      'Name the image input to feed (inputName); models needing several inputs cannot be calibrated from images.',
    );
  }
  return floats[0] ?? inputs[0]!;
}

/** Turn a Batch into the feeds the model accepts: the whole batch, or one sample per run. */
function feedsFor(batch: Batch, input: ModelInput): ort.Tensor[] {
  const rank = input.shape?.length;
  const dims = batch.dims;
  const sampleDims = dims.slice(1);
  const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
  const toTensor = (data: Float32Array, d: number[]): ort.Tensor =>
    input.elemType === DataType.FLOAT16 ? new ort.Tensor('float16', Uint16Array.from(data, f32ToF16), d) : new ort.Tensor('float32', data, d);
  const perSample = (withBatchDim: boolean): ort.Tensor[] =>
    Array.from({ length: batch.count }, (_, k) => toTensor(batch.data.subarray(k * sampleSize, (k + 1) * sampleSize), withBatchDim ? [1, ...sampleDims] : sampleDims));
  if (rank === undefined || rank === dims.length) {
    const d0 = input.shape?.[0];
    if (typeof d0 === 'number' && d0 !== batch.count) {
      if (d0 === 1) return perSample(true);
      throw new StudioError('E_MODEL_SPEC_MISMATCH', `The model input "${input.name}" has a fixed batch of ${d0}, but calibration batches hold ${batch.count} samples.`, `Set the calibration batch size to ${d0} (or 1).`);
    }
    return [toTensor(batch.data, dims)];
  }
  if (rank === dims.length - 1) return perSample(false);
  throw new StudioError(
    'E_MODEL_SPEC_MISMATCH',
    `The model input "${input.name}" has rank ${rank}, but calibration batches are ${dims.length}-D [${dims.join(', ')}].`,
    'Check the preprocessing layout (NCHW/NHWC) against the model input.',
  );
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
function f32ToF16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00 | (((x >>> 23) & 0xff) === 0xff && mant ? 0x200 : 0);
  if (exp <= 0) return exp < -10 ? sign : sign | ((mant | 0x800000) >>> (14 - exp));
  return sign | (exp << 10) | (mant >>> 13);
}

/** Plan the runnable part and probe tensor types; cut further when ORT rejects an op type. */
async function planAndProbe(model: onnx.ModelProto, log: LogFn): Promise<{ plan: GraphPlan; types: Map<string, TensorInfo> }> {
  const extraUnrunnable = new Set<string>();
  for (let attempt = 0; ; attempt++) {
    const plan = planGraph(model.graph!, extraUnrunnable);
    try {
      return { plan, types: await probeTypes(model, plan) };
    } catch (e) {
      const op = unsupportedOp(e);
      if (op === undefined || attempt >= MAX_RETRIES || extraUnrunnable.has(op)) throw runtimeError(e);
      extraUnrunnable.add(op);
      log('warn', `ONNX Runtime has no kernel for ${op}; calibrating the graph without it`);
    }
  }
}

/** Element types of candidate tensors, from a session whose outputs are the candidates by name. */
interface TensorInfo {
  elemType: number;
  /** null when ONNX Runtime does not know the rank. */
  rank: number | null;
  /** Numbers for static dims, strings for symbolic ones; null when unknown. */
  shape: Dim[] | null;
}

async function probeTypes(model: onnx.ModelProto, plan: GraphPlan): Promise<Map<string, TensorInfo>> {
  const types = new Map<string, TensorInfo>();
  for (const i of plan.inputs) types.set(i.name, { elemType: i.elemType, rank: i.shape?.length ?? null, shape: i.shape });
  const names = plan.candidates.filter((n) => !types.has(n));
  if (names.length === 0) return types;
  const read = async (light: boolean): Promise<void> => {
    const bytes = encodeModel(probeModel(model, plan.runnable, names, light));
    const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
    try {
      for (const m of s.outputMetadata) {
        types.set(
          m.name,
          m.isTensor
            ? { elemType: elemTypeOfOrtName(m.type), rank: m.shape.length > 0 ? m.shape.length : null, shape: m.shape.length > 0 ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))) : null }
            : { elemType: DataType.UNDEFINED, rank: null, shape: null },
        );
      }
    } finally {
      await s.release();
    }
  };
  try {
    await read(true);
  } catch {
    // Some kernels need constant inputs at load time: probe with the real weights.
    await read(false);
  }
  return types;
}

function unsupportedOp(e: unknown): string | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /Could not find an implementation for (\w+)\(/.exec(msg) ?? /No Op registered for (\w+)/.exec(msg);
  return m?.[1];
}

