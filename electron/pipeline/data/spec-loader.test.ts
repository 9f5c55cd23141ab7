import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError } from '../../../shared/errors.js';
import { encodeExample } from './example.js';
import { createSpecLoaderSource, SKIP_REASONS, type SpecLoaderOptions } from './spec-loader.js';
import { encodeTfRecordFrame, writeTfRecordFile } from './tfrecord.js';
import type { ResolvedPreprocessing, Sample } from './types.js';

const PHOTO = '/usr/lib/python3/dist-packages/skimage/data/chelsea.png';
const H = 24;
const W = 32;
const pre: ResolvedPreprocessing = { height: H, width: W, mean: [0, 0, 0], scale: [1, 1, 1], order: 'rgb', layout: 'nhwc', resize: 'stretch', origin: 'test' };

/** A stand-in for the real preprocessing (another module): sharp decode + stretch + HWC floats. */
let calls = 0;
async function preprocess(bytes: Uint8Array): Promise<Float32Array> {
  calls++;
  try {
    const { data } = await sharp(bytes).removeAlpha().resize(W, H, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    return Float32Array.from(data);
  } catch (e) {
    throw new StudioError('E_IMAGE_DECODE', `cannot decode: ${(e as Error).message}`, 'test', {}, { cause: e });
  }
}

let dir: string;
const images: Uint8Array[] = [];
/** id → index into `images` for every usable record. */
const good = new Map<string, number>();
const files: string[] = [];
let total = 0;

function exampleFor(img: Uint8Array, n: number): Uint8Array {
  return encodeExample({
    'image/encoded': { kind: 'bytes', value: [img] },
    'image/source_id': { kind: 'bytes', value: [String(n)] },
    'image/format': { kind: 'bytes', value: ['jpeg'] },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'spec-loader-test-'));
  await mkdir(path.join(dir, 'tfrecords'));
  // 12 distinct real-photo crops as JPEG and PNG (or synthetic gradients if the photo is absent).
  const base = existsSync(PHOTO)
    ? sharp(PHOTO)
    : sharp(Buffer.from(Array.from({ length: 300 * 451 * 3 }, (_, i) => (i * 37) % 251)), { raw: { width: 451, height: 300, channels: 3 } });
  const buf = await base.png().toBuffer();
  for (let i = 0; i < 12; i++) {
    const crop = sharp(buf).extract({ left: i * 20, top: (i * 13) % 200, width: 64, height: 48 });
    images.push(new Uint8Array(i % 3 === 2 ? await crop.png().toBuffer() : await crop.jpeg({ quality: 90 }).toBuffer()));
  }
  // Three shards; shard 1 is GZIP. Records: good ones cycle through the images; some are bad.
  const layout: ('good' | 'crc' | 'example' | 'noimage' | 'badimage')[][] = [
    ['good', 'good', 'crc', 'good', 'good', 'good', 'example', 'good', 'good', 'good'],
    ['good', 'good', 'good', 'noimage', 'good', 'good', 'good'],
    ['good', 'good', 'badimage', 'good', 'good', 'good', 'good', 'good', 'good'],
  ];
  let n = 0;
  for (const [s, kinds] of layout.entries()) {
    const file = path.join(dir, 'tfrecords', `train-${String(s).padStart(5, '0')}-of-00003.tfrecord`);
    const recs: Uint8Array[] = [];
    const corruptAt: number[] = [];
    for (const [i, kind] of kinds.entries()) {
      const img = images[n % images.length] as Uint8Array;
      if (kind === 'good') good.set(`${file}#${i}`, n % images.length);
      if (kind === 'crc') corruptAt.push(i);
      recs.push(
        kind === 'example'
          ? Uint8Array.from([0x0a, 0x7f, 0x01])
          : kind === 'noimage'
            ? encodeExample({ 'image/height': { kind: 'int64', value: [48] } })
            : kind === 'badimage'
              ? exampleFor(new TextEncoder().encode('not an image at all'), n)
              : exampleFor(img, n),
      );
      n++;
    }
    if (s === 1) {
      await writeTfRecordFile(file, recs, { compression: 'gzip' });
    } else {
      const frames = recs.map(encodeTfRecordFrame);
      for (const i of corruptAt) (frames[i] as Uint8Array)[20]! ^= 0xff;
      let bytes = Buffer.concat(frames);
      // Shard 2 ends with half a record (a truncated copy).
      if (s === 2) bytes = Buffer.concat([bytes, frames[0]!.subarray(0, 30)]);
      await writeFile(file, bytes);
    }
    files.push(file);
    total += kinds.length;
  }
  // Something the pattern must not pick up.
  await writeFile(path.join(dir, 'tfrecords', 'val-00000-of-00001.tfrecord'), encodeTfRecordFrame(exampleFor(images[0]!, 0)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(over: Partial<SpecLoaderOptions> = {}): SpecLoaderOptions {
  return { pattern: 'tfrecords/train-*.tfrecord', specDir: dir, count: 10, seed: 42, preprocessing: pre, preprocess, ...over };
}

async function all(src: { samples(signal?: AbortSignal): AsyncIterable<Sample> }): Promise<Sample[]> {
  const out: Sample[] = [];
  for await (const s of src.samples()) out.push(s);
  return out;
}

describe('createSpecLoaderSource', () => {
  it('indexes every shard and describes the dataset', async () => {
    const src = await createSpecLoaderSource(options({ count: 8, oversample: 0.25 }));
    expect(src.description).toBe(`spec loader: 3 files (1 compressed), ${total} records, sampled 8 (seed 42) + 2 in reserve`);
    expect(src.requested).toBe(8);
    expect(src.planned).toBe(10);
    expect(src.selection).toHaveLength(10);
    expect(new Set(src.selection).size).toBe(10);
    for (const id of src.selection) expect(files.some((f) => id.startsWith(`${f}#`))).toBe(true);
    // The truncated tail of shard 2 is counted before any sample is read.
    expect(src.skipped.get(SKIP_REASONS.truncatedTail)).toBe(1);
  });

  it('taking everything: yields every usable record once, in file order, and counts each skip by reason', async () => {
    const skips: [string, string][] = [];
    const src = await createSpecLoaderSource(options({ count: total, onSkip: (id, reason) => skips.push([id, reason]) }));
    expect(src.planned).toBe(total);
    const samples = await all(src);
    expect(samples.map((s) => s.id)).toEqual([...good.keys()]);
    expect(Object.fromEntries(src.skipped)).toEqual({
      [SKIP_REASONS.truncatedTail]: 1,
      [SKIP_REASONS.crc]: 1,
      [SKIP_REASONS.example]: 1,
      [SKIP_REASONS.noImage]: 1,
      [SKIP_REASONS.image]: 1,
    });
    expect(skips).toEqual([
      [`${files[0]}#2`, SKIP_REASONS.crc],
      [`${files[0]}#6`, SKIP_REASONS.example],
      [`${files[1]}#3`, SKIP_REASONS.noImage],
      [`${files[2]}#2`, SKIP_REASONS.image],
    ]);
    // Each sample is exactly the preprocessed image its record holds.
    for (const s of samples.slice(0, 6)) {
      expect(s.data).toEqual(await preprocess(images[good.get(s.id)!]!));
    }
  });

  it('same seed → same selection and same sample ids; another seed → different', async () => {
    const a = await createSpecLoaderSource(options());
    const b = await createSpecLoaderSource(options());
    const c = await createSpecLoaderSource(options({ seed: 7 }));
    expect(b.selection).toEqual(a.selection);
    expect(c.selection).not.toEqual(a.selection);
    const [sa, sb, sc] = [await all(a), await all(b), await all(c)];
    expect(sb.map((s) => s.id)).toEqual(sa.map((s) => s.id));
    expect(sc.map((s) => s.id)).not.toEqual(sa.map((s) => s.id));
    expect(sa).toHaveLength(10);
  });

  it('samples across the whole dataset, not just the first shard', async () => {
    const hit = new Set<string>();
    for (let seed = 0; seed < 6; seed++) {
      const src = await createSpecLoaderSource(options({ count: 5, seed, oversample: 0 }));
      for (const id of src.selection) hit.add(id.slice(0, id.indexOf('#')));
    }
    expect([...hit].sort()).toEqual([...files].sort());
  });

  it('replaces skipped records from the reserve, deterministically, up to count', async () => {
    // Find a seed whose main selection contains bad records, then check they are replaced.
    for (let seed = 0; seed < 50; seed++) {
      const src = await createSpecLoaderSource(options({ count: 12, seed, oversample: 0.5 }));
      const bad = src.selection.slice(0, 12).filter((id) => !good.has(id));
      if (bad.length === 0) continue;
      const out = await all(src);
      expect(out).toHaveLength(12);
      expect(out.every((s) => good.has(s.id))).toBe(true);
      // The replacements are the first usable reserve entries, in reserve order.
      const reserveGood = src.selection.slice(12).filter((id) => good.has(id));
      const fromReserve = out.map((s) => s.id).filter((id) => !src.selection.slice(0, 12).includes(id));
      expect(new Set(fromReserve)).toEqual(new Set(reserveGood.slice(0, fromReserve.length)));
      expect(fromReserve.length).toBe(bad.length);
      const again = await all(await createSpecLoaderSource(options({ count: 12, seed, oversample: 0.5 })));
      expect(again.map((s) => s.id)).toEqual(out.map((s) => s.id));
      return;
    }
    throw new Error('no seed selected a bad record');
  });

  it('with fewer usable records than asked, yields what it has', async () => {
    const src = await createSpecLoaderSource(options({ count: 1000 }));
    expect(src.planned).toBe(total);
    expect((await all(src)).length).toBe(good.size);
  });

  it('output does not depend on concurrency', async () => {
    const one = await all(await createSpecLoaderSource(options({ concurrency: 1 })));
    const many = await all(await createSpecLoaderSource(options({ concurrency: 8 })));
    expect(many.map((s) => s.id)).toEqual(one.map((s) => s.id));
    for (let i = 0; i < one.length; i++) expect(many[i]!.data).toEqual(one[i]!.data);
  });

  it('reads only the selected records: preprocess is called once per planned item at most', async () => {
    const src = await createSpecLoaderSource(options({ count: 4, oversample: 0 }));
    calls = 0;
    const out = await all(src);
    expect(calls).toBeLessThanOrEqual(4);
    expect(out.length + [...src.skipped.values()].reduce((a, b) => a + b, 0) - 1).toBe(4);
  });

  it('stops with E_CANCELLED when aborted', async () => {
    const ac = new AbortController();
    const src = await createSpecLoaderSource(options({ count: 20 }));
    const got: Sample[] = [];
    await expect(
      (async () => {
        for await (const s of src.samples(ac.signal)) {
          got.push(s);
          if (got.length === 2) ac.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(got.length).toBe(2);
  });

  it('errors other than an undecodable image propagate', async () => {
    const src = await createSpecLoaderSource(options({ preprocess: () => Promise.reject(new StudioError('E_RUNTIME', 'boom', 'x')) }));
    await expect(all(src)).rejects.toMatchObject({ code: 'E_RUNTIME' });
    const wrong = await createSpecLoaderSource(options({ preprocess: () => Promise.resolve(new Float32Array(5)) }));
    await expect(all(wrong)).rejects.toMatchObject({ code: 'E_PREPROCESSING' });
  });

  it('maps global record numbers to files correctly around empty shards', async () => {
    const d = path.join(dir, 'with-empty');
    await mkdir(d);
    const ex = exampleFor(images[0]!, 0);
    await writeTfRecordFile(path.join(d, 'a.tfrecord'), []);
    await writeTfRecordFile(path.join(d, 'b.tfrecord'), [ex, ex]);
    await writeTfRecordFile(path.join(d, 'c.tfrecord'), []);
    await writeTfRecordFile(path.join(d, 'd.tfrecord'), [ex]);
    await writeTfRecordFile(path.join(d, 'e.tfrecord'), []);
    const src = await createSpecLoaderSource(options({ pattern: path.join(d, '*.tfrecord'), count: 3 }));
    expect([...src.selection].sort()).toEqual([`${d}/b.tfrecord#0`, `${d}/b.tfrecord#1`, `${d}/d.tfrecord#0`].map(path.normalize));
    expect((await all(src)).length).toBe(3);
  });

  it('no matching files → E_TFRECORD_NOT_FOUND; a damaged length → E_TFRECORD_CRC', async () => {
    await expect(createSpecLoaderSource(options({ pattern: 'tfrecords/test-*' }))).rejects.toMatchObject({ code: 'E_TFRECORD_NOT_FOUND' });
    const broken = path.join(dir, 'broken');
    await mkdir(broken);
    const bytes = await readFile(files[0]!);
    bytes[3]! ^= 1;
    await writeFile(path.join(broken, 'x.tfrecord'), bytes);
    await expect(createSpecLoaderSource(options({ pattern: path.join(broken, '*.tfrecord') }))).rejects.toMatchObject({ code: 'E_TFRECORD_CRC', location: { offset: 0 } });
  });
});
