/** Test helpers: small real image files written with sharp (imported only by *.test.ts). */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { ResolvedPreprocessing } from './types.js';

export async function tempDir(prefix = 'es-data-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A w×h image whose red channel is `value` everywhere (green/blue vary), as PNG or JPEG. */
export async function writeSolid(file: string, value: number, w = 12, h = 9): Promise<string> {
  const img = sharp({ create: { width: w, height: h, channels: 3, background: { r: value, g: 255 - value, b: 7 } } });
  const buf = file.toLowerCase().endsWith('.png') ? await img.png().toBuffer() : await img.jpeg({ quality: 100 }).toBuffer();
  await fs.writeFile(file, buf);
  return file;
}

/** 0–1 scaling, RGB, NCHW, stretch: sample[0] = red / 255. */
export const unitPp = (height = 6, width = 8): ResolvedPreprocessing => ({
  height, width, mean: [0, 0, 0], scale: [1 / 255, 1 / 255, 1 / 255], order: 'rgb', layout: 'nchw', resize: 'stretch', origin: 'test',
});
