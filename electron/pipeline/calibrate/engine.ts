import ort from 'onnxruntime-node';
import { StudioError } from '../../../shared/errors.js';
import type { CalibrationAlgorithm } from '../../../shared/request.js';
import type { Batch } from '../data/types.js';
import { DataType, decodeModel, encodeModel, float16ToFloat32, getOpset, type Dim, type onnx } from '../onnx/index.js';
import { createSession, runtimeError, type GraphOptimization, type LogFn, type ProviderChoice, type StudioSession } from '../runtime/index.js';
import { DEFAULT_BINS, accumulate, addValues, emptyHistogram, histogramOf, mergeHistograms, type AbsHistogram, type HistogramSummary } from './histogram.js';
import { STAT_OUTPUTS, derivableBatchNorms, derivableRelus, probeModel, sampleStep, statsModel, type AffineDerivation, type CalibTensor, type ChunkLayout } from './instrument.js';
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
  if (method === 'exact' && opset < 16) {
    log('warn', `opset ${opset} has no ScatterElements reduction (needs 16): using sampled histograms instead of exact ones`);
    method = 'sampled';
  }
  if (method === 'sampled' && opset < 10) {
    log('warn', `opset ${opset} has no strided Slice (needs 10): fetching whole tensors in groups of ${opts.fetchGroup ?? 16} (slower, more memory)`);
    method = 'fetch';
  }
  if (opts.forceFetch === true) method = 'fetch';
  const sampleTarget = Math.max(1, Math.floor(opts.sampleTarget ?? DEFAULT_SAMPLE_TARGET));

  // Statistics that follow exactly from another tensor's (sampled/minmax forms only):
  // y = Relu(x) from x, and a BatchNormalization input from its output (per-channel affine).
  const calibratedNames = new Set(tensors.map((t) => t.name));
  const canDerive = method === 'minmax' || method === 'sampled';
  const nodes = model.graph!.node ?? [];
  const initializers = new Map((model.graph!.initializer ?? []).map((t) => [t.name ?? '', t]));
  const ranks = new Map([...types].map(([n, i]) => [n, i.rank]));
  const bnDerived = canDerive ? derivableBatchNorms(nodes, plan.runnable, calibratedNames, ranks, initializers) : new Map<string, AffineDerivation>();
  const reluDerived = canDerive ? derivableRelus(nodes, plan.runnable, calibratedNames) : new Map<string, string>();
  const indexOf = new Map(tensors.map((t, k) => [t.name, k]));
  const reluFrom = new Int32Array(tensors.length).fill(-1);
  for (const [y, x] of reluDerived) if (!bnDerived.has(y)) reluFrom[indexOf.get(y)!] = indexOf.get(x)!;
  const bnFrom: (AffineDerivation | undefined)[] = tensors.map((t) => bnDerived.get(t.name));
  const perChannel = new Map<string, number>([...bnDerived.values()].map((d) => [d.y, d.rank]));
  const derivedNames = new Set<string>([...bnDerived.keys(), ...[...reluDerived.keys()].filter((y) => !bnDerived.has(y))]);
  if (derivedNames.size > 0) log('debug', `${reluDerived.size} Relu outputs and ${bnDerived.size} BatchNormalization inputs take their statistics from related tensors`);

  const shapes = new Map([...types].map(([n, i]) => [n, i.shape]));
  const built =
    method === 'fetch'
      ? { model: probeModel(model, plan.runnable, tensors.map((t) => t.name)), layout: new Map<string, ChunkLayout>() }
      : statsModel(model, plan.runnable, tensors, method, { nbins, sampleTarget, derived: derivedNames, perChannel, opset, shapes });
  const calModel = built.model;
  const layoutOf = tensors.map((t) => built.layout.get(t.name));
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

  const hists: AbsHistogram[] = tensors.map(() => emptyHistogram(nbins));
  const amax = new Float64Array(tensors.length);
  const nonFinite = new Set<number>();
  let samples = 0;
  let runs = 0;
  let done = 0;
  const group = Math.max(1, opts.fetchGroup ?? 16);

  const timing = { run: 0, stats: 0, thresholds: 0 };
  const scratch = new Float64Array(nbins);
  const runMax = new Float64Array(tensors.length);
  const runSample: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(tensors.length);
  const runDims: (number[] | undefined)[] = new Array<number[] | undefined>(tensors.length);
  const runCh: ([Float32Array, Float32Array] | undefined)[] = new Array<[Float32Array, Float32Array] | undefined>(tensors.length);

  /** x = (y − b_c)/a_c: extremes per channel, and the sample at the same flat positions. */
  const deriveAffine = (k: number, src: number, d: AffineDerivation): void => {
    const dims = runDims[src];
    const ch = runCh[src];
    if (!dims || !ch) return;
    const [cmax, cmin] = ch;
    const c = cmax.length;
    if (c !== d.a.length) {
      throw new StudioError('E_INTERNAL', `BatchNormalization output "${d.y}" has ${c} channels at run time, ${d.a.length} parameters`, 'Please report this bug.');
    }
    let mx = -Infinity;
    let mn = Infinity;
    for (let i = 0; i < c; i++) {
      if (!(cmax[i]! >= cmin[i]!)) continue; // empty (±∞) or NaN handled below
      const u = (cmax[i]! - d.b[i]!) / d.a[i]!;
      const v = (cmin[i]! - d.b[i]!) / d.a[i]!;
      mx = Math.max(mx, u, v);
      mn = Math.min(mn, u, v);
    }
    let m = Math.max(mx, -mn);
    if (cmax.some((v) => Number.isNaN(v) || v === Infinity)) m = NaN;
    runMax[k] = mx;
    const ys = runSample[src];
    if (!addAmax(k, Math.fround(m)) || !ys) return;
    const size = dims.reduce((a, b) => a * b, 1);
    const inner = dims.slice(2).reduce((a, b) => a * b, 1);
    const step = sampleStep(size, sampleTarget);
    if (ys.length !== Math.ceil(size / step)) {
      throw new StudioError('E_INTERNAL', `sample of "${d.y}" has ${ys.length} values, expected ${Math.ceil(size / step)}`, 'Please report this bug.');
    }
    const xs = new Float32Array(ys.length);
    for (let j = 0; j < ys.length; j++) {
      const ci = Math.floor((j * step) / inner) % c;
      xs[j] = (ys[j]! - d.b[ci]!) / d.a[ci]!;
    }
    runSample[k] = xs;
    hists[k] = addValues(hists[k]!, xs, Math.fround(m), scratch);
  };
  const seen = new Uint8Array(tensors.length);
  const addAmax = (k: number, m: number): boolean => {
    // An empty tensor (e.g. no detections) reduces to max = −∞, min = +∞: nothing to add.
    if (m === -Infinity) return false;
    seen[k] = 1;
    if (!Number.isFinite(m)) {
      nonFinite.add(k);
      return false;
    }
    if (m > amax[k]!) amax[k] = m;
    return true;
  };

  const runOne = async (feed: ort.Tensor): Promise<void> => {
    const feeds = { [input.name]: feed };
    if (method === 'fetch') {
      for (let start = 0; start < tensors.length; start += group) {
        const part = tensors.slice(start, start + group);
        const out = await session.session.run(feeds, part.map((t) => t.name));
        runs++;
        part.forEach((t, j) => {
          const k = start + j;
          const v = out[t.name]!;
          const values = v.type === 'float16' ? Float32Array.from(v.data as Uint16Array, float16ToFloat32) : (v.data as Float32Array);
          if (values.length === 0) return;
          let m = 0;
          for (let q = 0; q < values.length; q++) {
            const a = Math.abs(values[q]!);
            if (a > m) m = a;
            else if (!(a <= m)) {
              m = NaN; // NaN compares false both ways
              break;
            }
          }
          if (addAmax(k, m) && wantHist) hists[k] = mergeHistograms(hists[k]!, histogramOf(values, nbins, m));
          v.dispose();
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
      collect(out);
    } finally {
      timing.stats += performance.now() - ts;
    }
  };

  const collect = (out: ort.InferenceSession.ReturnType): void => {
    if (method === 'exact') {
      const sc = out[STAT_OUTPUTS.scalars]!.data as Float32Array;
      const hs = out[STAT_OUTPUTS.hist]!.data as Int32Array;
      for (let k = 0; k < tensors.length; k++) {
        const m = sc[2 * k]!;
        if (addAmax(k, m)) hists[k] = accumulate(hists[k]!, hs.subarray(k * nbins, (k + 1) * nbins), Math.round(Math.log2(sc[2 * k + 1]!)), m);
      }
      return;
    }
    const st = out[STAT_OUTPUTS.stats]!.data as Float32Array;
    let p = 0;
    // Pass 1: tensors reduced in-graph, in chunk order.
    for (let k = 0; k < tensors.length; k++) {
      runDims[k] = undefined;
      runCh[k] = undefined;
      if (derivedNames.has(tensors[k]!.name)) continue;
      const lay = layoutOf[k]!;
      let m: number;
      let size: number | null = lay.staticDims ? lay.staticDims.reduce((a, b) => a * b, 1) : null;
      if (lay.rank !== null) {
        const rank = lay.rank;
        let dims = lay.staticDims;
        if (!dims) {
          dims = Array.from(st.subarray(p, p + rank));
          p += rank;
          size = dims.reduce((a, b) => a * b, 1);
        }
        const c = dims[1]!;
        const cmax = st.subarray(p, p + c);
        const cmin = st.subarray(p + c, p + 2 * c);
        p += 2 * c;
        runDims[k] = dims;
        runCh[k] = [cmax, cmin];
        let mx = -Infinity;
        let mn = Infinity;
        for (let i = 0; i < c; i++) {
          mx = Math.max(mx, cmax[i]!);
          mn = Math.min(mn, cmin[i]!);
        }
        runMax[k] = mx;
        m = Math.max(mx, -mn);
      } else {
        runMax[k] = st[p]!;
        m = Math.max(st[p]!, -st[p + 1]!);
        p += 2;
      }
      if (method === 'sampled') {
        let n: number;
        if (size !== null) n = Math.ceil(size / (lay.step ?? sampleStep(size, sampleTarget)));
        else {
          n = st[p]!;
          p += 1;
        }
        runSample[k] = st.subarray(p, p + n);
        p += n;
      } else runSample[k] = undefined;
      if (addAmax(k, m) && runSample[k]) hists[k] = addValues(hists[k]!, runSample[k]!, m, scratch);
    }
    // Pass 2: derived tensors, in graph order (their sources are reduced or derived earlier).
    for (let k = 0; k < tensors.length; k++) {
      const bn = bnFrom[k];
      if (bn) {
        deriveAffine(k, indexOf.get(bn.y)!, bn);
        continue;
      }
      const from = reluFrom[k]!;
      if (from < 0) continue;
      // Relu: max(y) = max(max(x), 0) and sample(y) = Relu(sample(x)), same positions.
      const mx = Math.max(runMax[from]!, 0);
      runMax[k] = mx;
      const xs = runSample[from];
      runSample[k] = xs;
      if (addAmax(k, mx) && xs) hists[k] = addValues(hists[k]!, xs, mx, scratch, true);
    }
    if (p !== st.length) throw new StudioError('E_INTERNAL', `calibration statistics have ${st.length} values, expected ${p}`, 'Please report this bug.');
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
  tensors.forEach((t, k) => {
    if (nonFinite.has(k)) {
      uncalibrated.push({ name: t.name, reason: 'NaN or infinite values in at least one batch' });
      return;
    }
    if (!seen[k]) {
      uncalibrated.push({ name: t.name, reason: 'empty in every calibration batch (no values to measure)' });
      return;
    }
    const m = amax[k]!;
    const r = tensorThresholds(wantHist ? hists[k]! : null, m, opts.algorithm, opts.percentile ?? 99.99, opts.alternatives ?? true);
    const scale = scaleForAmax(r.threshold);
    if (scale === null) {
      uncalibrated.push({ name: t.name, reason: `threshold ${r.threshold} is not a finite non-negative number` });
      return;
    }
    // An all-zero tensor gets ZERO_TENSOR_AMAX (never a 0 scale): threshold and scale agree.
    const threshold = r.threshold <= MIN_AMAX ? scale * 127 : r.threshold;
    const s: TensorStats = { name: t.name, amax: m, threshold, scale, clipped: r.clipped };
    if (r.histogram) s.histogram = r.histogram;
    if (r.alternatives) s.alternatives = r.alternatives;
    if (r.localSnr) s.localSnr = r.localSnr;
    stats.push(s);
  });
  timing.thresholds = performance.now() - tt;
  const seconds = (performance.now() - t0) / 1000;
  log('debug', `calibration time: setup ${setupSeconds.toFixed(2)} s, inference ${(timing.run / 1000).toFixed(2)} s, statistics ${(timing.stats / 1000).toFixed(2)} s, thresholds ${(timing.thresholds / 1000).toFixed(2)} s`);
  log('info', `calibrated ${stats.length} tensors from ${samples} samples in ${seconds.toFixed(2)} s (${runs} runs, ${method} statistics, ${session.provider})`);
  const result: CalibrationResult = { tensors: stats, uncalibrated, provider: session.provider, samples, runs, seconds, setupSeconds, method, sampleTarget: method === 'sampled' ? sampleTarget : null, opset };
  if (session.notice !== undefined) result.notice = session.notice;
  return result;
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

