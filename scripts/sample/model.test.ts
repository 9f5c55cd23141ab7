import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, inspectModel, onnx } from '../../electron/pipeline/onnx/index.js';
import { buildSampleModel, buildSampleModelProto, SAMPLE_DETECTIONS, SAMPLE_INPUT, SAMPLE_MASKS } from './model.js';

const H = 320;
const W = 512;
const C = 5;
const D = 100;
const PHOTOS = ['/usr/lib/python3/dist-packages/skimage/data/astronaut.png', '/usr/lib/python3/dist-packages/skimage/data/coffee.png'];
const havePhotos = PHOTOS.every((p) => existsSync(p));

/** TAO Mask R-CNN preprocessing (stretched to the model size here): (x/255 − mean)/0.224, NCHW. */
async function photoTensor(file: string): Promise<Float32Array> {
  const rgb = await sharp(file).resize(W, H, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const mean = [0.485, 0.456, 0.406];
  const out = new Float32Array(3 * H * W);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) out[c * H * W + i] = ((rgb[i * 3 + c] ?? 0) / 255 - (mean[c] ?? 0)) / 0.224;
  return out;
}

/** A smooth synthetic image when the photos are not installed. */
function syntheticTensor(seed: number): Float32Array {
  const out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[(c * H + y) * W + x] = Math.sin((x + seed * 37) / (20 + c * 7)) * Math.cos((y - seed * 11) / (15 + c * 5)) * 2;
  return out;
}

function stats(d: Float32Array): { min: number; max: number; mean: number; std: number; finite: boolean; nonzero: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sq = 0;
  let finite = true;
  let nonzero = 0;
  for (const v of d) {
    if (!Number.isFinite(v)) finite = false;
    if (v !== 0) nonzero++;
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    sq += v * v;
  }
  const mean = sum / d.length;
  return { min, max, mean, std: Math.sqrt(Math.max(0, sq / d.length - mean * mean)), finite, nonzero: nonzero / d.length };
}

describe('buildSampleModel', () => {
  const opts = { height: H, width: W, numClasses: C, seed: 1 };
  let bytes: Uint8Array;
  let session: ort.InferenceSession;
  let images: Float32Array[];

  beforeAll(async () => {
    bytes = buildSampleModel(opts);
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
    images = havePhotos ? await Promise.all(PHOTOS.map(photoTensor)) : [syntheticTensor(1), syntheticTensor(2)];
  });
  afterAll(async () => {
    await session?.release();
  });

  it('is deterministic per seed, small, and declares TAO names with a symbolic batch', () => {
    expect(Buffer.from(buildSampleModel(opts)).equals(Buffer.from(bytes))).toBe(true);
    const other = buildSampleModel({ ...opts, seed: 2 });
    expect(createHash('sha256').update(other).digest('hex')).not.toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(bytes.length).toBeGreaterThan(500_000);
    expect(bytes.length).toBeLessThan(5_000_000);
    const s = inspectModel(bytes, { format: 'onnx', fileBytes: bytes.length, sha256: '0'.repeat(64) });
    expect(s.irVersion).toBe(8);
    expect(s.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(s.inputs).toEqual([{ name: SAMPLE_INPUT, type: 'float32', shape: ['N', 3, H, W] }]);
    expect(s.outputs).toEqual([
      { name: SAMPLE_DETECTIONS, type: 'float32', shape: ['N', D, 6] },
      { name: SAMPLE_MASKS, type: 'float32', shape: ['N', D, C, 28, 28] },
    ]);
    expect(s.customOps).toEqual([]);
    for (const op of ['Conv', 'Relu', 'MaxPool', 'Resize', 'Add', 'RoiAlign', 'Softmax', 'ReduceMax', 'ArgMax', 'Concat', 'Reshape', 'ConvTranspose', 'TopK']) {
      expect(s.opCounts[op], op).toBeGreaterThan(0);
    }
    const names = new Set(buildSampleModelProto(opts).graph?.node?.map((n) => n.name));
    for (const n of ['conv1/Conv2D', 'block_1a_conv_1/Conv2D', 'multilevel_crop_resize/RoiAlign', 'mask_fcn_logits/Reshape']) expect(names.has(n), n).toBe(true);
  });

  it('runs at batch 1 and 2 with declared shapes, boxes inside the image, valid classes, sorted scores', async () => {
    const [a, b] = images as [Float32Array, Float32Array];
    const one = await session.run({ [SAMPLE_INPUT]: new ort.Tensor('float32', a, [1, 3, H, W]) });
    const both = new Float32Array(2 * 3 * H * W);
    both.set(a);
    both.set(b, 3 * H * W);
    const two = await session.run({ [SAMPLE_INPUT]: new ort.Tensor('float32', both, [2, 3, H, W]) });

    for (const [n, out] of [[1, one], [2, two]] as const) {
      expect(out[SAMPLE_DETECTIONS]?.dims).toEqual([n, D, 6]);
      expect(out[SAMPLE_MASKS]?.dims).toEqual([n, D, C, 28, 28]);
      const det = out[SAMPLE_DETECTIONS]?.data as Float32Array;
      expect(stats(out[SAMPLE_MASKS]?.data as Float32Array).finite).toBe(true);
      for (let i = 0; i < n * D; i++) {
        const [y1, x1, y2, x2, cls, score] = Array.from(det.subarray(i * 6, i * 6 + 6));
        for (const v of [y1, x1, y2, x2, cls, score]) expect(Number.isFinite(v)).toBe(true);
        expect(y1).toBeGreaterThanOrEqual(0);
        expect(x1).toBeGreaterThanOrEqual(0);
        expect(y2).toBeLessThanOrEqual(H);
        expect(x2).toBeLessThanOrEqual(W);
        expect(y2).toBeGreaterThan(y1 ?? 0);
        expect(x2).toBeGreaterThan(x1 ?? 0);
        expect(Number.isInteger(cls)).toBe(true);
        expect(cls).toBeGreaterThanOrEqual(1);
        expect(cls).toBeLessThan(C);
        expect(score).toBeGreaterThan(0);
        expect(score).toBeLessThanOrEqual(1);
        if (i % D !== 0) expect(score).toBeLessThanOrEqual(det[(i - 1) * 6 + 5] ?? 0);
      }
    }
    // Batch plumbing (RoiAlign batch indices) is right: image 0 of the batch equals the single run,
    // and image 1 differs from image 0.
    const d1 = one[SAMPLE_DETECTIONS]?.data as Float32Array;
    const d2 = two[SAMPLE_DETECTIONS]?.data as Float32Array;
    const m1 = one[SAMPLE_MASKS]?.data as Float32Array;
    const m2 = two[SAMPLE_MASKS]?.data as Float32Array;
    for (let i = 0; i < d1.length; i++) expect(Math.abs((d2[i] ?? 0) - (d1[i] ?? 0))).toBeLessThan(1e-3);
    let maxDiff = 0;
    for (let i = 0; i < m1.length; i += 97) maxDiff = Math.max(maxDiff, Math.abs((m2[i] ?? 0) - (m1[i] ?? 0)));
    expect(maxDiff).toBeLessThan(1e-3);
    let differs = 0;
    for (let i = 0; i < d1.length; i++) if (Math.abs((d2[d1.length + i] ?? 0) - (d1[i] ?? 0)) > 1e-3) differs++;
    expect(differs).toBeGreaterThan(D);
  });

  it('keeps activations in a sane range on a real photo (no vanishing, no explosion)', async () => {
    const model = buildSampleModelProto(opts);
    const probes = ['conv1/Relu', 'block_1a_conv_1/Relu', 'block_2a_conv_1/Relu', 'block_3a_conv_1/Relu', 'post_hoc_d4/BiasAdd', 'fc7/Relu', 'class-predict/BiasAdd', 'conv5-mask/Relu', SAMPLE_MASKS];
    // Name-only outputs: ORT infers their types (fine for a probe, not for a shipped model).
    for (const p of probes) if (!model.graph?.output?.some((o) => o.name === p)) model.graph?.output?.push(onnx.ValueInfoProto.create({ name: p }));
    const s = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 2 });
    try {
      const out = await s.run({ [SAMPLE_INPUT]: new ort.Tensor('float32', images[0] as Float32Array, [1, 3, H, W]) }, probes);
      for (const p of probes) {
        const st = stats(out[p]?.data as Float32Array);
        expect(st.finite, p).toBe(true);
        expect(st.std, `${p} std ${st.std}`).toBeGreaterThan(0.1);
        expect(st.std, `${p} std ${st.std}`).toBeLessThan(20);
        expect(st.nonzero, `${p} nonzero fraction`).toBeGreaterThan(0.2);
      }
      // Scores are neither saturated nor flat: the top detection is confident, not certain.
      const det = (await session.run({ [SAMPLE_INPUT]: new ort.Tensor('float32', images[0] as Float32Array, [1, 3, H, W]) }))[SAMPLE_DETECTIONS]?.data as Float32Array;
      expect(det[5]).toBeGreaterThan(1 / (C - 1));
      expect(det[5]).toBeLessThan(0.99);
    } finally {
      await s.release();
    }
  });

  it('rejects options it cannot build', () => {
    expect(() => buildSampleModel({ ...opts, numClasses: 1 })).toThrow(/numClasses/);
    expect(() => buildSampleModel({ ...opts, maskSize: 27 })).toThrow(/maskSize/);
  });
});
