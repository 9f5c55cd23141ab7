/**
 * The INT8 search: starting from the calibrated thresholds, find a mix that meets the INT8
 * target on held-out images (never calibration images), using only the statistics already
 * collected (no second calibration pass). See docs/FORMATS.md, "INT8 search".
 *
 * 1. Per-tensor algorithm: each tensor's entropy, percentile and min-max thresholds (computed
 *    from the same histogram) are scored by the tensor's own fake-quant SNR on a held-out image;
 *    the "local best" mix and the uniform alternatives are each evaluated end to end, and the
 *    mix with the best target margin is kept.
 * 2. Float fallback: tensors ranked most sensitive first are kept out of INT8, k = 1, 2, 4, …
 *    (galloping) until the target is met, then the smallest passing k is found by bisection.
 *
 * Bounded: it stops before an evaluation that would exceed `budgetSeconds` (2 × the calibration
 * time) and reports the best mix found so far; progress and ETA per evaluated image; cancellable.
 */
import type ort from 'onnxruntime-node';
import type { CalibrationAlgorithm } from '../../../shared/request.js';
import type { FidelityReport, FloatTensor, Int8SearchReport, Int8SearchStep } from '../../../shared/report.js';
import { checkTarget, targetScore, type Int8Target, type TargetCheck } from '../../../shared/int8-target.js';
import { runtimeError, createSession, type LogFn, type ProviderChoice, type StudioSession } from '../runtime/index.js';
import { cancelledError } from '../cancel.js';
import { StagePlan } from '../progress-plan.js';
import { AgreementAccumulator, fakeQuantError } from './metrics.js';
import { DetectionAccumulator, findDetectionOutputs } from './detections.js';
import { withExtraOutputs, type QuantizedActivation } from './qdq-graph.js';
import { alignDetections, floatOutputs, withScoreView, type Outputs } from './fidelity.js';

export interface HeldImage {
  feeds: Record<string, ort.Tensor>;
  outputs: Outputs;
}

/** What one FP32-vs-INT8 comparison measures (the report's figures). */
export interface Measured {
  outputs: FidelityReport['outputs'];
  detections?: NonNullable<FidelityReport['detections']>;
  masks?: NonNullable<FidelityReport['masks']>;
}

const ALGORITHMS: readonly CalibrationAlgorithm[] = ['entropy', 'percentile', 'minmax'];

/**
 * Held-out images with their FP32 outputs (run once), and the comparison of any Q/DQ model
 * against them.
 */
export class Int8Evaluator {
  private constructor(
    readonly model: Uint8Array,
    readonly inputName: string,
    readonly images: HeldImage[],
    readonly detOut: { detections?: string; masks?: string },
    private readonly provider: ProviderChoice,
    private readonly log: LogFn,
    private readonly threads: number | undefined,
    /** Seconds the FP32 runs took (per image: fp32Seconds / images.length). */
    readonly fp32Seconds: number,
  ) {}

  /** From images whose FP32 outputs were already computed (the fidelity check's pass, runFidelity keepImages). */
  static fromImages(o: { model: Uint8Array; inputName: string; images: HeldImage[]; provider: ProviderChoice; log?: LogFn; threads?: number; fp32Seconds: number }): Int8Evaluator {
    const shapes = o.images[0] ? [...o.images[0].outputs].map(([name, x]) => ({ name, dims: x.dims })) : [];
    return new Int8Evaluator(o.model, o.inputName, o.images, findDetectionOutputs(shapes), o.provider, o.log ?? (() => undefined), o.threads, o.fp32Seconds);
  }

  /** Run a Q/DQ model on every held-out image and compare with the FP32 outputs. */
  async evaluate(qdq: Uint8Array, o: { signal?: AbortSignal; onImage?: () => void } = {}): Promise<Measured> {
    const session = await open(qdq, 'disabled', this.provider, this.log, this.threads, 'Q/DQ model');
    try {
      const perOutput = new Map<string, AgreementAccumulator>();
      const dets = new DetectionAccumulator();
      const det = this.detOut;
      for (const im of this.images) {
        if (o.signal?.aborted) throw cancelledError('The INT8 search');
        const names = [...im.outputs.keys()];
        const r = await session.session.run(im.feeds, names).catch((e: unknown) => {
          throw runtimeError(e, 'ONNX Runtime failed running the Q/DQ model');
        });
        const q = floatOutputs(r, names);
        compareInto(im.outputs, q, det, perOutput, dets);
        o.onImage?.();
      }
      const m: Measured = { outputs: [...perOutput].map(([name, acc]) => ({ name, ...acc.result() })) };
      if (det.detections) {
        const d = dets.result();
        m.detections = d.detections;
        if (det.masks) m.masks = d.masks;
      }
      return m;
    } finally {
      await session.release();
    }
  }

  /**
   * Each activation's own fake-quant SNR at each candidate threshold, on the first held-out
   * image (the FP32 model with the activations as extra outputs, fetched in groups).
   */
  async localSnr(candidates: ReadonlyMap<string, readonly number[]>, o: { signal?: AbortSignal; group?: number } = {}): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    const im = this.images[0];
    if (!im || candidates.size === 0) return out;
    const score = (name: string, data: Float32Array) => out.set(name, candidates.get(name)!.map((a) => fakeQuantError(data, a).snrDb));
    const fed = im.feeds[this.inputName];
    if (fed && fed.type === 'float32' && candidates.has(this.inputName)) score(this.inputName, fed.data as Float32Array);
    for (const [n, x] of im.outputs) if (candidates.has(n)) score(n, x.data);
    const ref = withExtraOutputs(this.model, [...candidates.keys()].filter((n) => !out.has(n)));
    if (ref.added.length === 0) return out;
    const s = await open(ref.model, 'all', this.provider, this.log, this.threads, 'FP32 model with activations as outputs');
    try {
      const group = Math.max(1, o.group ?? 16);
      for (let i = 0; i < ref.added.length; i += group) {
        if (o.signal?.aborted) throw cancelledError('The INT8 search');
        const names = ref.added.slice(i, i + group);
        const r = await s.session.run(im.feeds, names);
        for (const n of names) {
          const t = r[n];
          if (t && t.type === 'float32') score(n, t.data as Float32Array);
        }
      }
    } finally {
      await s.release();
    }
    return out;
  }
}

async function open(bytes: Uint8Array, optimization: 'all' | 'disabled', provider: ProviderChoice, log: LogFn, threads: number | undefined, what: string): Promise<StudioSession> {
  try {
    return await createSession(bytes, { provider, optimization, log, ...(threads ? { threads } : {}) });
  } catch (e) {
    throw runtimeError(e, `ONNX Runtime could not load the ${what} for the INT8 check`);
  }
}

/** Add one image's comparison (rows aligned for detections) to the accumulators. */
export function compareInto(ref: Outputs, q: Outputs, det: { detections?: string; masks?: string }, perOutput: Map<string, AgreementAccumulator>, dets: DetectionAccumulator): void {
  if (det.detections) {
    const dx = ref.get(det.detections);
    const dy = q.get(det.detections);
    const mx = det.masks ? ref.get(det.masks) : undefined;
    const my = det.masks ? q.get(det.masks) : undefined;
    if (dx && dy) for (let k = 0; k < (dx.dims.length === 3 ? dx.dims[0]! : 1); k++) dets.add(dx, dy, k, mx && my ? { ref: mx, q: my } : undefined);
  }
  const aligned = withScoreView(alignDetections(ref, q, det), det);
  for (const [name, x] of withScoreView(ref, det)) {
    const y = aligned.get(name);
    if (!y) continue;
    const acc = perOutput.get(name) ?? new AgreementAccumulator();
    perOutput.set(name, acc);
    acc.addAny(x.data, y.data);
  }
}

export interface SearchOptions {
  evaluator: Int8Evaluator;
  /** Q/DQ bytes for a threshold map with some tensors kept in float. */
  buildQdq: (amax: ReadonlyMap<string, number>, float: ReadonlySet<string>) => Uint8Array;
  /** Thresholds of the requested algorithm, per calibrated tensor. */
  base: ReadonlyMap<string, number>;
  algorithm: CalibrationAlgorithm;
  /** Every algorithm's threshold per tensor (absent: the cache was reused or only min/max was collected). */
  alternatives?: ReadonlyMap<string, Record<CalibrationAlgorithm, number>>;
  /** The check of the base mix (already run). */
  baseMeasured: Measured;
  /** The quantized activations of the base Q/DQ model (names, producers, consumers). */
  activations: readonly QuantizedActivation[];
  /** Tensors measured most damaging when quantized alone, worst first (the fidelity ranking). */
  ranking: readonly string[];
  /** Of those, the ones measured end to end (quantized alone); they lead the fallback order. */
  solo?: readonly string[];
  /** Each tensor's own fake-quant SNR at each algorithm's threshold, from its histogram: no runs needed. */
  localSnr?: ReadonlyMap<string, Record<CalibrationAlgorithm, number>>;
  target: Int8Target;
  budgetSeconds: number;
  /** What one evaluation is expected to cost before any ran (the check's Q/DQ pass): the bound holds from the first one. */
  evalSecondsHint?: number;
  signal?: AbortSignal;
  log?: LogFn;
  /**
   * The stage's plan (progress-plan.ts, clock performance.now()): the search plans its phases there
   * — 'local' (the FP32 run for the tensors' own errors, when not given) and 'evals' (evaluations
   * of the cost measured by the check, capped by the bound) — and calls onProgress after each unit.
   */
  plan?: StagePlan;
  onProgress?: () => void;
}

export interface SearchResult {
  /** Final thresholds (fallback tensors removed). */
  amax: Map<string, number>;
  float: FloatTensor[];
  measured: Measured;
  checks: TargetCheck[];
  report: Int8SearchReport;
}

/** The search (module comment). Never returns a mix worse than the base on the target score. */
export async function runInt8Search(o: SearchOptions): Promise<SearchResult> {
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const ev = o.evaluator;
  const steps: Int8SearchStep[] = [];
  let evaluations = 0;
  let evalSeconds = 0;
  const quantized = o.activations.map((a) => a.name);
  const elapsed = () => (performance.now() - t0) / 1000;
  // The plan (in seconds, for progress and ETA): the evaluations of the current phase plus the
  // fallback's first step, each at the cost the check measured (then as measured here), only as
  // many as fit in the bound; re-planned as steps miss or pass.
  const plan = o.plan ?? new StagePlan();
  const baseMet = checkTarget(o.baseMeasured, o.target).every((c) => c.ok);
  const needLocal = !!o.alternatives && o.alternatives.size > 0 && !(o.localSnr && [...o.alternatives.keys()].every((n) => o.localSnr!.has(n)));
  const evalPrior = o.evalSecondsHint !== undefined && o.evalSecondsHint > 0 ? { unitSeconds: o.evalSecondsHint } : {};
  const planEvals = (units: number) => plan.set('evals', { units, ...evalPrior, capAt: t0 + o.budgetSeconds * 1000 });
  if (needLocal && !baseMet) plan.set('local', { units: 1, ...(ev.fp32Seconds > 0 && ev.images.length > 0 ? { unitSeconds: ev.fp32Seconds / ev.images.length } : {}) });
  planEvals(baseMet ? 0 : (o.alternatives && o.alternatives.size > 0 ? ALGORITHMS.length : 0) + 1);
  const progress = () => o.onProgress?.();
  progress();
  const canAfford = () => elapsed() + (evaluations === 0 ? (o.evalSecondsHint ?? 0) : evalSeconds / evaluations) <= o.budgetSeconds;
  let stoppedBy: Int8SearchReport['stoppedBy'] = 'exhausted';

  const baseChecks = checkTarget(o.baseMeasured, o.target);
  let best = { amax: new Map(o.base), float: new Set<string>(), measured: o.baseMeasured, checks: baseChecks, score: targetScore(baseChecks), algorithmOf: new Map<string, CalibrationAlgorithm>() };
  const record = (step: string, floatCount: number, checks: TargetCheck[], kept: boolean, seconds: number) =>
    steps.push({ step, floatTensors: floatCount, checks: checks.map((c) => ({ term: c.term, value: c.value })), meetsTarget: checks.every((c) => c.ok), kept, seconds });
  record(`calibrated thresholds (${o.algorithm} for every tensor)`, 0, baseChecks, true, 0);

  const evaluate = async (amax: ReadonlyMap<string, number>, float: ReadonlySet<string>): Promise<{ measured: Measured; checks: TargetCheck[]; score: number; seconds: number }> => {
    const ts = performance.now();
    if (evaluations === 0) plan.begin('evals');
    const measured = await ev.evaluate(o.buildQdq(amax, float), o.signal ? { signal: o.signal } : {});
    const seconds = (performance.now() - ts) / 1000;
    evaluations++;
    evalSeconds += seconds;
    // Progress goes out after the caller's re-plan (a step that missed adds work), not before.
    plan.unit('evals');
    const checks = checkTarget(measured, o.target);
    return { measured, checks, score: targetScore(checks), seconds };
  };
  const met = () => best.checks.every((c) => c.ok);
  /** Fallback order: the solo-measured tensors first, then the rest by their own error under the chosen thresholds. */
  const rankingFor = (algorithmOf: ReadonlyMap<string, CalibrationAlgorithm>): string[] => {
    const snr = o.localSnr;
    if (!snr || !o.solo) return [...o.ranking];
    const solo = new Set(o.solo);
    const rest = quantized.filter((n) => !solo.has(n) && snr.has(n));
    const own = (n: string) => snr.get(n)![algorithmOf.get(n) ?? o.algorithm];
    rest.sort((p, q) => own(p) - own(q));
    return [...o.solo, ...rest];
  };

  try {
    if (met()) stoppedBy = 'already-met';
    // 1. Algorithm per tensor.
    if (!met() && o.alternatives && o.alternatives.size > 0) {
      const alts = o.alternatives;
      const names = quantized.filter((n) => alts.has(n));
      const given = o.localSnr;
      let local: Map<string, number[]>;
      if (given && names.every((n) => given.has(n))) local = new Map(names.map((n) => [n, ALGORITHMS.map((a) => given.get(n)![a])]));
      else {
        if (plan.has('local')) plan.begin('local');
        local = await ev.localSnr(new Map(names.map((n) => [n, ALGORITHMS.map((a) => alts.get(n)![a])])), o.signal ? { signal: o.signal } : {});
        if (plan.has('local')) plan.unit('local');
      }
      const choice = new Map<string, CalibrationAlgorithm>();
      for (const n of names) {
        const snr = local.get(n);
        if (!snr) continue;
        let k = ALGORITHMS.indexOf(o.algorithm);
        for (let j = 0; j < ALGORITHMS.length; j++) if (snr[j]! > snr[k]! + 1e-9) k = j;
        choice.set(n, ALGORITHMS[k]!);
      }
      const mixes: { label: string; of: (n: string) => CalibrationAlgorithm }[] = [];
      const counts = (of: (n: string) => CalibrationAlgorithm) => ALGORITHMS.map((a) => `${names.filter((n) => of(n) === a).length} ${a}`).join(', ');
      const localOf = (n: string) => choice.get(n) ?? o.algorithm;
      if (names.some((n) => localOf(n) !== o.algorithm)) mixes.push({ label: `per-tensor algorithm by each tensor's own error (${counts(localOf)})`, of: localOf });
      for (const a of ALGORITHMS) if (a !== o.algorithm) mixes.push({ label: `${a} for every tensor`, of: () => a });
      // Planned: these mixes and the fallback's first step (dropped if a mix meets the target).
      planEvals(evaluations + mixes.length + 1);
      progress();
      for (const mix of mixes) {
        if (!canAfford()) {
          stoppedBy = 'budget';
          break;
        }
        const amax = new Map(o.base);
        const algorithmOf = new Map<string, CalibrationAlgorithm>();
        for (const [n, alt] of alts) {
          const a = mix.of(n);
          amax.set(n, alt[a]);
          if (a !== o.algorithm) algorithmOf.set(n, a);
        }
        const r = await evaluate(amax, best.float);
        const kept = r.score > best.score;
        record(mix.label, 0, r.checks, kept, r.seconds);
        log('debug', `INT8 search: ${mix.label}: score ${r.score.toFixed(3)}${kept ? ' (kept)' : ''}`);
        if (kept) best = { amax, float: new Set(), measured: r.measured, checks: r.checks, score: r.score, algorithmOf };
        if (met()) {
          stoppedBy = 'target-met';
          break;
        }
        progress();
      }
    }
    // 2. Float fallback, most sensitive first: gallop k = 1, 2, 4, … then bisect.
    if (!met() && stoppedBy !== 'budget') {
      const order = fallbackOrder(rankingFor(best.algorithmOf), quantized);
      planEvals(evaluations + 1);
      progress();
      const tryK = async (k: number) => {
        const float = new Set(order.slice(0, k));
        const r = await evaluate(best.amax, float);
        return { k, float, ...r };
      };
      let lo = 0; // largest k known to miss
      let pass: Awaited<ReturnType<typeof tryK>> | undefined;
      let bestMiss: Awaited<ReturnType<typeof tryK>> | undefined;
      for (let k = 1; ; k = Math.min(order.length, k * 2)) {
        if (!canAfford()) {
          stoppedBy = 'budget';
          break;
        }
        const r = await tryK(k);
        const ok = r.checks.every((c) => c.ok);
        record(`float fallback: ${k} most sensitive tensor(s) kept in FP16`, k, r.checks, false, r.seconds);
        if (ok) {
          pass = r;
          break;
        }
        lo = k;
        if (!bestMiss || r.score > bestMiss.score) bestMiss = r;
        if (k >= order.length) break;
        // Still missing at k: a search that has missed once tends to keep missing, so plan the
        // gallop steps left up to every tensor plus the bisection after them (the bound caps it).
        planEvals(evaluations + Math.max(1, Math.ceil(Math.log2(order.length / k))) + Math.ceil(Math.log2(Math.max(1, k))));
        progress();
      }
      if (pass) planEvals(evaluations + Math.ceil(Math.log2(Math.max(1, pass.k - lo))));
      progress();
      while (pass && pass.k - lo > 1) {
        if (!canAfford()) {
          stoppedBy = 'budget';
          break;
        }
        const r = await tryK(Math.floor((lo + pass.k) / 2));
        const ok = r.checks.every((c) => c.ok);
        record(`float fallback: ${r.k} most sensitive tensor(s) kept in FP16`, r.k, r.checks, false, r.seconds);
        if (ok) pass = r;
        else lo = r.k;
        progress();
      }
      const chosen = pass ?? (bestMiss && bestMiss.score > best.score ? bestMiss : undefined);
      if (chosen) {
        best = { ...best, float: chosen.float, measured: chosen.measured, checks: chosen.checks, score: chosen.score };
        const i = steps.findLastIndex((s) => s.floatTensors === chosen.k);
        if (i >= 0) steps[i]!.kept = true;
      }
      if (pass && stoppedBy !== 'budget') stoppedBy = 'target-met';
    }
  } catch (e) {
    if (o.signal?.aborted) throw cancelledError('The INT8 search');
    throw e;
  }
  for (const id of ['local', 'evals']) if (plan.has(id)) plan.end(id);
  progress();

  const byName = new Map(o.activations.map((a) => [a.name, a]));
  const rankOf = new Map(fallbackOrder(rankingFor(best.algorithmOf), quantized).map((n, i) => [n, i + 1]));
  const float: FloatTensor[] = [...best.float].map((name) => ({
    name,
    layers: layersOf(byName.get(name)),
    precision: 'fp16',
    reason: `sensitivity rank ${rankOf.get(name) ?? '?'} of ${quantized.length}: kept out of INT8 so the model meets its target`,
  }));
  const amax = new Map(best.amax);
  for (const f of best.float) amax.delete(f);
  const algorithms: Partial<Record<CalibrationAlgorithm, number>> = {};
  for (const n of amax.keys()) {
    const a = best.algorithmOf.get(n) ?? o.algorithm;
    algorithms[a] = (algorithms[a] ?? 0) + 1;
  }
  const report: Int8SearchReport = {
    mode: 'auto',
    stoppedBy,
    steps,
    algorithms,
    ...(best.algorithmOf.size ? { algorithmOf: Object.fromEntries(best.algorithmOf) } : {}),
    floatTensors: float,
    evaluations,
    seconds: elapsed(),
    budgetSeconds: o.budgetSeconds,
  };
  return { amax, float, measured: best.measured, checks: best.checks, report };
}

/** The fidelity ranking first (measured end to end), then every other quantized activation in graph order. */
function fallbackOrder(ranking: readonly string[], quantized: readonly string[]): string[] {
  const q = new Set(quantized);
  const first = ranking.filter((n) => q.has(n));
  const seen = new Set(first);
  return [...first, ...quantized.filter((n) => !seen.has(n))];
}

function layersOf(a: QuantizedActivation | undefined): string[] {
  if (!a) return [];
  return [...(a.producer ? [a.producer] : []), ...a.consumers];
}
