import path from 'node:path';
import { trtexecCommandFor } from './engine-step.js';
import type { FidelityReport } from '../../shared/report.js';
import { FidelitySchema, type Fidelity } from '../../shared/request.js';
import { buildQdqModel, sha256Hex, statSelection } from './calibrate/index.js';
import { decodeModel } from './onnx/index.js';
import { prefetchBatches } from './data/loader.js';
import { sampleDims } from './data/preprocess.js';
import { analyseQdq, Int8Evaluator, runFidelity, runInt8Search, selectHeldOut, type FidelityResult } from './fidelity/index.js';
import { checkTarget, describeChecks, DEFAULT_DETECTION_TARGET, DEFAULT_TENSOR_TARGET, unmeasuredReason, type Int8Target, type TargetCheck } from '../../shared/int8-target.js';
import type { Int8SearchReport, Int8Verdict } from '../../shared/report.js';
import type { CalibrationAlgorithm } from '../../shared/request.js';
import { StagePlan } from './progress-plan.js';
import { must, setFloatTensors, type JobState, type Step } from './job.js';

/** JobState plus the fidelity result (until JobState carries `fidelity` itself). */
type WithFidelity = JobState & { fidelity?: FidelityReport; calibrated?: JobState['calibrated'] & { selection?: readonly string[] }; int8Search?: PendingSearch | undefined };

export function fidelityOptions(s: JobState): Fidelity {
  return s.request.fidelity ?? FidelitySchema.parse({});
}

/**
 * INT8 only, on by default: FP32 vs the Q/DQ model on held-out images (never calibration
 * images), per output, per detection and mask, plus the sensitivity ranking and FP16 suggestion.
 * The Q/DQ model is built in memory when --qdq_file was not asked for (nothing is written).
 */
export const fidelityStep: Step = {
  stage: 'fidelity',
  when: (s) => (s.request.precision !== 'int8' ? false : fidelityOptions(s).enabled ? true : 'turned off (fidelity.enabled = false)'),
  async run(st) {
    const s = st as WithFidelity;
    const opts = fidelityOptions(s);
    const calibrated = must(s.calibrated, 'calibration');
    const model = must(s.model, 'model');
    const summary = must(model.summary, 'model summary');
    const r = s.request;
    if (summary.customOps.length > 0) {
      s.ctx.warn(`fidelity check skipped: ONNX Runtime cannot run ${summary.customOps.map((c) => c.opType).join(', ')}, so the FP32 and INT8 outputs cannot be compared end to end; the INT8 is not checked against a target.`);
      return 'skipped: the model has ops ONNX Runtime cannot run';
    }
    const pp = calibrated.preprocessing;
    const spec = s.spec;
    const data = spec?.parsed.experiment.data_config;
    const held = await selectHeldOut({
      calibration: must(r.calibration, 'calibration'),
      ...(spec ? { spec: { dir: spec.dir, ...(data?.training_file_pattern ? { trainingPattern: data.training_file_pattern } : {}), ...(data?.validation_file_pattern ? { validationPattern: data.validation_file_pattern } : {}) } } : {}),
      images: opts.images,
      pp,
      ...(calibrated.selection ? { calibrationIds: calibrated.selection } : {}),
      signal: s.ctx.signal,
    });
    if (!held.source) {
      s.ctx.warn(`fidelity check skipped: ${held.reason}. The INT8 is not checked against a target. Add validation_file_pattern to the spec, or put more images in the calibration folder than --batches × --batch_size.`);
      return `skipped: ${held.reason}`;
    }
    // A reused cache whose recorded check compared exactly these images with these options: reuse it.
    const inputs = sha256Hex(
      JSON.stringify({ model: model.sha256, items: await statSelection(held.source.selection), images: opts.images, sensitivity: opts.sensitivity, suggest: opts.suggest, target: opts.target ?? null, search: opts.search, pp: calibrated.preprocessing }),
    );
    calibrated.fidelityInputs = inputs;
    const recorded = calibrated.recordedFidelity;
    if (!calibrated.pending && recorded && recorded.inputs === inputs && recorded.report.verdict) {
      const v = recorded.report.verdict;
      const again = { ...recorded.report, reused: true, verdict: { ...v, allowed: opts.allowBelowTarget } };
      s.fidelity = again;
      s.ctx.info(`fidelity check reused from ${path.basename(s.plan?.provenance ?? 'the cache provenance')}: same model, cache, held-out images and options (${recorded.report.images} image(s))`);
      for (const line of fidelitySummary(again as FidelityResult)) s.ctx.info(line);
      if (!v.meetsTarget) s.ctx.warn(`${v.summary}. Next: ${v.nextStep ?? ''}`);
      const detail = `reused: ${describeChecks(v.checks)}`;
      return v.meetsTarget ? detail : { detail: `INT8 below target — ${detail}`, alert: true };
    }
    s.ctx.info(`fidelity check on ${held.description}`);
    const input = summary.inputs[0];
    const provider = r.gpu === 'cpu' ? ('cpu' as const) : { gpu: r.gpu };
    const log = (level: 'debug' | 'info' | 'warn' | 'error', text: string) => s.ctx.log(level, text);
    const t0 = performance.now();
    // Progress and ETA from the check's plan in seconds (runFidelity sets and measures its phases).
    const plan = new StagePlan();
    const progress = planProgress(s, 'fidelity', plan);
    // Tensors already kept in float (the request's floatTensors, or the search of a reused cache) stay so in every candidate.
    const fixedFloat = s.deployment?.floatTensors ?? [];
    const buildQdq = (amax: ReadonlyMap<string, number>, float: ReadonlySet<string>) => buildQdqModel(model.onnx, amax, { floatTensors: [...new Set([...fixedFloat, ...float])] });
    const baseQdq = buildQdq(calibrated.amax, new Set(calibrated.floatTensors.map((f) => f.name)));
    const algorithm = must(r.calibration, 'calibration').algorithm;
    const localSnr = calibrated.localSnr;
    const check = await runFidelity({
      plan,
      onProgress: progress.emit,
      // Held-out images and their FP32 outputs, kept for every search evaluation: each image's FP32
      // and Q/DQ runs go together, so both kinds of run are measured from the first image on.
      keepImages: true,
      ...(localSnr ? { prescreenScores: new Map([...localSnr].map(([n, v]) => [n, v[algorithm]])) } : {}),
      // The check (with its ranking) costs no more than the calibration did.
      ...(calibrated.calibrationSeconds > 0 ? { budgetSeconds: Math.max(calibrated.calibrationSeconds, 1), startedAt: t0 } : {}),
      model: model.onnx,
      qdq: baseQdq,
      amax: calibrated.amax,
      ...(input ? { inputName: input.name } : {}),
      batches: prefetchBatches(held.source, 1, { sampleDims: sampleDims(pp), depth: 2, signal: s.ctx.signal }),
      source: held.description,
      maxImages: Math.min(opts.images, held.source.selection.length),
      // The search ranks tensors for its fallback with the same measurement.
      sensitivity: opts.sensitivity || opts.search === 'auto',
      suggest: opts.suggest,
      provider,
      signal: s.ctx.signal,
      log,
    }).finally(progress.stop);
    progress.done();
    const evaluator = Int8Evaluator.fromImages({ model: model.onnx, inputName: input?.name ?? '', images: check.held ?? [], provider, log, fp32Seconds: check.fp32Seconds ?? 0 });
    delete check.held;
    const explicitTarget = opts.target;
    const target = explicitTarget ?? (evaluator.detOut.detections ? (evaluator.detOut.masks ? DEFAULT_DETECTION_TARGET : { detections: DEFAULT_DETECTION_TARGET.detections! }) : DEFAULT_TENSOR_TARGET);
    let result: FidelityResult = check;
    const checks = checkTarget(check, target);
    const meets = checks.every((c) => c.ok);
    const origin = explicitTarget ? ('request' as const) : ('default' as const);
    // A term the held-out images give nothing to measure cannot be fixed by choosing thresholds.
    const measurable = checks.every((c) => c.value !== null);
    const canSearch = opts.search === 'auto' && calibrated.pending !== undefined && measurable;
    if (opts.search === 'auto' && !meets && !canSearch && measurable) s.ctx.warn('INT8 search skipped: the calibration cache was reused, so there are no statistics to search; pass --no-cal_reuse to calibrate and search again.');
    if (opts.search === 'off') result = { ...check, search: { mode: 'off', stoppedBy: 'off', steps: [], algorithms: {}, floatTensors: calibrated.floatTensors, evaluations: 0, seconds: 0, budgetSeconds: 0 } };
    if (!meets && canSearch) {
      // Below target: the search stage takes over (its own row, progress and ETA).
      s.int8Search = { evaluator, buildQdq, baseQdq, check, checks, target, origin, algorithm, t0 };
      // Not a tick: the calibrated INT8 is below target; the search stage says whether it was fixed.
      return { detail: `calibrated INT8 below target on ${check.images} held-out image(s): ${describeChecks(checks)} (${((performance.now() - t0) / 1000).toFixed(1)} s); the INT8 search runs next`, alert: true };
    }
    return finishInt8(s, result, checks, target, origin, t0);
  },
};

/** What the fidelity stage hands to the search stage when the calibrated INT8 misses its target. */
interface PendingSearch {
  evaluator: Int8Evaluator;
  buildQdq: (amax: ReadonlyMap<string, number>, float: ReadonlySet<string>) => Uint8Array;
  baseQdq: Uint8Array;
  check: FidelityResult;
  checks: TargetCheck[];
  target: Int8Target;
  origin: 'default' | 'request';
  algorithm: CalibrationAlgorithm;
  t0: number;
}

/**
 * INT8 only, when the check found the calibrated thresholds below the target and the search is
 * on: per-tensor algorithm, then float fallback, at most 2 × the calibration time.
 */
export const searchStep: Step = {
  stage: 'search',
  when: (st) => {
    const s = st as WithFidelity;
    if (s.request.precision !== 'int8') return false;
    if (s.int8Search) return true;
    const opts = fidelityOptions(s);
    if (!opts.enabled) return 'no fidelity check, so no target to search for';
    if (opts.search === 'off') return 'off (--int8_search off)';
    if (s.fidelity?.verdict?.meetsTarget) return 'not needed: the calibrated INT8 meets its target';
    if (s.fidelity?.reused) return 'not run: the recorded result was reused';
    if (s.fidelity?.verdict?.checks.some((c) => c.value === null)) return 'not run: the held-out images give the target nothing to measure';
    return s.fidelity ? 'not possible: the calibration cache was reused (no statistics)' : 'no fidelity result to search from';
  },
  async run(st) {
    const s = st as WithFidelity;
    const p = must(s.int8Search, 'pending INT8 search');
    s.int8Search = undefined;
    const calibrated = must(s.calibrated, 'calibration');
    const localSnr = calibrated.localSnr;
    const budget = Math.max(2 * calibrated.calibrationSeconds, 1);
    const plan = new StagePlan();
    const progress = planProgress(s, 'search', plan);
    const search = await runInt8Search({
      plan,
      onProgress: progress.emit,
      evaluator: p.evaluator,
      buildQdq: p.buildQdq,
      base: calibrated.amax,
      algorithm: p.algorithm,
      ...(calibrated.alternatives ? { alternatives: calibrated.alternatives } : {}),
      ...(localSnr ? { localSnr } : {}),
      solo: p.check.sensitivity.map((x) => x.name),
      baseMeasured: p.check,
      activations: analyseQdq(p.baseQdq).activations,
      ranking: p.check.ranking,
      target: p.target,
      budgetSeconds: budget,
      evalSecondsHint: p.check.qdqSeconds,
      signal: s.ctx.signal,
      log: (level, text) => s.ctx.log(level, text),
    }).finally(progress.stop);
    progress.done();
    calibrated.amax = search.amax;
    calibrated.floatTensors = search.float;
    const result: FidelityResult = { ...p.check, outputs: search.measured.outputs, search: search.report };
    if (search.measured.detections) result.detections = search.measured.detections;
    if (search.measured.masks) result.masks = search.measured.masks;
    for (const x of search.report.steps) s.ctx.debug(`INT8 search step: ${x.step} → ${x.checks.map((c) => `${c.term} ${c.value === null ? 'n/a' : c.value.toFixed(3)}`).join(', ')}${x.kept ? ' (kept)' : ''} [${x.seconds.toFixed(2)} s]`);
    s.ctx.info(`INT8 search (${search.report.evaluations} evaluation(s), ${search.report.seconds.toFixed(1)} s of a ${budget.toFixed(1)} s bound): ${searchOutcome(search.report)}`);
    return finishInt8(s, result, search.checks, p.target, p.origin, p.t0);
  },
};

/**
 * A stage's progress from its plan: a time-based percentage (never backwards) and the plan's ETA,
 * after each unit of work and 4 times a second in between (the ETA counts down during long runs;
 * the context rate-limits what reaches the UI). The plan's phases and measured costs go to the debug log.
 */
export function planProgress(s: JobState, stage: 'fidelity' | 'search', plan: StagePlan): { emit: () => void; stop: () => void; done: () => void } {
  let over = false;
  const emit = () => {
    if (over) return;
    const p = plan.snapshot();
    s.ctx.progress(stage, Math.min(99, Math.floor(100 * p.fraction)), 100, '%', p.eta !== undefined ? { eta: p.eta } : {});
  };
  const timer = setInterval(emit, 250);
  timer.unref?.();
  return {
    emit,
    stop: () => {
      over = true;
      clearInterval(timer);
    },
    done: () => {
      s.ctx.progress(stage, 100, 100, '%', { eta: 0 });
      s.ctx.debug(`${stage} progress plan (seconds per unit as measured): ${plan.describe()}`);
    },
  };
}

/** Re-derive the deployment with these tensors (plus the request's floatTensors) kept in float. */
export function keepInFloat(s: JobState, names: readonly string[]): void {
  const model = s.model;
  if (!s.deploymentInput || !model) return;
  setFloatTensors(s, [...new Set([...s.request.floatTensors, ...names])], decodeModel(model.onnx).graph?.node ?? []);
}

/** The verdict, trtexec line, summary and stage detail of the final INT8 (with or without a search). */
function finishInt8(s: WithFidelity, r: FidelityResult, checks: TargetCheck[], target: Int8Target, origin: 'default' | 'request', t0: number): string | { detail: string; alert: true } {
  const opts = fidelityOptions(s);
  const calibrated = must(s.calibrated, 'calibration');
  // The tensors kept in float reach every consumer through the one derivation (cache, Q/DQ, trtexec, nvinfer).
  if (calibrated.floatTensors.length > 0) keepInFloat(s, calibrated.floatTensors.map((f) => f.name));
  let result: FidelityResult = { ...r };
  const trtexec = trtexecCommandFor(s);
  if (trtexec) result.trtexec = trtexec;
  const verdict = buildVerdict(checks, target, origin, opts.allowBelowTarget, result);
  result = { ...result, verdict, seconds: (performance.now() - t0) / 1000 };
  const share = fp16Share(result.search);
  if (verdict.meetsTarget && share && share.kept * 2 >= share.of) {
    s.ctx.warn(`The INT8 search kept ${share.kept} of ${share.of} tensors in FP16 to meet the target: an engine built from these files runs mostly in FP16. Compare its speed with an FP16 export (--data_type fp16) before deploying it, or calibrate on more representative images.`);
  }
  for (const line of fidelitySummary(result)) s.ctx.info(line);
  s.fidelity = result;
  if (!verdict.meetsTarget) s.ctx.warn(`${verdict.summary}. Next: ${verdict.nextStep ?? ''}`);
  const w = result.outputs.reduce((m, o) => (o.zeroReference ? m : Math.min(m, o.snrDb)), Infinity);
  // The worst SNR as well, unless the target's own terms already say it.
  const snr = checks.some((c) => c.term === 'snrDb') || !Number.isFinite(w) ? '' : `, worst output SNR ${w.toFixed(1)} dB`;
  const detail = `${result.images} held-out image(s), ${describeChecks(checks)}${calibrated.floatTensors.length ? `, ${calibrated.floatTensors.length} tensor(s) kept in FP16` : ''}${snr} (${result.seconds.toFixed(1)} s)`;
  return verdict.meetsTarget ? detail : { detail: `INT8 below target — ${detail}`, alert: true };
}

function searchOutcome(r: Int8SearchReport): string {
  const alg = Object.entries(r.algorithms).map(([a, n]) => `${n} ${a}`).join(', ');
  const why = { 'already-met': 'the calibrated thresholds already meet the target', 'target-met': 'target met', budget: 'stopped at its time bound', exhausted: 'no mix met the target', off: 'off', cancelled: 'cancelled' }[r.stoppedBy];
  return `${why}; thresholds ${alg}${r.floatTensors.length ? `; ${r.floatTensors.length} tensor(s) kept in FP16: ${r.floatTensors.map((f) => f.name).join(', ')}` : ''}`;
}

/** The gate's verdict, with the numbers and what to do next. */
export function buildVerdict(checks: TargetCheck[], target: Int8Target, origin: 'default' | 'request', allowed: boolean, r: Pick<FidelityReport, 'search' | 'images' | 'outputs' | 'detections' | 'masks'>): Int8Verdict {
  const meets = checks.every((c) => c.ok);
  const v: Int8Verdict = {
    meetsTarget: meets,
    target,
    targetOrigin: origin,
    checks,
    // The share kept in FP16 belongs in the verdict: "meets target" with most tensors in FP16 is not the INT8 engine the user asked for.
    summary: `${meets ? 'INT8 meets target' : 'INT8 below target'}: ${describeChecks(checks)} on ${r.images} held-out image(s)${keptInFp16(r.search)}`,
    allowed,
  };
  // A term these images give nothing to measure (no FP32 detection, all-zero outputs) fails, and says why.
  const unmeasured = [...new Set(checks.filter((c) => c.value === null).map((c) => unmeasuredReason(r, c.term)).filter((x): x is string => x !== null))];
  if (!meets) {
    const s = r.search;
    v.nextStep = unmeasured.length
      ? `nothing to compare on these ${r.images} held-out image(s): ${unmeasured.join('; ')}. Check on images where the model responds (the spec's validation_file_pattern, or other images in the calibration folder), or accept the INT8 unchecked (--allow_below_target)`
      : s?.mode === 'off'
        ? 'run with the INT8 search on (drop --int8_search off), or deploy FP16 (--data_type fp16)'
        : s?.stoppedBy === 'budget'
          ? `the search stopped at its time bound after ${s.evaluations} evaluation(s); calibrate on more images (--batches) to raise the bound, keep the listed tensors in FP16 by hand, or deploy FP16 (--data_type fp16)`
          : 'deploy FP16 (--data_type fp16), calibrate on more representative images, or relax --int8_target if the figures above are acceptable';
  }
  return v;
}
/** How many tensors the search kept in FP16, of every calibrated tensor (INT8 or not); null when none. */
export function fp16Share(search: Pick<Int8SearchReport, 'floatTensors' | 'algorithms'> | undefined): { kept: number; of: number } | null {
  const kept = search?.floatTensors.length ?? 0;
  if (!search || kept === 0) return null;
  return { kept, of: kept + Object.values(search.algorithms).reduce((a, b) => a + (b ?? 0), 0) };
}

/** ", N of M tensors kept in FP16" for the verdict line, or ''. */
function keptInFp16(search: Pick<Int8SearchReport, 'floatTensors' | 'algorithms'> | undefined): string {
  const share = fp16Share(search);
  return share ? `, ${share.kept} of ${share.of} tensors kept in FP16` : '';
}

/** The one-screen summary logged after the check. */
export function fidelitySummary(r: FidelityResult): string[] {
  const lines = [`INT8 fidelity (FP32 vs Q/DQ fake-quant, ${r.images} held-out image(s), ${r.seconds.toFixed(1)} s):`];
  const width = Math.max(6, ...r.outputs.map((o) => o.name.length));
  lines.push(`  ${'output'.padEnd(width)}  cosine    SNR dB  max |Δ|`);
  for (const o of r.outputs) lines.push(`  ${o.name.padEnd(width)}  ${o.cosine.toFixed(5)}  ${o.snrDb.toFixed(1).padStart(6)}  ${o.maxAbsError.toPrecision(3)}${o.zeroReference ? '  (zero in FP32 on every image: nothing to compare)' : ''}${o.sizeMismatch ? `  (INT8 changed its size on ${o.sizeMismatch} of ${r.images} image(s): values one run lacks count as error)` : ''}`);
  const d = r.detections;
  if (d) {
    lines.push(
      `  detections (score ≥ 0.5): FP32 ${d.fp32}, INT8 ${d.int8}, matched ${d.matched} (agreement ${d.fp32 === 0 ? 'n/a: FP32 detects nothing' : `${(100 * d.agreement).toFixed(1)} %`}), mean box IoU ${d.meanBoxIoU.toFixed(3)}, class agreement ${(100 * d.classAgreement).toFixed(1)} %, mean |Δscore| ${d.meanAbsScoreDelta.toFixed(4)}`,
    );
  }
  if (r.masks) lines.push(`  masks: mean IoU ${r.masks.meanMaskIoU.toFixed(3)} over ${r.masks.compared} matched detection(s)`);
  if (r.sensitivity.length > 0) {
    lines.push(`  most sensitive tensors (quantized alone; ${r.sensitivityEvaluated} of ${r.sensitivityCandidates} evaluated after a pre-screen):`);
    for (const t of r.sensitivity.slice(0, 5)) lines.push(`    ${t.snrDb.toFixed(1).padStart(6)} dB  ${t.name}`);
  }
  const float = r.search?.floatTensors ?? [];
  if (float.length > 0) {
    lines.push(`  kept in FP16 by the INT8 search (no scale in the cache, no Q/DQ): ${float.map((f) => f.name).join(', ')}`);
  } else if (r.suggestedFp16.length > 0 && r.search?.mode !== 'auto') {
    lines.push(`  suggested for FP16: ${r.suggestedFp16.join(', ')}`);
    lines.push(`  trtexec: ${trtexecPrecisionFlags(r.suggestedLayers)}`);
  } else if (r.sensitivity.length > 0) lines.push('  no tensor kept in FP16');
  if (r.trtexec) lines.push(`  ${r.trtexec}`);
  if (r.verdict) lines.push(`  ${r.verdict.meetsTarget ? '✔' : '✖'} ${r.verdict.summary}${r.verdict.targetOrigin === 'default' ? ' (default target for this output kind)' : ''}`);
  return lines;
}

/** Ready-to-paste trtexec flags that pin the given layers (ONNX node names) to FP16. */
export function trtexecPrecisionFlags(layers: readonly string[]): string {
  const quote = (s: string) => (/^[\w./:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `--fp16 --int8 --precisionConstraints=obey --layerPrecisions=${quote(layers.map((l) => `${l}:fp16`).join(','))}`;
}

