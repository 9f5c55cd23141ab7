import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { named, skimagePhotos } from '../../../test/support/needs.js';
import { isStudioError } from '../../../shared/errors.js';
import { decodeImage } from './decode.js';

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const PHOTOS = skimagePhotos('astronaut.png');
const haveSkimage = PHOTOS.ok;

const solid = (channels: 3 | 4, bg: { r: number; g: number; b: number; alpha?: number }) =>
  sharp({ create: { width: 5, height: 4, channels, background: bg } });

async function decodeError(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('decodeImage', () => {
  it('decodes RGB PNG losslessly to float HWC', async () => {
    const raw = Buffer.from(Array.from({ length: 3 * 2 * 3 }, (_, i) => i * 13));
    const png = await sharp(raw, { raw: { width: 3, height: 2, channels: 3 } }).png().toBuffer();
    const img = await decodeImage(png, 'x.png');
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(img.data).toBeInstanceOf(Float32Array);
    expect([...img.data]).toEqual([...raw]);
  });

  it('expands grayscale to three equal channels', async () => {
    const png = await solid(3, { r: 90, g: 90, b: 90 }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(png).metadata()).channels).toBe(1);
    const img = await decodeImage(png, 'g.png');
    expect(img.data.length).toBe(5 * 4 * 3);
    expect(new Set(img.data)).toEqual(new Set([90]));
  });

  it('drops alpha (gray+alpha and RGBA) without compositing', async () => {
    const ga = await solid(4, { r: 90, g: 90, b: 90, alpha: 0.2 }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(ga).metadata()).channels).toBe(2);
    expect(new Set((await decodeImage(ga, 'ga.png')).data)).toEqual(new Set([90]));
    const rgba = await solid(4, { r: 200, g: 100, b: 50, alpha: 0 }).png().toBuffer();
    const img = await decodeImage(rgba, 'rgba.png');
    expect([...img.data.subarray(0, 6)]).toEqual([200, 100, 50, 200, 100, 50]);
  });

  it('keeps 16-bit PNG precision (scaled to 0–255, not truncated)', async () => {
    const px = new Uint16Array([0, 257, 65535, 1000, 30000, 65534]);
    const png = await sharp(px, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const img = await decodeImage(png, 'p16.png');
    [...px].forEach((v, i) => expect(img.data[i]).toBeCloseTo((v * 255) / 65535, 4));
    expect(Number.isInteger(img.data[4])).toBe(false); // 30000 → 116.73, an 8-bit path gives 117
  });

  it('converts CMYK JPEG to sRGB', async () => {
    const jpg = await solid(3, { r: 200, g: 60, b: 30 }).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    expect((await sharp(jpg).metadata()).space).toBe('cmyk');
    const img = await decodeImage(jpg, 'cmyk.jpg');
    expect(img.data.length).toBe(5 * 4 * 3);
    // Colour-managed round trip: close to the original, not the inverted raw CMYK bytes.
    expect(Math.abs(img.data[0]! - 200)).toBeLessThan(12);
    expect(Math.abs(img.data[1]! - 60)).toBeLessThan(12);
    expect(img.data[2]!).toBeLessThan(45); // CMYK gamut mapping pulls low blue towards 0
  });

  it('does not apply EXIF orientation (TensorFlow ignores it)', async () => {
    const jpg = await sharp({ create: { width: 8, height: 4, channels: 3, background: { r: 9, g: 9, b: 9 } } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpg).metadata()).orientation).toBe(6);
    const img = await decodeImage(jpg, 'rot.jpg');
    expect([img.width, img.height]).toEqual([8, 4]);
  });

  it('rejects truncated JPEGs and non-images with E_IMAGE_DECODE naming the file', async () => {
    const jpg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
    for (const [bytes, id] of [[jpg.subarray(0, jpg.length >> 1), 'cut.jpg'], [Buffer.from('not an image'), 'notes.txt']] as const) {
      const e = await decodeError(decodeImage(bytes, id));
      expect(isStudioError(e) && e.code).toBe('E_IMAGE_DECODE');
      expect(isStudioError(e) && e.location.file).toBe(id);
    }
  });

  it.skipIf(!haveSkimage)(named('decodes real photos: RGB PNG, gray PNG, JPEG', PHOTOS), async () => {
    const astro = await decodeImage(await fs.readFile(path.join(SKIMAGE, 'astronaut.png')), 'astronaut.png');
    expect([astro.width, astro.height]).toEqual([512, 512]);
    const ref = await sharp(path.join(SKIMAGE, 'astronaut.png')).removeAlpha().raw().toBuffer();
    expect(astro.data[1000]).toBe(ref[1000]);
    const camera = await decodeImage(await fs.readFile(path.join(SKIMAGE, 'camera.png')), 'camera.png');
    expect(camera.data[300]).toBe(camera.data[301]);
    expect(camera.data[301]).toBe(camera.data[302]);
    const hubble = await decodeImage(await fs.readFile(path.join(SKIMAGE, 'hubble_deep_field.jpg')), 'hubble.jpg');
    expect(hubble.data.length).toBe(hubble.width * hubble.height * 3);
    expect(Math.max(...hubble.data.subarray(0, 30000))).toBeGreaterThan(0);
  });
});
