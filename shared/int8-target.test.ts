import { describe, expect, it } from 'vitest';
import { checkTarget, measuredTerm, unmeasuredReason, type Int8Measured } from './int8-target.js';

const det = (fp32: number, int8: number, matched: number) => ({ fp32, int8, matched, agreement: Math.max(fp32, int8) === 0 ? 1 : matched / Math.max(fp32, int8) });

describe('measuredTerm: agreeing on nothing is not agreement', () => {
  it('takes the worst SNR and cosine over the outputs FP32 gives a signal on', () => {
    const m: Int8Measured = { outputs: [{ snrDb: 35, cosine: 0.999 }, { snrDb: 200, cosine: 1, zeroReference: true }, { snrDb: 25, cosine: 0.99 }] };
    expect(measuredTerm(m, 'snrDb')).toBe(25);
    expect(measuredTerm(m, 'cosine')).toBe(0.99);
    // INT8 noise on a zero FP32 output is not "nothing": it keeps its floor and is the worst.
    expect(measuredTerm({ outputs: [{ snrDb: -200, cosine: 0 }, { snrDb: 30, cosine: 0.999 }] }, 'snrDb')).toBe(-200);
  });

  it('has nothing to measure when every output is zero in FP32, or the FP32 model detects nothing', () => {
    const zero: Int8Measured = { outputs: [{ snrDb: 200, cosine: 1, zeroReference: true }] };
    expect(measuredTerm(zero, 'snrDb')).toBeNull();
    expect(unmeasuredReason(zero, 'snrDb')).toBe('every output is zero (or empty) on them, in FP32 and in INT8');
    const none: Int8Measured = { outputs: [{ snrDb: 200, cosine: 1 }], detections: det(0, 0, 0), masks: { meanMaskIoU: 0, compared: 0 } };
    expect(measuredTerm(none, 'detections')).toBeNull();
    expect(measuredTerm(none, 'maskIou')).toBeNull();
    expect(unmeasuredReason(none, 'detections')).toBe('the FP32 model detects nothing on them');
    // The gate: a term with nothing to measure fails, never passes vacuously.
    expect(checkTarget(none, { detections: 0.9, maskIou: 0.85 }).map((c) => [c.value, c.ok])).toEqual([[null, false], [null, false]]);
    expect(checkTarget(zero, { snrDb: 20 })[0]).toMatchObject({ value: null, ok: false });
  });

  it('measures detections and masks when FP32 detects something, including INT8 losing them all', () => {
    const lost: Int8Measured = { outputs: [], detections: det(21, 0, 0), masks: { meanMaskIoU: 0, compared: 0 } };
    expect(measuredTerm(lost, 'detections')).toBe(0);
    expect(measuredTerm(lost, 'maskIou')).toBe(0);
    expect(unmeasuredReason(lost, 'detections')).toBeNull();
    const kept: Int8Measured = { outputs: [], detections: det(20, 19, 19), masks: { meanMaskIoU: 0.93, compared: 19 } };
    expect(measuredTerm(kept, 'detections')).toBe(0.95);
    expect(measuredTerm(kept, 'maskIou')).toBe(0.93);
    expect(checkTarget(kept, { detections: 0.9, maskIou: 0.85 }).every((c) => c.ok)).toBe(true);
    expect(unmeasuredReason({ outputs: [{ snrDb: 30, cosine: 0.999 }] }, 'detections')).toBe('the model has no detection output');
  });
});
