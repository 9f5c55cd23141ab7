import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeExample } from '../data/example.js';
import { writeTfRecordFile } from '../data/tfrecord.js';
import { createSpecLoaderSource } from '../data/spec-loader.js';
import { tempDir, unitPp, writeSolid } from '../data/test-images.js';
import type { SampleSource } from '../data/types.js';
import { calibrationSelection, selectHeldOut, type HeldOutRequest } from './heldout.js';

const pp = unitPp(6, 8);
let dir = '';

async function ids(src: SampleSource): Promise<string[]> {
  const out: string[] = [];
  for await (const s of src.samples()) out.push(s.id);
  return out;
}

beforeAll(async () => {
  dir = await tempDir('es-heldout-');
  await fs.mkdir(path.join(dir, 'tf'));
  await fs.mkdir(path.join(dir, 'imgs'));
  const shard = async (name: string, n: number, offset: number) => {
    const recs: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const png = await sharp({ create: { width: 10, height: 8, channels: 3, background: { r: (offset + i) * 9, g: 40, b: 90 } } }).png().toBuffer();
      recs.push(encodeExample({ 'image/encoded': { kind: 'bytes', value: [png] } }));
    }
    await writeTfRecordFile(path.join(dir, 'tf', name), recs);
  };
  await shard('train-0.tfrecord', 9, 0);
  await shard('train-1.tfrecord', 7, 9);
  await shard('val-0.tfrecord', 5, 16);
  for (let i = 0; i < 10; i++) await writeSolid(path.join(dir, 'imgs', `im${i}.png`), i * 20);
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const base = (over: Partial<HeldOutRequest['calibration']>): HeldOutRequest['calibration'] => ({ source: 'spec-loader', seed: 42, batches: 2, batchSize: 3, ...over });

describe('selectHeldOut', () => {
  it('spec loader without validation records: training records never in the calibration selection (any seed, any size)', async () => {
    const spec = { dir, trainingPattern: 'tf/train-*.tfrecord' };
    for (const seed of [0, 1, 42, 7]) {
      for (const [batches, images] of [[2, 4], [4, 8], [1, 3]] as const) {
        const calibration = base({ seed, batches });
        const cal = new Set(await calibrationSelection({ calibration, spec, pp }));
        // The rebuilt selection is the calibration source's own (main + reserve).
        const direct = await createSpecLoaderSource({ pattern: spec.trainingPattern, specDir: dir, count: batches * 3, seed, preprocessing: pp, preprocess: async () => new Float32Array(0) });
        expect([...cal]).toEqual(direct.selection);
        const h = await selectHeldOut({ calibration, spec, images, pp });
        expect(h.source).toBeDefined();
        const got = await ids(h.source!);
        expect(got).toHaveLength(Math.min(images, 16 - cal.size));
        for (const id of got) expect(cal.has(id)).toBe(false);
        expect(new Set(got).size).toBe(got.length);
      }
    }
  });

  it('prefers validation_file_pattern, and reports "no held-out data" when the pool is used up', async () => {
    const h = await selectHeldOut({ calibration: base({}), spec: { dir, trainingPattern: 'tf/train-*.tfrecord', validationPattern: 'tf/val-*.tfrecord' }, images: 8, pp });
    const got = await ids(h.source!);
    expect(got).toHaveLength(5);
    for (const id of got) expect(path.basename(id)).toMatch(/^val-0\.tfrecord#\d$/);
    const none = await selectHeldOut({ calibration: base({ batches: 6 }), spec: { dir, trainingPattern: 'tf/train-*.tfrecord' }, images: 8, pp });
    expect(none.source).toBeUndefined();
    expect('reason' in none && none.reason).toMatch(/no held-out data/);
  });

  it('image folder: only images the calibration did not select (reserve included)', async () => {
    const calibration = base({ source: 'image-dir', imageDir: path.join(dir, 'imgs'), batches: 1, batchSize: 4 });
    const cal = new Set(await calibrationSelection({ calibration, pp }));
    expect(cal.size).toBe(8); // 4 + a reserve of 4
    const h = await selectHeldOut({ calibration, images: 8, pp });
    const got = await ids(h.source!);
    expect(got.sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => path.join(dir, 'imgs', `im${i}.png`))
        .filter((f) => !cal.has(f))
        .sort(),
    );
  });

  it('image list: the other images of the same folder', async () => {
    const listed = [0, 1, 2].map((i) => path.join(dir, 'imgs', `im${i}.png`));
    const h = await selectHeldOut({ calibration: base({ source: 'images', images: listed }), images: 3, pp });
    const got = await ids(h.source!);
    expect(got).toHaveLength(3);
    for (const id of got) expect(listed).not.toContain(id);
  });

  it('tensorfile / cache: validation records when the spec has them, else skipped with a reason', async () => {
    const none = await selectHeldOut({ calibration: base({ source: 'tensorfile' }), images: 4, pp });
    expect('reason' in none && none.reason).toMatch(/no held-out data/);
    const v = await selectHeldOut({ calibration: base({ source: 'cache' }), spec: { dir, validationPattern: 'tf/val-*.tfrecord' }, images: 4, pp });
    expect(await ids(v.source!)).toHaveLength(4);
  });
});
