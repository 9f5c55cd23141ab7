/**
 * The INT8 fidelity check: the FP32 model vs its Q/DQ (fake-quantized) twin on held-out images,
 * per output and, for Mask R-CNN-shaped outputs, per detection and mask; then a sensitivity
 * ranking of the quantized activations and the ones to keep in FP16. See docs/FORMATS.md.
 */
import ort from 'onnxruntime-node';
import type { FidelityReport } from '../../../shared/report.js';
import { StudioError } from '../../../shared/errors.js';
import type { Batch } from '../data/types.js';
import { createSession, runtimeError, type LogFn, type ProviderChoice, type StudioSession } from '../runtime/index.js';
import { decodeModel, valueInfoTensor } from '../onnx/index.js';
import { AgreementAccumulator, fakeQuantError } from './metrics.js';
import { alignRows, DetectionAccumulator, findDetectionOutputs, permuteRows } from './detections.js';
import { analyseQdq, keepQuantizers, withExtraOutputs, type QuantizedActivation } from './qdq-graph.js';
import { cancelledError } from '../cancel.js';
import type { StagePlan } from '../progress-plan.js';

export interface FidelityOptions {
  /** The FP32 ONNX model. */
  model: Uint8Array;
  /** Its Q/DQ model (buildQdqModel). */
  qdq: Uint8Array;
  /** Calibrated thresholds by tensor; defaults to the Q/DQ model's own scales × 127. */
  amax?: ReadonlyMap<string, number>;
  inputName?: string;
  /** Held-out images, preprocessed like calibration. */
  batches: AsyncIterable<Batch>;
  /** For the report: where the images came from. */
  source?: string;
  /** Stop after this many images (default: all the batches hold). */
  maxImages?: number;
  sensitivity: boolean;
  /** How many tensors to suggest for FP16 at most. */
  suggest: number;
  provider: ProviderChoice;
  signal?: AbortSignal;
  log?: LogFn;
  /**
   * The stage's plan (progress-plan.ts): the check sets and measures its phases there — 'open'
   * (sessions), 'images' (FP32 + Q/DQ run per image), 'prescreen', 'solo' (capped by the budget) —
   * and calls onProgress after each unit.
   */
  plan?: StagePlan;
  onProgress?(): void;
  /** Return every held-out image with its FP32 outputs (`held`, for the INT8 search's evaluator). */
  keepImages?: boolean;
  /** Images used per sensitivity run (default 2). */
  sensitivityImages?: number;
  /** Tensors evaluated alone after the pre-screen (default 12). */
  sensitivityCandidates?: number;
  /** Tensors fetched by the first pre-screen run (default 8; later runs adapt to ≈ 256 MiB of activations). */
  prescreenGroup?: number;
  /** Detection score threshold (default 0.5). */
  minScore?: number;
  threads?: number;
  /**
   * Each quantized activation's own fake-quant SNR (dB) at its threshold, already known (from the
   * calibration histograms): replaces the pre-screen runs (one FP32 run per group of activations).
   */
  prescreenScores?: ReadonlyMap<string, number>;
  /** Stop the solo runs when the check would pass this many seconds (measured from `startedAt`). */
  budgetSeconds?: number;
  /** performance.now() when the check began (default: when runFidelity was called). */
  startedAt?: number;
  /** Held-out images with FP32 outputs already computed (the INT8 search's evaluator): `batches` is then ignored. */
  reference?: { images: readonly { feeds: Record<string, ort.Tensor>; outputs: Map<string, { data: Float32Array; dims: number[] }> }[] };
}

/** The report plus what the contract does not carry yet (see docs/FORMATS.md). */
export interface FidelityResult extends FidelityReport {
  /** ONNX node names to pin to FP16: producers and quantized consumers of `suggestedFp16`. */
  suggestedLayers: string[];
  /** Quantized activations in the Q/DQ model, how many the pre-screen scored, how many ran alone. */
  sensitivityCandidates: number;
  sensitivityEvaluated: number;
  /** Every quantized activation, most damaging first: the solo-evaluated ones, then the rest by their own fake-quant error. */
  ranking: string[];
  /** Seconds the Q/DQ pass over the held-out images took (session included, FP32 runs not): what one search evaluation costs. */
  qdqSeconds: number;
  /** With keepImages: the held-out images with their FP32 outputs, and the seconds their FP32 runs took. */
  held?: Image[];
  fp32Seconds?: number;
}

/** Suggest a tensor only if quantizing it alone costs the output more than this (dB) … */
export const SUGGEST_BELOW_DB = 30;
/** … and it alone causes at least ~10 % of the full INT8 model's error power (solo SNR < full + 10 dB). */
export const SUGGEST_SHARE_DB = 10;

/** Activation bytes fetched per pre-screen run (bounds the memory of that run). */
const PRESCREEN_BYTES = 256 * 2 ** 20;

export interface Image {
  feeds: Record<string, ort.Tensor>;
  outputs: Map<string, { data: Float32Array; dims: number[] }>;
}

const cancelled = (): StudioError => cancelledError('The fidelity check');

export async function runFidelity(o: FidelityOptions): Promise<FidelityResult> {
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const check = () => {
    if (o.signal?.aborted) throw cancelled();
  };
  const decoded = decodeModel(o.model);
  const g = decoded.graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (g.input ?? []).filter((i) => i.name && !inits.has(i.name));
  const input = (o.inputName ? inputs.find((i) => i.name === o.inputName) : inputs[0]) ?? inputs[0];
  if (!input?.name) throw new StudioError('E_ONNX_INVALID', 'The model has no graph input to feed', 'Export the model with its image input.');
  const inputName = input.name;
  const inputRank = valueInfoTensor(input)?.shape?.length;
  const d0 = valueInfoTensor(input)?.shape?.[0];
  const modelOutputs = (g.output ?? []).map((v) => v.name ?? '').filter((n) => n !== '');

  const qg = analyseQdq(o.qdq);
  // A Q/DQ pair nobody reads (e.g. one operand of an Add whose other operand stayed float) changes nothing.
  const acts = qg.activations.filter((a) => a.consumers.length > 0).map((a) => ({ ...a, amax: o.amax?.get(a.name) ?? a.amax }));
  const doSensitivity = o.sensitivity && acts.length > 0;
  // The FP32 reference also serves the pre-screen: the quantized activations become extra outputs.
  const given = o.prescreenScores;
  const havePrescreen = given !== undefined && acts.every((a) => given.has(a.name));
  const ref = doSensitivity && !havePrescreen ? withExtraOutputs(o.model, acts.map((a) => a.name)) : { model: o.model, added: [] as string[] };

  const open = async (bytes: Uint8Array, optimization: 'all' | 'disabled', what: string): Promise<StudioSession> => {
    try {
      return await createSession(bytes, { provider: o.provider, optimization, log, ...(o.threads ? { threads: o.threads } : {}) });
    } catch (e) {
      throw runtimeError(e, `ONNX Runtime could not load the ${what} for the fidelity check`);
    }
  };
  o.plan?.set('open', { units: 1 }).begin('open');
  const fp32 = o.reference && (!doSensitivity || havePrescreen) ? undefined : await open(ref.model, 'all', 'FP32 model');
  // Q/DQ must stay float fake-quant (ORT_DISABLE_ALL): with optimizations ORT fuses
  // DQ→Conv→Q into integer kernels whose arithmetic is ORT's, not TensorRT's.
  let qdq: StudioSession | undefined;
  try {
    const tq = performance.now();
    qdq = await open(o.qdq, 'disabled', 'Q/DQ model');
    const qdqOpenSeconds = (performance.now() - tq) / 1000;
    const perOutput = new Map<string, AgreementAccumulator>();
    const shapes: { name: string; dims: readonly number[] }[] = [];
    const dets = new DetectionAccumulator(o.minScore !== undefined ? { minScore: o.minScore } : {});
    let detOut: { detections?: string; masks?: string } | undefined;
    const keep: Image[] = [];
    const keepN = Math.max(1, o.sensitivityImages ?? 2);
    const maxImages = o.maxImages ?? Infinity;
    const candidatesWanted = Math.max(0, o.sensitivityCandidates ?? 12);
    const prescreenGroup = Math.max(1, o.prescreenGroup ?? 8);
    const start = o.startedAt ?? t0;
    const budgetEnd = o.budgetSeconds !== undefined ? start + o.budgetSeconds * 1000 : undefined;
    const plan = o.plan;
    const soloPlanned = doSensitivity ? Math.min(candidatesWanted, acts.length) : 0;
    const prescreenUnits = doSensitivity && !havePrescreen ? Math.ceil(ref.added.length / prescreenGroup) : 0;
    const imagesPlanned = o.reference ? Math.min(maxImages, o.reference.images.length) : maxImages;
    // The plan: sessions open (measured), one unit per image, then the pre-screen groups and the solo runs (costs from the image runs, solo capped by the budget).
    if (plan) {
      // The first images wait for the sessions' first runs and the loader's start (it prefetches 2).
      plan.set('images', { units: Number.isFinite(imagesPlanned) ? imagesPlanned : 0, warmup: 2 });
      if (prescreenUnits > 0) plan.set('prescreen', { units: prescreenUnits });
      // The first solo run pays extra (the check's first session of a new graph, its first runs): the prior stands until the second.
      if (soloPlanned > 0) plan.set('solo', { units: soloPlanned, warmup: 1, ...(budgetEnd !== undefined ? { capAt: budgetEnd } : {}) });
    }
    let sensitivity: FidelityReport['sensitivity'] = [];
    let evaluated = 0;
    let soloSeconds = 0;
    /** One tensor quantized alone, on the kept images: how much it costs the outputs. */
    const runSolo = async (name: string): Promise<void> => {
      const ts = performance.now();
      const bytes = keepQuantizers(qg.model, new Set([name]));
      const solo = await open(bytes, 'disabled', `Q/DQ model with only '${name}' quantized`);
      try {
        const accs = new Map<string, AgreementAccumulator>();
        for (const im of keep) {
          const r = await solo.session.run(im.feeds, [...im.outputs.keys()]);
          const ys = withScoreView(alignDetections(im.outputs, floatOutputs(r, [...im.outputs.keys()]), detOut ?? {}), detOut ?? {});
          for (const [name, x] of withScoreView(im.outputs, detOut ?? {})) {
            const y = ys.get(name);
            if (!y) continue;
            const acc = accs.get(name) ?? new AgreementAccumulator();
            accs.set(name, acc);
            acc.addAny(x.data, y.data);
          }
        }
        const w = worst([...accs.values()].map((acc) => acc.result()));
        sensitivity.push({ name: name, snrDb: w.snrDb, cosine: w.cosine });
      } finally {
        await solo.release();
      }
      evaluated++;
      soloSeconds += (performance.now() - ts) / 1000;
    };
    const tick = (phase: string) => {
      plan?.unit(phase);
      o.onProgress?.();
    };
    let images = 0;
    let fp32Seconds = 0;
    let qdqRunSeconds = 0;
    const held: Image[] = [];
    let firstQdqRun = 0;
    let firstFp32Run = 0;
    /**
     * Priors from the image runs past the first (which pays the sessions' warm-up): a pre-screen
     * group ≈ one FP32 run, a solo run ≈ a Q/DQ session + its images' Q/DQ runs (the same kind of
     * work: a session of the Q/DQ graph with one quantizer left, run on 2 images).
     */
    const steady = (sum: number, first: number) => (images > 1 ? (sum - first) / (images - 1) : sum);
    /** What a solo run costs: as measured, else a Q/DQ session + its images' Q/DQ runs. */
    // A solo run uses every kept image: as many as the images planned allow, not only those seen so far.
    const soloImages = () => Math.min(keepN, Math.max(1, images, Number.isFinite(imagesPlanned) ? imagesPlanned : 0));
    const soloCost = () => (evaluated > 0 ? soloSeconds / evaluated : qdqOpenSeconds + soloImages() * steady(qdqRunSeconds, firstQdqRun));
    /** Bounded: a solo run starts only if it is expected to end within the budget (the pre-screen order stands for the rest). */
    const soloFits = () => budgetEnd === undefined || performance.now() + soloCost() * 1000 <= budgetEnd;
    const priors = () => {
      if (!plan || images === 0) return;
      if (prescreenUnits > 0 && fp32Seconds > 0) plan.set('prescreen', { units: prescreenUnits, unitSeconds: steady(fp32Seconds, firstFp32Run) });
      if (soloPlanned > 0) plan.set('solo', { units: soloPlanned, unitSeconds: soloCost() });
    };

    const source = async function* (): AsyncGenerator<{ feeds: Record<string, ort.Tensor>; outs?: Outputs }> {
      if (o.reference) {
        for (const im of o.reference.images) yield { feeds: im.feeds, outs: im.outputs };
        return;
      }
      for await (const batch of o.batches) for (const feed of splitBatch(batch, inputRank, d0)) yield { feeds: { [inputName]: feed } };
    };
    if (plan) {
      plan.unit('open');
      o.onProgress?.();
      plan.begin('images');
    }
    for await (const item of source()) {
      {
        if (images >= maxImages) break;
        check();
        const feeds = item.feeds;
        const tf = performance.now();
        const outs =
          item.outs ??
          floatOutputs(
            await fp32!.session.run(feeds, modelOutputs).catch((e: unknown) => {
              throw runtimeError(e, 'ONNX Runtime failed running the FP32 model');
            }),
            modelOutputs,
          );
        const tqr = performance.now();
        if (!item.outs) fp32Seconds += (tqr - tf) / 1000;
        const b = await qdq.session.run(feeds, modelOutputs).catch((e: unknown) => {
          throw runtimeError(e, 'ONNX Runtime failed running the Q/DQ model');
        });
        const qouts = floatOutputs(b, modelOutputs);
        if (images === 0) for (const [name, x] of outs) shapes.push({ name, dims: x.dims });
        detOut ??= findDetectionOutputs(shapes);
        if (detOut.detections) {
          const dx = outs.get(detOut.detections);
          const dy = qouts.get(detOut.detections);
          const mx = detOut.masks ? outs.get(detOut.masks) : undefined;
          const my = detOut.masks ? qouts.get(detOut.masks) : undefined;
          const masks = mx && my ? { ref: mx, q: my } : undefined;
          if (dx && dy) for (let k = 0; k < (dx.dims.length === 3 ? dx.dims[0]! : 1); k++) dets.add(dx, dy, k, masks);
        }
        const aligned = withScoreView(alignDetections(outs, qouts, detOut), detOut);
        for (const [name, x] of withScoreView(outs, detOut)) {
          const y = aligned.get(name);
          if (!y) continue;
          const acc = perOutput.get(name) ?? new AgreementAccumulator();
          perOutput.set(name, acc);
          acc.addAny(x.data, y.data);
        }
        if (keep.length < keepN) keep.push({ feeds, outputs: outs });
        if (o.keepImages) held.push({ feeds, outputs: outs });
        images++;
        qdqRunSeconds += (performance.now() - tqr) / 1000;
        if (images === 1) {
          firstQdqRun = qdqRunSeconds;
          firstFp32Run = fp32Seconds;
        }
        priors();
        tick('images');
      }
    }
    await qdq.release();
    const qdqSeconds = qdqOpenSeconds + qdqRunSeconds;

    const outputs = [...perOutput].map(([name, acc]) => ({ name, ...acc.result() }));
    const full = worst(outputs);
    let screenedOrder: string[] = [];
    if (doSensitivity && images > 0 && (fp32 || havePrescreen)) {
      check();
      const screened =
        given && havePrescreen
          ? acts.map((a, order) => ({ name: a.name, snrDb: given.get(a.name)!, clipped: 0, order })).sort((p, q) => p.snrDb - q.snrDb || p.order - q.order)
          : await (async () => {
              plan?.begin('prescreen');
              return prescreen(fp32!, acts, ref.added, keep[0]!, prescreenGroup, check, () => tick('prescreen'));
            })();
      log('debug', `fidelity pre-screen (fake-quant error of each activation alone, 1 image): worst ${screened.slice(0, 5).map((s) => `${s.name} ${s.snrDb.toFixed(1)} dB`).join(', ')}`);
      screenedOrder = screened.map((x) => x.name);
      const chosen = screened.slice(0, candidatesWanted);
      plan?.set('solo', { units: chosen.length });
      plan?.begin('solo');
      for (const c of chosen) {
        check();
        // Bounded: skip the remaining solo runs rather than run past the budget (the pre-screen order stands for them).
        if (!soloFits()) {
          log('debug', `fidelity: ${chosen.length - evaluated} solo run(s) skipped to stay within ${o.budgetSeconds?.toFixed(1) ?? '?'} s`);
          break;
        }
        await runSolo(c.name);
        tick('solo');
      }
      sensitivity = sensitivity.sort((p, q) => p.snrDb - q.snrDb || p.cosine - q.cosine || (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
    }
    // What the plan still counted (no sensitivity runs, fewer images than planned) is over.
    for (const id of ['images', 'prescreen', 'solo']) if (plan?.has(id)) plan.end(id);
    const suggestedFp16 = sensitivity
      .filter((s) => s.snrDb < SUGGEST_BELOW_DB && s.snrDb < full.snrDb + SUGGEST_SHARE_DB)
      .slice(0, o.suggest)
      .map((s) => s.name);
    const byName = new Map(acts.map((a) => [a.name, a]));
    const suggestedLayers = [...new Set(suggestedFp16.flatMap((n) => layersOf(byName.get(n))))];
    const det = detOut?.detections ? dets.result() : undefined;
    return {
      images,
      source: o.source ?? 'batches',
      outputs,
      ...(det ? { detections: det.detections } : {}),
      ...(det && detOut?.masks ? { masks: det.masks } : {}),
      sensitivity,
      suggestedFp16,
      suggestedLayers,
      sensitivityCandidates: acts.length,
      sensitivityEvaluated: evaluated,
      ranking: [...new Set([...sensitivity.map((x) => x.name), ...screenedOrder])],
      qdqSeconds,
      ...(o.keepImages ? { held, fp32Seconds } : {}),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await qdq?.release();
    await fp32?.release();
  }
}

/** The producer and quantized consumers of a tensor: the TensorRT layers (ONNX node names) to pin. */
export function layersOf(a: QuantizedActivation | undefined): string[] {
  if (!a) return [];
  return [...(a.producer ? [a.producer] : []), ...a.consumers];
}

/** The worst SNR and cosine over the outputs that have a signal in FP32 (all of them when none has). */
export function worst(all: readonly { snrDb: number; cosine: number; zeroReference?: boolean }[]): { snrDb: number; cosine: number } {
  const live = all.filter((r) => !r.zeroReference);
  const rs = live.length ? live : all;
  if (rs.length === 0) return { snrDb: 0, cosine: 0 };
  return { snrDb: Math.min(...rs.map((r) => r.snrDb)), cosine: Math.min(...rs.map((r) => r.cosine)) };
}

export type Outputs = Map<string, { data: Float32Array; dims: number[] }>;

export function floatOutputs(r: ort.InferenceSession.ReturnType, names: readonly string[]): Outputs {
  const m: Outputs = new Map();
  for (const n of names) {
    const t = r[n];
    if (t && t.type === 'float32') m.set(n, { data: t.data as Float32Array, dims: [...t.dims] });
  }
  return m;
}

/** Suffix of the pseudo-output holding the detection scores alone. */
export const SCORES_VIEW = ':scores';

/**
 * Adds `<detections>:scores`, the score column alone: in the whole [N, K, 6] tensor pixel-sized
 * box coordinates swamp the 0–1 scores, so a collapse of the scores (e.g. a clipped
 * classifier input) would hardly move that output's SNR.
 */
export function withScoreView(outs: Outputs, det: { detections?: string }): Outputs {
  const d = det.detections ? outs.get(det.detections) : undefined;
  if (!d || !det.detections || d.dims[d.dims.length - 1] !== 6) return outs;
  const scores = new Float32Array(d.data.length / 6);
  for (let i = 0; i < scores.length; i++) scores[i] = d.data[i * 6 + 5]!;
  return new Map([...outs, [det.detections + SCORES_VIEW, { data: scores, dims: [...d.dims.slice(0, -1)] }]]);
}

/** The Q/DQ outputs with detection (and mask) rows lined up with the FP32 rows (alignRows). */
export function alignDetections(ref: Outputs, q: Outputs, det: { detections?: string; masks?: string }): Outputs {
  if (!det.detections) return q;
  const dx = ref.get(det.detections);
  const dy = q.get(det.detections);
  if (!dx || !dy || dx.dims.length !== 3 || dx.data.length !== dy.data.length) return q;
  const out: Outputs = new Map(q);
  const my = det.masks ? q.get(det.masks) : undefined;
  let d: Float32Array = Float32Array.from(dy.data);
  let m: Float32Array | undefined = my && my.dims[1] === dy.dims[1] ? Float32Array.from(my.data) : undefined;
  for (let n = 0; n < dx.dims[0]!; n++) {
    const perm = alignRows(dx.data, dy.data, dx.dims, n);
    d = permuteRows(dy.data, dy.dims, n, perm, d);
    if (m && my) m = permuteRows(my.data, my.dims, n, perm, m);
  }
  out.set(det.detections, { data: d, dims: dy.dims });
  if (m && my && det.masks) out.set(det.masks, { data: m, dims: my.dims });
  return out;
}

/**
 * Cheap ranking before the solo runs: each activation's own fake-quant error (SNR of
 * Q→DQ(x) vs x at its calibrated amax, computed in JS) on one image. Clipping from a too-small
 * range and coarse steps from a too-large one both show up here.
 */
async function prescreen(
  fp32: StudioSession,
  acts: readonly QuantizedActivation[],
  added: readonly string[],
  image: Image,
  group: number,
  check: () => void,
  tick: () => void,
): Promise<{ name: string; snrDb: number; clipped: number }[]> {
  const inputName = Object.keys(image.feeds)[0]!;
  const fed = image.feeds[inputName]!;
  const scores: { name: string; snrDb: number; clipped: number; order: number }[] = [];
  const score = (a: QuantizedActivation, order: number, data: Float32Array) => {
    const e = fakeQuantError(data, a.amax);
    scores.push({ name: a.name, ...e, order });
  };
  const index = new Map(acts.map((a, i) => [a.name, i]));
  for (const a of acts) {
    if (a.name === inputName && fed.type === 'float32') score(a, index.get(a.name)!, fed.data as Float32Array);
    const out = image.outputs.get(a.name);
    if (out) score(a, index.get(a.name)!, out.data);
  }
  // Groups start at `group` tensors and adapt to the sizes seen so a group holds ≈ PRESCREEN_BYTES.
  let size = group;
  for (let i = 0; i < added.length; ) {
    check();
    const names = added.slice(i, i + size);
    i += names.length;
    const r = await fp32.session.run(image.feeds, names);
    let bytes = 0;
    for (const n of names) {
      const t = r[n];
      const a = acts[index.get(n)!]!;
      if (t && t.type === 'float32') {
        score(a, index.get(n)!, t.data as Float32Array);
        bytes += (t.data as Float32Array).byteLength;
      }
    }
    size = Math.max(1, Math.min(group * 4, Math.floor(PRESCREEN_BYTES / Math.max(1, bytes / names.length))));
    tick();
  }
  return scores.sort((p, q) => p.snrDb - q.snrDb || p.order - q.order);
}

/** One ort.Tensor per run: the whole batch when the model takes it, else one sample at a time. */
export function splitBatch(batch: Batch, rank: number | undefined, d0: unknown): ort.Tensor[] {
  const dims = batch.dims;
  const sampleDims = dims.slice(1);
  const size = sampleDims.reduce((a, b) => a * b, 1);
  const perSample = (withBatch: boolean) =>
    Array.from({ length: batch.count }, (_, k) => new ort.Tensor('float32', batch.data.subarray(k * size, (k + 1) * size), withBatch ? [1, ...sampleDims] : sampleDims));
  if (rank === dims.length - 1) return perSample(false);
  // One image per run keeps detection outputs per image and works for fixed-batch-1 models.
  if (batch.count === 1 && (d0 === undefined || d0 === 1 || typeof d0 !== 'number')) return [new ort.Tensor('float32', batch.data, dims)];
  return perSample(true);
}

