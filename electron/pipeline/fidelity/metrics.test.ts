import { describe, expect, it } from 'vitest';
import { AgreementAccumulator, boxIoU, compareTensors, fakeQuantError, maskIoU, roundHalfEven, SNR_CAP_DB } from './metrics.js';

describe('compareTensors', () => {
  it('known answers: x = (3, 4), y = (3, 4.5) → ‖x‖ = 5, ‖x−y‖ = 0.5 → SNR 20 dB', () => {
    const r = compareTensors([3, 4], [3, 4.5]);
    expect(r.snrDb).toBeCloseTo(20, 12);
    expect(r.maxAbsError).toBe(0.5);
    // cos = (9 + 18) / (5 · √29.25)
    expect(r.cosine).toBeCloseTo(27 / (5 * Math.sqrt(29.25)), 12);
  });

  it('a scaled copy: cosine 1, SNR from the scale (y = 1.1x → 20 dB)', () => {
    const x = [1, -2, 3, 0.5];
    const r = compareTensors(x, x.map((v) => 1.1 * v));
    expect(r.cosine).toBeCloseTo(1, 12);
    expect(r.snrDb).toBeCloseTo(20, 10);
  });

  it('identical tensors cap the SNR at a finite value (JSON-safe)', () => {
    const r = compareTensors([1, 2, 3], [1, 2, 3]);
    expect(r).toEqual({ cosine: 1, snrDb: SNR_CAP_DB, maxAbsError: 0 });
    expect(JSON.parse(JSON.stringify(r)).snrDb).toBe(SNR_CAP_DB);
    expect(compareTensors([0, 0], [0, 0]).cosine).toBe(1);
  });

  it('opposite sign → cosine −1; zero reference with non-zero output → floor', () => {
    expect(compareTensors([1, 2], [-1, -2]).cosine).toBeCloseTo(-1, 12);
    // INT8 non-zero where FP32 is zero is a difference (floor), not "nothing to compare".
    expect(compareTensors([0, 0], [1, 0])).toEqual({ cosine: 0, snrDb: -SNR_CAP_DB, maxAbsError: 1 });
  });

  it('an output whose size INT8 changed is compared padded with zeros, and the images are counted', () => {
    const acc = new AgreementAccumulator();
    acc.addAny([1, 2, 3, 4], [1, 2, 3, 4]);
    acc.addAny([1, 2, 3, 4], [1, 2]); // INT8 lost the second row of 2 values: 3² + 4² of error
    const r = acc.result();
    expect(r.sizeMismatch).toBe(1);
    expect(r.snrDb).toBeCloseTo(10 * Math.log10((2 * 30) / 25), 10);
    expect(r.maxAbsError).toBe(4);
    // Extra values in INT8 count as error against 0 too; equal sizes are never flagged.
    const b = new AgreementAccumulator();
    b.addAny([5], [5, 1]);
    expect(b.result()).toMatchObject({ sizeMismatch: 1, maxAbsError: 1 });
    const c = new AgreementAccumulator();
    c.addAny([1, 2], [1, 2]);
    expect(c.result().sizeMismatch).toBeUndefined();
    // FP32 found nothing, INT8 found something: not "nothing to compare".
    const d = new AgreementAccumulator();
    d.addAny([], [0.5, 0.5]);
    expect(d.result()).toMatchObject({ snrDb: -SNR_CAP_DB, sizeMismatch: 1 });
    expect(d.result().zeroReference).toBeUndefined();
  });

  it('an output zero (or empty) in both runs is marked: it has no signal to measure an error against', () => {
    expect(compareTensors([0, 0, 0], [0, 0, 0])).toEqual({ cosine: 1, snrDb: SNR_CAP_DB, maxAbsError: 0, zeroReference: true });
    expect(compareTensors([0, 1e-30], [0, 0]).zeroReference).toBeUndefined();
    expect(compareTensors([], [])).toEqual({ cosine: 1, snrDb: SNR_CAP_DB, maxAbsError: 0, zeroReference: true }); // an empty output: nothing either
  });

  it('NaN in the compared tensor counts as total loss', () => {
    expect(compareTensors([1, 2], [1, NaN])).toEqual({ cosine: 0, snrDb: -SNR_CAP_DB, maxAbsError: Number.MAX_VALUE });
  });

  it('accumulating chunks equals one comparison of the concatenation', () => {
    const x = Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const y = x.map((v, i) => v + 0.01 * Math.cos(3 * i));
    const acc = new AgreementAccumulator();
    acc.add(x.slice(0, 17), y.slice(0, 17));
    acc.add(x.slice(17), y.slice(17));
    const whole = compareTensors(x, y);
    expect(acc.result().snrDb).toBeCloseTo(whole.snrDb, 10);
    expect(acc.result().cosine).toBeCloseTo(whole.cosine, 12);
    expect(acc.result().maxAbsError).toBe(whole.maxAbsError);
  });
});

describe('boxIoU / maskIoU', () => {
  it('known answers', () => {
    expect(boxIoU([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(boxIoU([0, 0, 10, 10], [0, 5, 10, 15])).toBeCloseTo(50 / 150, 12);
    expect(boxIoU([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
    expect(boxIoU([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
  });
  it('mask IoU thresholds logits at 0 (sigmoid 0.5)', () => {
    // a: positives at 0,1,2; b: positives at 1,2,3 → 2 / 4
    expect(maskIoU([1, 2, 0.1, -1, -3], [-0.1, 5, 1, 2, -1])).toBe(0.5);
    expect(maskIoU([-1, -2], [-1, 0])).toBe(1); // both empty (0 is not > 0)
  });
});

describe('fakeQuantError', () => {
  it('round half to even like ONNX QuantizeLinear', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, -3]);
  });
  it('values on the int8 grid have no error; values past amax are clipped', () => {
    expect(fakeQuantError([0, 1, -1, 127, -127], 127)).toEqual({ snrDb: SNR_CAP_DB, clipped: 0 });
    // amax 127: 200 → 127 (error 73), −300 → −128 (error 172); 1 exact
    const r = fakeQuantError([1, 200, -300], 127);
    expect(r.clipped).toBeCloseTo(2 / 3, 12);
    expect(r.snrDb).toBeCloseTo(10 * Math.log10((1 + 200 ** 2 + 300 ** 2) / (73 ** 2 + 172 ** 2)), 10);
  });
});
