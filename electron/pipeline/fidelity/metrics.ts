/**
 * Tensor agreement metrics for the INT8 fidelity report: FP32 reference x vs quantized y.
 *
 * SNR (ORT's qdq_loss_debug "SQNR") = 20·log10(‖x‖/‖x−y‖) = 10·log10(Σx²/Σ(x−y)²), computed over
 * every value of every image compared (one figure per output). Identical tensors have no error:
 * the SNR is capped at SNR_CAP_DB (200 dB, beyond float32's ~140 dB resolution) so the report
 * stays JSON-safe (JSON has no Infinity). NaN or ±∞ anywhere counts as total loss: cosine 0,
 * SNR −SNR_CAP_DB, max error +∞ reported as Number.MAX_VALUE.
 */

export const SNR_CAP_DB = 200;

/** Running sums over any number of (x, y) chunks. */
export class AgreementAccumulator {
  private xx = 0;
  private yy = 0;
  private xy = 0;
  private ee = 0;
  private maxAbs = 0;
  private bad = false;
  private n = 0;
  private mismatched = 0;

  /**
   * Like add(), for outputs whose size depends on the data (detections after NMS, NonZero): when
   * INT8 gives a different number of values than FP32, the shorter is padded with zeros, so every
   * value one run has and the other lacks counts as error (never skipped), and the image is counted
   * in `sizeMismatch`.
   */
  addAny(x: ArrayLike<number>, y: ArrayLike<number>): void {
    if (x.length === y.length) return this.add(x, y);
    const n = Math.max(x.length, y.length);
    const px = new Float64Array(n);
    const py = new Float64Array(n);
    for (let i = 0; i < x.length; i++) px[i] = x[i]!;
    for (let i = 0; i < y.length; i++) py[i] = y[i]!;
    this.add(px, py);
    this.mismatched++;
  }

  add(x: ArrayLike<number>, y: ArrayLike<number>): void {
    if (x.length !== y.length) throw new RangeError(`metrics: ${x.length} reference values vs ${y.length} compared values`);
    let xx = 0;
    let yy = 0;
    let xy = 0;
    let ee = 0;
    let m = this.maxAbs;
    for (let i = 0; i < x.length; i++) {
      const a = x[i]!;
      const b = y[i]!;
      const d = a - b;
      xx += a * a;
      yy += b * b;
      xy += a * b;
      ee += d * d;
      const ad = Math.abs(d);
      if (ad > m) m = ad;
      else if (ad !== ad) this.bad = true; // NaN
    }
    if (!Number.isFinite(xx + yy + ee)) this.bad = true;
    this.xx += xx;
    this.yy += yy;
    this.xy += xy;
    this.ee += ee;
    this.maxAbs = m;
    this.n += x.length;
  }

  get count(): number {
    return this.n;
  }

  /**
   * zeroReference: both runs were zero in every value compared (or had no values: an output with
   * a data-dependent size that came out empty), so the output has no signal to measure INT8's
   * error against (its SNR and cosine say nothing; the gate skips it). A zero FP32 output that
   * INT8 makes non-zero is not that: it keeps its floor SNR and fails.
   */
  result(): { cosine: number; snrDb: number; maxAbsError: number; zeroReference?: true; sizeMismatch?: number } {
    const mismatch = this.mismatched ? { sizeMismatch: this.mismatched } : {};
    if (this.bad) return { cosine: 0, snrDb: -SNR_CAP_DB, maxAbsError: Number.MAX_VALUE, ...mismatch };
    return { cosine: cosineOf(this.xx, this.yy, this.xy), snrDb: snrOf(this.xx, this.ee), maxAbsError: this.maxAbs, ...(this.xx === 0 && this.ee === 0 ? { zeroReference: true as const } : {}), ...mismatch };
  }
}

function cosineOf(xx: number, yy: number, xy: number): number {
  if (xx === 0 && yy === 0) return 1; // both all-zero: identical
  if (xx === 0 || yy === 0) return 0;
  return Math.max(-1, Math.min(1, xy / Math.sqrt(xx * yy)));
}

function snrOf(signal: number, noise: number): number {
  if (noise === 0) return SNR_CAP_DB;
  if (signal === 0) return -SNR_CAP_DB;
  return Math.max(-SNR_CAP_DB, Math.min(SNR_CAP_DB, 10 * Math.log10(signal / noise)));
}

/** Cosine similarity, SNR in dB and max |x−y| of two equally long arrays. */
export function compareTensors(x: ArrayLike<number>, y: ArrayLike<number>): { cosine: number; snrDb: number; maxAbsError: number; zeroReference?: true } {
  const acc = new AgreementAccumulator();
  acc.add(x, y);
  return acc.result();
}

/** Axis-aligned box as [y1, x1, y2, x2] (TAO's generate_detections order). */
export type Box = readonly [number, number, number, number];

/** Intersection over union of two boxes; 0 when both are empty. */
export function boxIoU(a: Box, b: Box): number {
  const ih = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const iw = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = ih > 0 && iw > 0 ? ih * iw : 0;
  const area = (r: Box) => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * IoU of two masks given as logits, thresholded at sigmoid(v) > 0.5 ⟺ v > 0. Two empty masks
 * agree perfectly (IoU 1).
 */
export function maskIoU(a: ArrayLike<number>, b: ArrayLike<number>, threshold = 0): number {
  if (a.length !== b.length) throw new RangeError(`maskIoU: masks of ${a.length} and ${b.length} values`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const pa = a[i]! > threshold;
    const pb = b[i]! > threshold;
    if (pa && pb) inter++;
    if (pa || pb) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/**
 * What symmetric int8 fake quantization (scale = amax/127, zero point 0, round half to even,
 * saturate to [−128, 127]: ONNX QuantizeLinear → DequantizeLinear) does to x, without a session:
 * the SNR of the dequantized values and the fraction of values clipped.
 */
export function fakeQuantError(x: ArrayLike<number>, amax: number): { snrDb: number; clipped: number } {
  const s = amax / 127;
  if (!(s > 0) || !Number.isFinite(s)) return { snrDb: -SNR_CAP_DB, clipped: 1 };
  let xx = 0;
  let ee = 0;
  let clipped = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    let q = roundHalfEven(v / s);
    if (q > 127) {
      q = 127;
      clipped++;
    } else if (q < -128) {
      q = -128;
      clipped++;
    }
    const d = v - q * s;
    xx += v * v;
    ee += d * d;
  }
  if (!Number.isFinite(xx + ee)) return { snrDb: -SNR_CAP_DB, clipped: x.length ? clipped / x.length : 0 };
  return { snrDb: snrOf(xx, ee), clipped: x.length ? clipped / x.length : 0 };
}

export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  // Math.round rounds .5 up; ties go to the even neighbour instead.
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
