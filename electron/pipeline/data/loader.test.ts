import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { named, skimagePhotos } from '../../../test/support/needs.js';
import { isStudioError } from '../../../shared/errors.js';
import { createImageListSource } from './image-dir.js';
import { createPreprocessPool, prefetchBatches } from './loader.js';
import { preprocessInThread, resolvePreprocessing, sampleDims } from './preprocess.js';
import { tempDir, unitPp, writeSolid } from './test-images.js';
import type { Batch } from './types.js';

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const photos = ['camera.png', 'chelsea.png', 'hubble_deep_field.jpg'].map((n) => path.join(SKIMAGE, n));
const PHOTOS = skimagePhotos('camera.png', 'chelsea.png', 'hubble_deep_field.jpg');
const havePhotos = PHOTOS.ok;

let dir: string;
let files: string[];
beforeAll(async () => {
  dir = await tempDir();
  files = [];
  for (let i = 0; i < 11; i++) files.push(await writeSolid(path.join(dir, `im${String(i).padStart(2, '0')}.png`), 10 + 20 * i, 16 + i, 10));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('worker pool', () => {
  it.skipIf(!havePhotos)(named('gives bit-identical tensors to the in-thread path on real photos', PHOTOS), async () => {
    const pool = await createPreprocessPool({ size: 2 });
    try {
      const pp = resolvePreprocessing(undefined, { specImageSize: [128, 192] });
      const [inWorker, inThread] = await Promise.all([
        Promise.all(photos.map((p) => pool.preprocess({ path: p }, pp, p))),
        Promise.all(photos.map((p) => preprocessInThread({ path: p }, pp, p))),
      ]);
      inWorker.forEach((t, i) => expect(t).toEqual(inThread[i]));
      // bytes input too
      const bytes = await fs.readFile(photos[0]!);
      expect(await pool.preprocess({ bytes }, pp, 'astro')).toEqual(inThread[0]);
      expect(bytes.length).toBeGreaterThan(0); // the caller's buffer is not detached
    } finally {
      await pool.close();
    }
    expect(pool.liveWorkers).toBe(0);
  });

  it('turns a worker-side failure into the same StudioError', async () => {
    const pool = await createPreprocessPool({ size: 1 });
    try {
      const e = await pool.preprocess({ bytes: new TextEncoder().encode('nope') }, unitPp(), 'bad.jpg').catch((x: unknown) => x);
      expect(isStudioError(e) && e.code).toBe('E_IMAGE_DECODE');
      expect(isStudioError(e) && e.location.file).toBe('bad.jpg');
      // the pool keeps working after an item error
      expect((await pool.preprocess({ path: files[0]! }, unitPp(), 'ok')).length).toBe(3 * 6 * 8);
    } finally {
      await pool.close();
    }
  });

  it('reports a crashed worker as E_WORKER_CRASHED and rejects what was queued', async () => {
    const crash = path.join(dir, 'crash-worker.mjs');
    await fs.writeFile(crash, "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => { throw new Error('boom'); });\n");
    const pool = await createPreprocessPool({ size: 1, workerUrl: new URL(`file://${crash}`) });
    const results = await Promise.allSettled([1, 2, 3].map((i) => pool.preprocess({ path: files[0]! }, unitPp(), `x${i}`)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason as unknown;
      expect(isStudioError(reason) && reason.code).toBe('E_WORKER_CRASHED');
    }
    await pool.close();
    expect(pool.liveWorkers).toBe(0);
  });
});

describe('prefetchBatches', () => {
  it('keeps source order and is deterministic, with workers or in-thread', async () => {
    const pp = unitPp();
    const pool = await createPreprocessPool({ size: 2 });
    try {
      const viaPool = createImageListSource({ files, pp, preprocess: pool.preprocess, concurrency: 4 });
      const inThread = createImageListSource({ files, pp });
      const a = prefetchBatches(viaPool, 4, { sampleDims: sampleDims(pp) });
      const batchesA = await collect(a);
      const batchesB = await collect(prefetchBatches(inThread, 4, { sampleDims: sampleDims(pp), depth: 1 }));
      expect(batchesA.map((b) => b.count)).toEqual([4, 4, 3]);
      expect(batchesA[0]!.dims).toEqual([4, 3, 6, 8]);
      expect(batchesA.flatMap((b) => b.ids)).toEqual(files);
      // red channel of sample k is (10 + 20k) / 255 everywhere
      batchesA.forEach((b, bi) => b.ids.forEach((_, j) => expect(b.data[j * 144]).toBeCloseTo((10 + 20 * (bi * 4 + j)) / 255, 6)));
      batchesA.forEach((b, i) => expect(b.data).toEqual(batchesB[i]!.data));
      expect(a.stats).toMatchObject({ batches: 3, samples: 11 });
      expect(a.stats.waitMs).toBeGreaterThanOrEqual(0);
      expect(a.stats.produceMs).toBeGreaterThan(0);
      const dropped = await collect(prefetchBatches(inThread, 4, { sampleDims: sampleDims(pp), dropPartial: true }));
      expect(dropped.map((b) => b.count)).toEqual([4, 4]);
    } finally {
      await pool.close();
    }
  });

  it('cancellation stops the iteration and every worker thread', async () => {
    const pp = unitPp();
    const ac = new AbortController();
    const pool = await createPreprocessPool({ size: 2, signal: ac.signal });
    expect(pool.liveWorkers).toBe(2);
    const src = createImageListSource({ files, pp, preprocess: pool.preprocess, concurrency: 3 });
    let seen = 0;
    const err = await (async () => {
      for await (const _ of prefetchBatches(src, 2, { sampleDims: sampleDims(pp), signal: ac.signal })) {
        if (++seen === 1) ac.abort();
      }
    })().catch((e: unknown) => e);
    expect(isStudioError(err) && err.code).toBe('E_CANCELLED');
    expect(seen).toBe(1);
    await pool.close();
    expect(pool.liveWorkers).toBe(0);
    const after = await pool.preprocess({ path: files[0]! }, pp, 'late').catch((e: unknown) => e);
    expect(isStudioError(after) && after.code).toBe('E_CANCELLED');
  });

  it('a consumer that stops early ends the producer', async () => {
    const pp = unitPp();
    const src = createImageListSource({ files, pp });
    const it = prefetchBatches(src, 2, { sampleDims: sampleDims(pp), depth: 3 });
    for await (const b of it) {
      expect(b.count).toBe(2);
      break;
    }
    expect(it.stats.batches).toBe(1);
  });
});
