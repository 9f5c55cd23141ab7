import type { FidelityReport } from '../../shared/report.js';
import { FidelitySchema, type Fidelity } from '../../shared/request.js';
import { buildQdqModel } from './calibrate/index.js';
import { prefetchBatches } from './data/loader.js';
import { sampleDims } from './data/preprocess.js';
import { runFidelity, selectHeldOut, type FidelityResult } from './fidelity/index.js';
import { StudioError } from '../../shared/errors.js';
// Types only: steps.ts imports this module, so a value import would be circular.
import type { JobState, Step } from './steps.js';

function must<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new StudioError('E_INTERNAL', `${what} missing`, 'This is a bug in Export Studio; please report it.');
  return v;
}

/** JobState plus the fidelity result (until JobState carries `fidelity` itself). */
type WithFidelity = JobState & { fidelity?: FidelityReport; calibrated?: JobState['calibrated'] & { selection?: readonly string[] } };

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
      s.ctx.warn(`fidelity check skipped: ONNX Runtime cannot run ${summary.customOps.map((c) => c.opType).join(', ')}, so the FP32 and INT8 outputs cannot be compared end to end.`);
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
      s.ctx.warn(`fidelity check skipped: ${held.reason}. Add validation_file_pattern to the spec, or put more images in the calibration folder than --batches × --batch_size.`);
      return `skipped: ${held.reason}`;
    }
    s.ctx.info(`fidelity check on ${held.description}`);
    const qdq = calibrated.qdqBytes ?? buildQdqModel(model.onnx, calibrated.amax, { floatTensors: s.deployment?.floatTensors ?? [] });
    const input = summary.inputs[0];
    const result = await runFidelity({
      model: model.onnx,
      qdq,
      amax: calibrated.amax,
      ...(input ? { inputName: input.name } : {}),
      batches: prefetchBatches(held.source, 1, { sampleDims: sampleDims(pp), depth: 2, signal: s.ctx.signal }),
      source: held.description,
      maxImages: opts.images,
      sensitivity: opts.sensitivity,
      suggest: opts.suggest,
      provider: r.gpu === 'cpu' ? 'cpu' : { gpu: r.gpu },
      signal: s.ctx.signal,
      log: (level, text) => s.ctx.log(level, text),
      onProgress: (done, total) => s.ctx.progress('fidelity', done, total, 'runs'),
    });
    for (const line of fidelitySummary(result)) s.ctx.info(line);
    s.fidelity = result;
    const w = result.outputs.reduce((m, o) => Math.min(m, o.snrDb), Infinity);
    return `${result.images} held-out image(s), worst output SNR ${Number.isFinite(w) ? w.toFixed(1) : '–'} dB${result.suggestedFp16.length ? `, ${result.suggestedFp16.length} tensor(s) suggested for FP16` : ''} (${result.seconds.toFixed(1)} s)`;
  },
};

/** The one-screen summary logged after the check. */
export function fidelitySummary(r: FidelityResult): string[] {
  const lines = [`INT8 fidelity (FP32 vs Q/DQ fake-quant, ${r.images} held-out image(s), ${r.seconds.toFixed(1)} s):`];
  const width = Math.max(6, ...r.outputs.map((o) => o.name.length));
  lines.push(`  ${'output'.padEnd(width)}  cosine    SNR dB  max |Δ|`);
  for (const o of r.outputs) lines.push(`  ${o.name.padEnd(width)}  ${o.cosine.toFixed(5)}  ${o.snrDb.toFixed(1).padStart(6)}  ${o.maxAbsError.toPrecision(3)}`);
  const d = r.detections;
  if (d) {
    lines.push(
      `  detections (score ≥ 0.5): FP32 ${d.fp32}, INT8 ${d.int8}, matched ${d.matched} (agreement ${(100 * d.agreement).toFixed(1)} %), mean box IoU ${d.meanBoxIoU.toFixed(3)}, class agreement ${(100 * d.classAgreement).toFixed(1)} %, mean |Δscore| ${d.meanAbsScoreDelta.toFixed(4)}`,
    );
  }
  if (r.masks) lines.push(`  masks: mean IoU ${r.masks.meanMaskIoU.toFixed(3)} over ${r.masks.compared} matched detection(s)`);
  if (r.sensitivity.length > 0) {
    lines.push(`  most sensitive tensors (quantized alone; ${r.sensitivityEvaluated} of ${r.sensitivityCandidates} evaluated after a pre-screen):`);
    for (const t of r.sensitivity.slice(0, 5)) lines.push(`    ${t.snrDb.toFixed(1).padStart(6)} dB  ${t.name}`);
  }
  if (r.suggestedFp16.length > 0) {
    lines.push(`  keep in FP16: ${r.suggestedFp16.join(', ')}`);
    lines.push(`  trtexec: ${trtexecPrecisionFlags(r.suggestedLayers)}`);
  } else if (r.sensitivity.length > 0) lines.push('  no tensor needs FP16 fallback by the report thresholds');
  return lines;
}

/** Ready-to-paste trtexec flags that pin the given layers (ONNX node names) to FP16. */
export function trtexecPrecisionFlags(layers: readonly string[]): string {
  const quote = (s: string) => (/^[\w./:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `--fp16 --int8 --precisionConstraints=obey --layerPrecisions=${quote(layers.map((l) => `${l}:fp16`).join(','))}`;
}
