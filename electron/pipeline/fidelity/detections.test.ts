import { describe, expect, it } from 'vitest';
import { alignRows, DetectionAccumulator, findDetectionOutputs, matchDetections, parseDetections, permuteRows, type Detection } from './detections.js';

const det = (index: number, box: [number, number, number, number], cls: number, score: number): Detection => ({ index, box, cls, score });
/** [1, K, 6] rows: y1 x1 y2 x2 class score */
const tensor = (rows: number[][]) => ({ data: Float32Array.from(rows.flat()), dims: [1, rows.length, 6] });

describe('parseDetections', () => {
  it('keeps rows with score ≥ the threshold, of the right image', () => {
    const t = { data: Float32Array.from([0, 0, 1, 1, 1, 0.9, 0, 0, 1, 1, 2, 0.4, 5, 5, 6, 6, 3, 0.7, 5, 5, 6, 6, 1, 0.5]), dims: [2, 2, 6] };
    expect(parseDetections(t.data, t.dims, 0).map((d) => d.index)).toEqual([0]);
    expect(parseDetections(t.data, t.dims, 1)).toEqual([det(0, [5, 5, 6, 6], 3, Math.fround(0.7)), det(1, [5, 5, 6, 6], 1, 0.5)]);
    expect(parseDetections(t.data, t.dims, 0, 0.3)).toHaveLength(2);
  });
});

describe('matchDetections', () => {
  it('greedy by IoU, one-to-one, same class', () => {
    const a = [det(0, [0, 0, 10, 10], 1, 0.9), det(1, [0, 0, 10, 12], 1, 0.8)];
    const b = [det(0, [0, 0, 10, 11], 1, 0.9), det(1, [50, 50, 60, 60], 1, 0.8)];
    const m = matchDetections(a, b);
    // IoU(a0,b0) = 100/110, IoU(a1,b0) = 110/120 → a1–b0 wins; a0 then has nothing left.
    expect(m.map((p) => [p.a.index, p.b.index])).toEqual([[1, 0]]);
    expect(m[0]!.iou).toBeCloseTo(110 / 120, 12);
  });
  it('a class change breaks the match unless matching class-blind; IoU < 0.5 never matches', () => {
    const a = [det(0, [0, 0, 10, 10], 1, 0.9)];
    const b = [det(0, [0, 0, 10, 10], 2, 0.9)];
    expect(matchDetections(a, b)).toHaveLength(0);
    expect(matchDetections(a, b, { sameClass: false })).toHaveLength(1);
    expect(matchDetections(a, [det(0, [0, 0, 10, 4], 1, 0.9)])).toHaveLength(0); // IoU 0.4
  });
});

describe('DetectionAccumulator', () => {
  it('known answers over one image with masks', () => {
    const ref = tensor([
      [0, 0, 10, 10, 1, 0.9],
      [20, 20, 30, 30, 2, 0.8],
      [40, 40, 50, 50, 1, 0.7],
      [0, 0, 1, 1, 1, 0.1], // below 0.5: ignored
    ]);
    const q = tensor([
      [0, 0, 10, 10, 1, 0.85], // same box, Δscore 0.05
      [20, 20, 30, 35, 2, 0.6], // IoU 100/150, Δscore 0.2
      [40, 40, 50, 50, 3, 0.7], // class changed
      [0, 0, 1, 1, 1, 0.1],
    ]);
    // masks [1, 4, C=4, 1, 2]: class c mask of row k = two logits
    const masks = (rows: number[][][]) => ({ data: Float32Array.from(rows.flat(2)), dims: [1, 4, 4, 1, 2] });
    const zero = [[0, 0], [0, 0], [0, 0], [0, 0]];
    const mref = masks([[[0, 0], [1, 1], [0, 0], [0, 0]], [[0, 0], [0, 0], [1, -1], [0, 0]], zero, zero]);
    const mq = masks([[[0, 0], [1, -1], [0, 0], [0, 0]], [[0, 0], [0, 0], [1, -1], [0, 0]], zero, zero]);
    const acc = new DetectionAccumulator();
    acc.add(ref, q, 0, { ref: mref, q: mq });
    const r = acc.result();
    expect(r.detections.fp32).toBe(3);
    expect(r.detections.int8).toBe(3);
    expect(r.detections.matched).toBe(2);
    expect(r.detections.agreement).toBeCloseTo(2 / 3, 12);
    expect(r.detections.meanBoxIoU).toBeCloseTo((1 + 100 / 150) / 2, 6);
    expect(r.detections.classAgreement).toBeCloseTo(2 / 3, 12);
    expect(r.detections.meanAbsScoreDelta).toBeCloseTo((0.05 + 0.2) / 2, 6);
    // row 0 class 1: {1,1} vs {1,-1} → 1/2; row 1 class 2: identical → 1
    expect(r.masks).toEqual({ meanMaskIoU: 0.75, compared: 2 });
  });
  it('no detections on either side is full agreement', () => {
    const acc = new DetectionAccumulator();
    acc.add(tensor([[0, 0, 1, 1, 1, 0.1]]), tensor([[0, 0, 1, 1, 1, 0.2]]), 0);
    expect(acc.result().detections).toMatchObject({ fp32: 0, int8: 0, matched: 0, agreement: 1 });
  });
});

describe('row alignment', () => {
  it('lines swapped rows back up and keeps unmatched rows in order', () => {
    const ref = tensor([[0, 0, 10, 10, 1, 0.9], [20, 20, 30, 30, 2, 0.8], [90, 90, 99, 99, 1, 0.1]]);
    const q = tensor([[20, 20, 30, 30, 2, 0.85], [0, 0, 10, 10, 1, 0.84], [60, 60, 70, 70, 1, 0.1]]);
    const perm = alignRows(ref.data, q.data, ref.dims, 0);
    expect(perm).toEqual([1, 0, 2]);
    expect(Array.from(permuteRows(q.data, q.dims, 0, perm).subarray(0, 6))).toEqual(Array.from(q.data.subarray(6, 12)));
  });
  it('finds TAO outputs by name, else by shape', () => {
    expect(findDetectionOutputs([{ name: 'generate_detections', dims: [1, 100, 6] }, { name: 'mask_fcn_logits/BiasAdd', dims: [1, 100, 91, 28, 28] }])).toEqual({ detections: 'generate_detections', masks: 'mask_fcn_logits/BiasAdd' });
    expect(findDetectionOutputs([{ name: 'out', dims: [1, 10, 6] }])).toEqual({ detections: 'out' });
    expect(findDetectionOutputs([{ name: 'logits', dims: [1, 1000] }])).toEqual({});
  });
});
