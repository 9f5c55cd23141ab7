/**
 * The INT8 fidelity target and the gate: what "INT8 is good enough" means for a model, measured
 * FP32 vs INT8 (Q/DQ fake-quant) on held-out images. See docs/FORMATS.md, "INT8 target".
 *
 * Terms (all must hold):
 * - detections: detection agreement (matched / max(FP32, INT8) detections at score ≥ 0.5,
 *   same class, box IoU ≥ 0.5), for Mask R-CNN-shaped outputs;
 * - maskIou: mean mask IoU of the matched detections;
 * - snrDb: worst output SNR in dB (10·log10 Σx²/Σ(x−y)²) over the model's outputs;
 * - cosine: worst output cosine similarity.
 */
import { z } from 'zod';

export const Int8TargetSchema = z
  .object({
    detections: z.number().gt(0).lte(1).optional(),
    maskIou: z.number().gt(0).lte(1).optional(),
    snrDb: z.number().gt(-200).lt(200).optional(),
    cosine: z.number().gt(0).lte(1).optional(),
  })
  .strict()
  .refine((t) => Object.values(t).some((v) => v !== undefined), { message: 'an INT8 target needs at least one term' });
export type Int8Target = z.infer<typeof Int8TargetSchema>;
export type Int8TargetTerm = keyof Int8Target;

/**
 * Defaults per output kind (justified in docs/FORMATS.md):
 * - Mask R-CNN-shaped outputs: 90 % detection agreement and 0.85 mean mask IoU;
 * - any other model: worst output SNR 20 dB (error power 1 % of the signal, cosine ≈ 0.995).
 */
export const DEFAULT_DETECTION_TARGET: Int8Target = { detections: 0.9, maskIou: 0.85 };
export const DEFAULT_TENSOR_TARGET: Int8Target = { snrDb: 20 };

export const TERM_FLAG: Record<Int8TargetTerm, string> = { detections: 'detections', maskIou: 'mask_iou', snrDb: 'snr', cosine: 'cosine' };
const TERM_LABEL: Record<Int8TargetTerm, string> = { detections: 'detection agreement', maskIou: 'mask IoU', snrDb: 'worst output SNR', cosine: 'worst output cosine' };

/**
 * `--int8_target` syntax: comma-separated `term=value`, terms detections, mask_iou, snr (dB),
 * cosine; detections and mask_iou also take a percentage (`detections=90%`). Throws a
 * RangeError with the reason on bad input.
 */
export function parseInt8Target(text: string): Int8Target {
  const out: Record<string, number> = {};
  const byFlag = new Map(Object.entries(TERM_FLAG).map(([k, v]) => [v, k as Int8TargetTerm]));
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([a-z_]+)\s*(?:=|>=|≥)\s*(-?[\d.]+(?:e-?\d+)?)\s*(%|dB)?$/i.exec(part);
    const term = m ? byFlag.get(m[1]!.toLowerCase()) : undefined;
    if (!m || !term) throw new RangeError(`"${part}" is not term=value with term one of ${Object.values(TERM_FLAG).join(', ')}`);
    let v = Number(m[2]);
    if (!Number.isFinite(v)) throw new RangeError(`"${part}": ${m[2]} is not a number`);
    if (m[3] === '%') {
      if (term === 'snrDb') throw new RangeError(`"${part}": snr is in dB, not %`);
      v /= 100;
    }
    if (term in out) throw new RangeError(`"${part}": ${m[1]} given twice`);
    out[term] = v;
  }
  const r = Int8TargetSchema.safeParse(out);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RangeError(`${i?.path.length ? `${TERM_FLAG[i.path[0] as Int8TargetTerm] ?? String(i.path[0])}: ` : ''}${i?.message ?? 'invalid'}${i?.path[0] === 'detections' || i?.path[0] === 'maskIou' || i?.path[0] === 'cosine' ? ' (a fraction in (0, 1] or a percentage)' : ''}`);
  }
  return r.data;
}

/** The flag form of a target, e.g. `detections=0.9,mask_iou=0.85`. */
export function formatInt8Target(t: Int8Target): string {
  return (Object.keys(TERM_FLAG) as Int8TargetTerm[])
    .filter((k) => t[k] !== undefined)
    .map((k) => `${TERM_FLAG[k]}=${t[k]}`)
    .join(',');
}

/** What the gate compares: the agreement figures of one FP32-vs-INT8 comparison. */
export interface Int8Measured {
  outputs: readonly { snrDb: number; cosine: number; zeroReference?: boolean }[];
  detections?: { agreement: number; fp32: number; int8: number; matched: number };
  masks?: { meanMaskIoU: number; compared: number };
}

export interface TargetCheck {
  term: Int8TargetTerm;
  label: string;
  target: number;
  /** null when the model has nothing to measure it on (e.g. no mask output). */
  value: number | null;
  ok: boolean;
  /** Margin normalised by the target (by 20 dB for SNR): 0 = exactly on target (for ranking candidates). */
  margin: number;
}

/**
 * A term's measured value, or null when these images give it nothing to measure: no such output,
 * no FP32 detection to agree with, or every output zero in FP32. Agreeing on nothing is not
 * agreement: a null term fails the target (the verdict says why).
 */
export function measuredTerm(m: Int8Measured, term: Int8TargetTerm): number | null {
  const live = m.outputs.filter((o) => !o.zeroReference);
  switch (term) {
    case 'detections':
      return m.detections && m.detections.fp32 > 0 ? m.detections.agreement : null;
    case 'maskIou':
      return !m.masks || (m.detections && m.detections.fp32 === 0) ? null : m.masks.compared > 0 ? m.masks.meanMaskIoU : 0;
    case 'snrDb':
      return live.length ? Math.min(...live.map((o) => o.snrDb)) : null;
    case 'cosine':
      return live.length ? Math.min(...live.map((o) => o.cosine)) : null;
  }
}

/** Why a term has nothing to measure on these images (for the verdict's next step), or null. */
export function unmeasuredReason(m: Int8Measured, term: Int8TargetTerm): string | null {
  if (measuredTerm(m, term) !== null) return null;
  if (term === 'detections' || term === 'maskIou') return m.detections && m.detections.fp32 === 0 ? 'the FP32 model detects nothing on them' : `the model has no ${term === 'maskIou' ? 'mask' : 'detection'} output`;
  return m.outputs.length ? 'every output is zero (or empty) on them, in FP32 and in INT8' : 'the model has no float output to compare';
}

/** Each term of the target against what was measured. A term with nothing to measure fails. */
export function checkTarget(m: Int8Measured, t: Int8Target): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const term of Object.keys(TERM_FLAG) as Int8TargetTerm[]) {
    const target = t[term];
    if (target === undefined) continue;
    const value = measuredTerm(m, term);
    const scale = term === 'snrDb' ? 20 : target;
    const margin = value === null ? -1e3 : (value - target) / scale;
    out.push({ term, label: TERM_LABEL[term], target, value, ok: value !== null && value >= target, margin });
  }
  return out;
}

/** One number to rank candidate mixes: the worst term's margin (≥ 0 means the target is met). */
export function targetScore(checks: readonly TargetCheck[]): number {
  return checks.length ? Math.min(...checks.map((c) => c.margin)) : 0;
}

export function formatTermValue(term: Int8TargetTerm, v: number | null): string {
  if (v === null) return 'n/a';
  if (term === 'snrDb') return `${v.toFixed(1)} dB`;
  if (term === 'cosine') return v.toFixed(4);
  return `${(100 * v).toFixed(1)} %`;
}

/** "detection agreement 0.0 % (target ≥ 90.0 %), mask IoU …" */
export function describeChecks(checks: readonly TargetCheck[]): string {
  return checks.map((c) => `${c.label} ${formatTermValue(c.term, c.value)} (target ≥ ${formatTermValue(c.term, c.target)})`).join(', ');
}
