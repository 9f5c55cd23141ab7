/**
 * Detection-level agreement for Mask R-CNN-shaped outputs (TAO layout):
 *   generate_detections      [N, K, 6]  y1, x1, y2, x2, class id, score
 *   mask_fcn_logits/BiasAdd  [N, K, C, M, M]  per-class mask logits
 *
 * Detections with score ≥ minScore (default 0.5: DeepStream's usual pre-cluster threshold for
 * TAO Mask R-CNN) are matched FP32 ↔ INT8 greedily: every pair with the same class and box
 * IoU ≥ 0.5 (COCO's loosest IoU), highest IoU first (ties: lower FP32 index, then lower INT8
 * index), each detection used once. Class agreement uses a second, class-blind matching: of the
 * boxes both runs found (IoU ≥ 0.5), the fraction labelled with the same class.
 */
import type { FidelityReport } from '../../../shared/report.js';
import { boxIoU, maskIoU, type Box } from './metrics.js';

export interface Detection {
  /** Row within the image's K detections (also the mask row). */
  index: number;
  box: Box;
  cls: number;
  score: number;
}

export interface DetectionOptions {
  minScore?: number;
  minIoU?: number;
}

export const DEFAULT_MIN_SCORE = 0.5;
export const DEFAULT_MIN_IOU = 0.5;

/** The detections of image n in a [N, K, 6] tensor with score ≥ minScore. */
export function parseDetections(data: ArrayLike<number>, dims: readonly number[], n: number, minScore = DEFAULT_MIN_SCORE): Detection[] {
  const k = dims.length === 3 ? dims[1]! : dims.length === 2 ? dims[0]! : 0;
  const width = dims[dims.length - 1];
  if (width !== 6 || k === 0) return [];
  const base = n * k * 6;
  const out: Detection[] = [];
  for (let i = 0; i < k; i++) {
    const o = base + i * 6;
    const score = data[o + 5]!;
    if (!(score >= minScore)) continue;
    out.push({ index: i, box: [data[o]!, data[o + 1]!, data[o + 2]!, data[o + 3]!], cls: Math.round(data[o + 4]!), score });
  }
  return out;
}

export interface Match {
  a: Detection;
  b: Detection;
  iou: number;
}

/** Greedy one-to-one matching by IoU (see the module comment). */
export function matchDetections(fp32: readonly Detection[], int8: readonly Detection[], opts: { minIoU?: number; sameClass?: boolean } = {}): Match[] {
  const minIoU = opts.minIoU ?? DEFAULT_MIN_IOU;
  const sameClass = opts.sameClass ?? true;
  const pairs: { i: number; j: number; iou: number }[] = [];
  fp32.forEach((a, i) =>
    int8.forEach((b, j) => {
      if (sameClass && a.cls !== b.cls) return;
      const iou = boxIoU(a.box, b.box);
      if (iou >= minIoU) pairs.push({ i, j, iou });
    }),
  );
  pairs.sort((p, q) => q.iou - p.iou || p.i - q.i || p.j - q.j);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  const out: Match[] = [];
  for (const p of pairs) {
    if (usedA.has(p.i) || usedB.has(p.j)) continue;
    usedA.add(p.i);
    usedB.add(p.j);
    out.push({ a: fp32[p.i]!, b: int8[p.j]!, iou: p.iou });
  }
  return out;
}

export interface MaskTensor {
  data: ArrayLike<number>;
  /** [N, K, C, M, M] */
  dims: readonly number[];
}

/** One class mask (M×M logits) of detection row k of image n, or undefined when out of range. */
export function classMask(t: MaskTensor, n: number, k: number, cls: number): ArrayLike<number> | undefined {
  if (t.dims.length !== 5) return undefined;
  const [, K, C, H, W] = t.dims as [number, number, number, number, number];
  if (k >= K || cls < 0 || cls >= C) return undefined;
  const size = H * W;
  const start = ((n * K + k) * C + cls) * size;
  if (start + size > t.data.length) return undefined;
  return Array.prototype.slice.call(t.data, start, start + size) as number[];
}

/** Sums over images; `result()` gives the report's `detections` and `masks` parts. */
export class DetectionAccumulator {
  private fp32 = 0;
  private int8 = 0;
  private matched = 0;
  private iouSum = 0;
  private scoreDeltaSum = 0;
  private blind = 0;
  private blindSameClass = 0;
  private maskSum = 0;
  private masks = 0;

  constructor(private readonly opts: DetectionOptions = {}) {}

  /** One image: detection tensors [N, K, 6] (and optional masks) of both runs, image index n. */
  add(ref: { data: ArrayLike<number>; dims: readonly number[] }, q: { data: ArrayLike<number>; dims: readonly number[] }, n: number, masks?: { ref: MaskTensor; q: MaskTensor }): void {
    const minScore = this.opts.minScore ?? DEFAULT_MIN_SCORE;
    const a = parseDetections(ref.data, ref.dims, n, minScore);
    const b = parseDetections(q.data, q.dims, n, minScore);
    const m = matchDetections(a, b, { minIoU: this.opts.minIoU ?? DEFAULT_MIN_IOU, sameClass: true });
    this.fp32 += a.length;
    this.int8 += b.length;
    this.matched += m.length;
    for (const p of m) {
      this.iouSum += p.iou;
      this.scoreDeltaSum += Math.abs(p.a.score - p.b.score);
      if (masks) {
        const ma = classMask(masks.ref, n, p.a.index, p.a.cls);
        const mb = classMask(masks.q, n, p.b.index, p.b.cls);
        if (ma && mb && ma.length === mb.length) {
          this.maskSum += maskIoU(ma, mb);
          this.masks++;
        }
      }
    }
    const blind = matchDetections(a, b, { minIoU: this.opts.minIoU ?? DEFAULT_MIN_IOU, sameClass: false });
    this.blind += blind.length;
    this.blindSameClass += blind.filter((p) => p.a.cls === p.b.cls).length;
  }

  result(): { detections: NonNullable<FidelityReport['detections']>; masks: NonNullable<FidelityReport['masks']> } {
    const most = Math.max(this.fp32, this.int8);
    return {
      detections: {
        fp32: this.fp32,
        int8: this.int8,
        matched: this.matched,
        // Pooled over all images. No detection in either run reads 1 here, but the gate (measuredTerm) takes an FP32 count of 0 as nothing to measure.
        agreement: most === 0 ? 1 : this.matched / most,
        meanBoxIoU: this.matched ? this.iouSum / this.matched : 0,
        classAgreement: this.blind ? this.blindSameClass / this.blind : 1,
        meanAbsScoreDelta: this.matched ? this.scoreDeltaSum / this.matched : 0,
      },
      masks: { meanMaskIoU: this.masks ? this.maskSum / this.masks : 0, compared: this.masks },
    };
  }
}

/** Which outputs look like TAO Mask R-CNN's detections and masks (by name, then by shape). */
export function findDetectionOutputs(outputs: readonly { name: string; dims: readonly number[] }[]): { detections?: string; masks?: string } {
  const det = outputs.find((o) => /generate_detections/.test(o.name)) ?? outputs.find((o) => o.dims.length === 3 && o.dims[2] === 6);
  const masks = outputs.find((o) => /mask_fcn_logits/.test(o.name)) ?? outputs.find((o) => o.dims.length === 5 && o.dims[3] === o.dims[4]);
  return { ...(det ? { detections: det.name } : {}), ...(masks && det ? { masks: masks.name } : {}) };
}

/**
 * Row alignment for the per-output metrics: detections are sorted by score, so a tiny score
 * change swaps rows and an element-wise comparison would count a reordering as error. For each
 * image, INT8 rows are matched to FP32 rows class-blind by box IoU ≥ 0.5 (greedy, as above, all
 * rows whatever their score); unmatched rows keep their order in the remaining slots.
 * Returns perm with perm[i] = the INT8 row that lines up with FP32 row i.
 */
export function alignRows(ref: ArrayLike<number>, q: ArrayLike<number>, dims: readonly number[], n: number): number[] {
  const k = dims.length === 3 ? dims[1]! : 0;
  const a = parseDetections(ref, dims, n, -Infinity);
  const b = parseDetections(q, dims, n, -Infinity);
  const perm = new Array<number>(k).fill(-1);
  const used = new Set<number>();
  for (const m of matchDetections(a, b, { sameClass: false })) {
    perm[m.a.index] = m.b.index;
    used.add(m.b.index);
  }
  const free = Array.from({ length: k }, (_, j) => j).filter((j) => !used.has(j));
  let f = 0;
  for (let i = 0; i < k; i++) if (perm[i] === -1) perm[i] = free[f++]!;
  return perm;
}

/** A copy of `data` ([N, K, …]) with image n's rows reordered: row i ← row perm[i]. */
export function permuteRows(data: Float32Array, dims: readonly number[], n: number, perm: readonly number[], out: Float32Array = Float32Array.from(data)): Float32Array {
  const k = dims[1] ?? 0;
  const row = dims.slice(2).reduce((p, d) => p * d, 1);
  const base = n * k * row;
  for (let i = 0; i < perm.length; i++) out.set(data.subarray(base + perm[i]! * row, base + (perm[i]! + 1) * row), base + i * row);
  return out;
}
