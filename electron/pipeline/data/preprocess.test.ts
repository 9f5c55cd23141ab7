import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { named, skimagePhotos } from '../../../test/support/needs.js';
import { isStudioError, type ErrorCode } from '../../../shared/errors.js';
import { PreprocessingSchema } from '../../../shared/request.js';
import { keepAspectGeometry, preprocessImage, resolvePreprocessing, sampleDims } from './preprocess.js';
import type { ResolvedPreprocessing } from './types.js';

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const PHOTOS = skimagePhotos('astronaut.png');
const haveSkimage = PHOTOS.ok;

const pp = (o: Partial<ResolvedPreprocessing>): ResolvedPreprocessing => ({
  height: 4, width: 6, mean: [0, 0, 0], scale: [1, 1, 1], order: 'rgb', layout: 'nchw', resize: 'keep-aspect-pad', origin: 'test', ...o,
});

/** 2×2 RGB PNG: R [[0,100],[200,40]], G [[10,20],[30,40]], B [[255,0],[0,255]]. */
const tiny = () =>
  sharp(Buffer.from([0, 10, 255, 100, 20, 0, 200, 30, 0, 40, 40, 255]), { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();

function expectClose(got: Float32Array, want: number[]) {
  expect(got.length).toBe(want.length);
  want.forEach((v, i) => expect(got[i], `element ${i}`).toBeCloseTo(v, 4));
}

function codeOf(fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
  } catch (e) {
    return isStudioError(e) ? e.code : undefined;
  }
  return undefined;
}

describe('preprocessImage', () => {
  it('computes the hand-derived tensor: normalize, 2× asymmetric bilinear, zero pad, BGR, NCHW', async () => {
    // mean/scale are in model (BGR) order: B (x−30)·2, G (x−20)·0.25, R (x−10)·0.5.
    // scale = min(4/2, 6/2) = 2 → 4×4 resized, columns 4–5 padded with 0.
    // Asymmetric 2→4 samples source positions 0, 0.5, 1, 1.5 (→ clamped to 1).
    const out = await preprocessImage(await tiny(), pp({ mean: [30, 20, 10], scale: [2, 0.25, 0.5], order: 'bgr' }), 'tiny.png');
    const B = [450, 195, -60, -60, 0, 0, 195, 195, 195, 195, 0, 0, -60, 195, 450, 450, 0, 0, -60, 195, 450, 450, 0, 0];
    const G = [-2.5, -1.25, 0, 0, 0, 0, 0, 1.25, 2.5, 2.5, 0, 0, 2.5, 3.75, 5, 5, 0, 0, 2.5, 3.75, 5, 5, 0, 0];
    const R = [-5, 20, 45, 45, 0, 0, 45, 37.5, 30, 30, 0, 0, 95, 55, 15, 15, 0, 0, 95, 55, 15, 15, 0, 0];
    expectClose(out, [...B, ...G, ...R]);
  });

  it('stretch resizes straight to H×W with no padding', async () => {
    const out = await preprocessImage(await tiny(), pp({ height: 2, width: 4, resize: 'stretch' }), 'tiny.png');
    // R rows: [0, 50, 100, 100] and [200, 120, 40, 40]
    expectClose(out.subarray(0, 8), [0, 50, 100, 100, 200, 120, 40, 40]);
  });

  it('layout and order are pure permutations of one another', async () => {
    const png = await tiny();
    const base = { height: 3, width: 5, mean: [1, 2, 3] as [number, number, number], scale: [0.5, 0.25, 2] as [number, number, number] };
    const rgbNchw = await preprocessImage(png, pp({ ...base, order: 'rgb', layout: 'nchw' }), 't');
    // BGR wants mean/scale in BGR order too.
    const bgrNhwc = await preprocessImage(png, pp({ ...base, mean: [3, 2, 1], scale: [2, 0.25, 0.5], order: 'bgr', layout: 'nhwc' }), 't');
    const plane = 15;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) expect(bgrNhwc[i * 3 + (2 - c)]).toBe(rgbNchw[c * plane + i]);
    }
  });

  it('keeps TF’s truncation of the scaled size (704 rows → 831, not 832)', () => {
    expect(keepAspectGeometry(704, 600, 832, 1344)).toMatchObject({ scaledHeight: 831, scaledWidth: 709 });
    expect(keepAspectGeometry(480, 640, 832, 1344)).toMatchObject({ scaledHeight: 832, scaledWidth: 1109 });
  });

  it.skipIf(!haveSkimage)(named('pads a real photo bottom/right with exact zeros (the mean) in normalized space', PHOTOS), async () => {
    const bytes = await fs.readFile(path.join(SKIMAGE, 'chelsea.png')); // 451 × 300
    const r = resolvePreprocessing(undefined, { specImageSize: [256, 512] });
    const out = await preprocessImage(bytes, r, 'chelsea.png');
    const { scaledHeight: sh, scaledWidth: sw } = keepAspectGeometry(300, 451, 256, 512);
    expect([sh, sw]).toEqual([256, 384]);
    let padNonZero = 0;
    let imageNonZero = 0;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 256; y++) {
        for (let x = 0; x < 512; x++) {
          const v = out[c * 256 * 512 + y * 512 + x]!;
          if (x >= sw || y >= sh) padNonZero += v === 0 ? 0 : 1;
          else imageNonZero += v === 0 ? 0 : 1;
        }
      }
    }
    expect(padNonZero).toBe(0);
    expect(imageNonZero).toBeGreaterThan(sh * sw * 3 * 0.99);
    expect(out.reduce((a, b) => Math.max(a, b), -Infinity)).toBeLessThanOrEqual((255 - 103.53) / 57.12 + 1e-5);
  });
});

describe('resolvePreprocessing', () => {
  it('tao-maskrcnn preset with the spec image size', () => {
    const r = resolvePreprocessing(undefined, { specImageSize: [832, 1344] });
    expect(r).toMatchObject({ height: 832, width: 1344, mean: [123.675, 116.28, 103.53], order: 'rgb', layout: 'nchw', resize: 'keep-aspect-pad' });
    expect(r.scale[0]).toBeCloseTo(1 / 57.12, 12);
    expect(r.origin).toContain('spec image_size (832, 1344)');
  });

  it('imagenet and unit presets; explicit fields override', () => {
    const im = resolvePreprocessing(PreprocessingSchema.parse({ preset: 'imagenet' }), { modelInputShape: [1, 3, 224, 224] });
    expect(im.scale.map((s) => 1 / s)).toEqual([58.395, 57.12, 57.375].map((v) => expect.closeTo(v, 9)));
    const u = resolvePreprocessing(PreprocessingSchema.parse({ preset: 'unit', order: 'bgr', mean: [1, 2, 3], resize: 'keep-aspect-pad' }), { modelInputShape: ['N', 224, 224, 3] });
    expect(u).toMatchObject({ mean: [1, 2, 3], scale: [1 / 255, 1 / 255, 1 / 255], order: 'bgr', layout: 'nhwc', resize: 'keep-aspect-pad', height: 224, width: 224 });
  });

  it('takes layout and size from the model; rank 3 without batch works', () => {
    expect(resolvePreprocessing(undefined, { modelInputShape: [null, 320, 640, 3] })).toMatchObject({ layout: 'nhwc', height: 320, width: 640 });
    expect(resolvePreprocessing(undefined, { modelInputShape: [3, 100, 200] })).toMatchObject({ layout: 'nchw', height: 100, width: 200 });
  });

  it('dynamic H/W need an explicit size or the spec', () => {
    expect(codeOf(() => resolvePreprocessing(undefined, { modelInputShape: ['batch', 3, 'h', 'w'] }))).toBe('E_PREPROCESSING');
    expect(resolvePreprocessing(PreprocessingSchema.parse({ size: [64, 96] }), { modelInputShape: ['batch', 3, 'h', 'w'] })).toMatchObject({ height: 64, width: 96 });
    expect(codeOf(() => resolvePreprocessing(undefined, {}))).toBe('E_PREPROCESSING');
  });

  it('refuses contradictions with the model', () => {
    expect(codeOf(() => resolvePreprocessing(PreprocessingSchema.parse({ layout: 'nhwc' }), { modelInputShape: [1, 3, 8, 8] }))).toBe('E_PREPROCESSING');
    expect(codeOf(() => resolvePreprocessing(PreprocessingSchema.parse({ size: [9, 9] }), { modelInputShape: [1, 3, 8, 8] }))).toBe('E_PREPROCESSING');
    expect(codeOf(() => resolvePreprocessing(undefined, { modelInputShape: [1, 3, 8, 8], specImageSize: [16, 16] }))).toBe('E_MODEL_SPEC_MISMATCH');
    expect(codeOf(() => resolvePreprocessing(undefined, { modelInputShape: [1, 1, 8, 8] }))).toBe('E_PREPROCESSING');
    expect(codeOf(() => resolvePreprocessing(undefined, { modelInputShape: [1, 3, 8] }))).toBe('E_PREPROCESSING'); // C=1
    expect(codeOf(() => resolvePreprocessing(undefined, { modelInputShape: [1, 8] }))).toBe('E_PREPROCESSING');
  });

  it('sampleDims follows the layout', () => {
    expect(sampleDims({ height: 4, width: 6, layout: 'nchw' })).toEqual([3, 4, 6]);
    expect(sampleDims({ height: 4, width: 6, layout: 'nhwc' })).toEqual([4, 6, 3]);
  });
});
