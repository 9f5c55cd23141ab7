import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { axisWeights, resizeBilinear, type ResizeMapping } from './resize.js';

const f32 = (a: number[]) => Float32Array.from(a);
const resize1d = (v: number[], out: number, mapping: ResizeMapping) => [...resizeBilinear(f32(v), 1, v.length, 1, 1, out, mapping)];

/** Straight per-pixel formula from TF's resize_bilinear_op.cc, in float64, no caching. */
function reference(src: Float32Array, h: number, w: number, c: number, oh: number, ow: number, mapping: ResizeMapping): Float64Array {
  const pos = (i: number, inSize: number, outSize: number) => {
    const s = inSize / outSize;
    const p = mapping === 'asymmetric' ? i * s : (i + 0.5) * s - 0.5;
    const lo = Math.floor(p);
    return { lo: Math.max(lo, 0), hi: Math.min(Math.ceil(p), inSize - 1), t: p - lo };
  };
  const out = new Float64Array(oh * ow * c);
  for (let y = 0; y < oh; y++) {
    const py = pos(y, h, oh);
    for (let x = 0; x < ow; x++) {
      const px = pos(x, w, ow);
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number) => src[(yy * w + xx) * c + k]!;
        const top = at(py.lo, px.lo) + (at(py.lo, px.hi) - at(py.lo, px.lo)) * px.t;
        const bot = at(py.hi, px.lo) + (at(py.hi, px.hi) - at(py.hi, px.lo)) * px.t;
        out[(y * ow + x) * c + k] = top + (bot - top) * py.t;
      }
    }
  }
  return out;
}

describe('resizeBilinear', () => {
  it('upscales a 4→8 ramp like TF2 (half-pixel) and TF1 (asymmetric)', () => {
    // Hand-computed: half-pixel samples 3.25 etc. clamp at the last pixel.
    expect(resize1d([0, 100, 200, 40], 8, 'half-pixel')).toEqual([0, 25, 75, 125, 175, 160, 80, 40]);
    expect(resize1d([0, 100, 200, 40], 8, 'asymmetric')).toEqual([0, 50, 100, 150, 200, 120, 40, 40]);
  });

  it('downscales 8→3 without antialiasing', () => {
    const sq = [0, 1, 4, 9, 16, 25, 36, 49];
    // asymmetric: positions 0, 2.667, 5.333; half-pixel: 0.833, 3.5, 6.167
    const a = resize1d(sq, 3, 'asymmetric');
    expect(a[0]).toBe(0);
    expect(a[1]).toBeCloseTo(4 + 5 * (8 / 3 - 2), 5);
    expect(a[2]).toBeCloseTo(25 + 11 * (16 / 3 - 5), 5);
    const h = resize1d(sq, 3, 'half-pixel');
    expect(h[0]).toBeCloseTo(0 + 1 * (5 / 6), 5);
    expect(h[1]).toBeCloseTo(12.5, 5);
    expect(h[2]).toBeCloseTo(36 + 13 * (1 / 6), 4);
  });

  it('resizes a non-square 2×3 image to 3×2 (both axes at once)', () => {
    const src = f32([0, 10, 20, 100, 110, 120]);
    const out = resizeBilinear(src, 2, 3, 1, 3, 2, 'asymmetric');
    // rows at 0, 2/3, 4/3→clamped to row 1; columns at 0, 1.5
    const want = [0, 15, 200 / 3, 200 / 3 + 15, 100, 115];
    [...out].forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
  });

  it('is the identity at the same size', () => {
    const src = Float32Array.from({ length: 5 * 7 * 3 }, (_, i) => (i * 37) % 255);
    for (const m of ['asymmetric', 'half-pixel'] as const) expect(resizeBilinear(src, 5, 7, 3, 5, 7, m)).toEqual(src);
  });

  it('writes into the top-left of a wider padded buffer and leaves the rest untouched', () => {
    const out = new Float32Array(3 * 5).fill(-1);
    resizeBilinear(f32([1, 2, 3, 4]), 2, 2, 1, 3, 3, 'asymmetric', { out, outRowPixels: 5 });
    for (let y = 0; y < 3; y++) expect([...out.subarray(y * 5 + 3, y * 5 + 5)]).toEqual([-1, -1]);
    expect(out[0]).toBe(1);
  });

  it('matches the per-pixel TF formula on random images, sizes and channel counts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 3 }), fc.constantFrom<ResizeMapping>('asymmetric', 'half-pixel'), fc.integer(),
        (h, w, oh, ow, c, mapping, seed) => {
          const src = Float32Array.from({ length: h * w * c }, (_, i) => ((seed ^ (i * 2654435761)) >>> 0) % 256);
          const got = resizeBilinear(src, h, w, c, oh, ow, mapping);
          const want = reference(src, h, w, c, oh, ow, mapping);
          for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-3);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('computes TF float32 positions (scale rounded to float32)', () => {
    const ax = axisWeights(3, 8, 'asymmetric');
    expect([...ax.lower]).toEqual([0, 0, 0, 1, 1, 1, 2, 2]);
    expect([...ax.upper]).toEqual([0, 1, 1, 2, 2, 2, 2, 2]);
    expect(ax.lerp[1]).toBe(Math.fround(Math.fround(3 / 8)));
  });
});
