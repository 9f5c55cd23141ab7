/**
 * Cross-check: TFRecords written by an independent stdlib-only Python writer
 * (write_tfrecords.py: its own CRC32C table and hand-encoded protobuf) read back by our reader.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianPackage, named } from '../support/needs.js';
import { decodeExample, readTaoExample } from '../../electron/pipeline/data/example.js';
import { indexTfRecordFile, readAllTfRecords } from '../../electron/pipeline/data/tfrecord.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'write_tfrecords.py');
const PHOTO = '/usr/lib/python3/dist-packages/skimage/data/astronaut.png';
const PY3 = debianPackage('python3', () => existsSync(PYTHON));
const hasPython = PY3.ok;

type Expected =
  | { kind: 'bytes'; hex: (string | null)[]; sha256: string[]; len: number[] }
  | { kind: 'float'; value: number[] }
  | { kind: 'int64'; value: string[] };
type Manifest = Record<string, Record<string, Expected>[]>;

let dir: string;
let jpegPath: string;
let pngPath: string;
let manifest: Manifest;

beforeAll(async () => {
  if (!hasPython) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'py-tfrecord-'));
  const src = existsSync(PHOTO)
    ? sharp(PHOTO).resize(96, 72)
    : sharp({ create: { width: 96, height: 72, channels: 3, background: { r: 200, g: 100, b: 50 } } });
  const rgb = await src.png().toBuffer();
  jpegPath = path.join(dir, 'photo.jpg');
  pngPath = path.join(dir, 'photo.png');
  await sharp(rgb).jpeg({ quality: 85 }).toFile(jpegPath);
  await sharp(rgb).extract({ left: 0, top: 0, width: 80, height: 50 }).png().toFile(pngPath);
  await promisify(execFile)(PYTHON, [SCRIPT, path.join(dir, 'out'), jpegPath, pngPath]);
  manifest = JSON.parse(await readFile(path.join(dir, 'out', 'manifest.json'), 'utf8')) as Manifest;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe.skipIf(!hasPython)(named('TFRecords from the independent Python writer', PY3), () => {
  it('every value in every record reads back exactly', async () => {
    const names = Object.keys(manifest);
    expect(names).toEqual(['tao-00000-of-00002.tfrecord', 'tao-00001-of-00002.tfrecord', 'tao-gzip.tfrecord.gz', 'tao-zlib.tfrecord.zz']);
    let checked = 0;
    for (const name of names) {
      const file = path.join(dir, 'out', name);
      const expected = manifest[name]!;
      const ix = await indexTfRecordFile(file);
      expect(ix.compression).toBe(name.endsWith('.gz') ? 'gzip' : name.endsWith('.zz') ? 'zlib' : 'none');
      expect(ix.records).toHaveLength(expected.length);
      let i = 0;
      for await (const rec of readAllTfRecords(file)) {
        const want = expected[i++]!;
        const got = decodeExample(rec);
        expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
        for (const [key, w] of Object.entries(want)) {
          const g = got.get(key)!;
          expect(g.kind, key).toBe(w.kind);
          if (w.kind === 'bytes' && g.kind === 'bytes') {
            expect(g.value.map((v) => v.length), key).toEqual(w.len);
            expect(g.value.map(sha), key).toEqual(w.sha256);
            w.hex.forEach((h, j) => h !== null && expect(Buffer.from(g.value[j]!).toString('hex')).toBe(h));
          } else if (w.kind === 'float' && g.kind === 'float') {
            expect(Array.from(g.value), key).toEqual(w.value);
          } else if (w.kind === 'int64' && g.kind === 'int64') {
            expect(g.value, key).toEqual(w.value.map((s) => BigInt(s)));
          }
          checked++;
        }
      }
      expect(i).toBe(expected.length);
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('TAO keys: image/encoded is the original file, sizes match the image, boxes and labels as written', async () => {
    const recs: Uint8Array[] = [];
    for await (const r of readAllTfRecords(path.join(dir, 'out', 'tao-00000-of-00002.tfrecord'))) recs.push(r);
    expect(recs).toHaveLength(4);
    for (const [k, imgPath] of [jpegPath, pngPath].entries()) {
      const r = readTaoExample(decodeExample(recs[k]!));
      if (!r.ok) throw new Error(r.detail);
      const ex = r.example;
      const onDisk = await readFile(imgPath);
      expect(Buffer.from(ex.encoded).equals(onDisk)).toBe(true);
      const meta = await sharp(onDisk).metadata();
      expect([ex.height, ex.width]).toEqual([meta.height, meta.width]);
      expect(ex.filename).toBe(path.basename(imgPath));
      expect(ex.sourceId).toBe(String(1000 + k));
      expect(ex.sha256).toBe(sha(onDisk));
      expect(ex.format).toBe('jpeg'); // TAO writes "jpeg" even for PNG
      expect(Array.from(ex.boxes!.xmin)).toEqual([0.1, 0.25].map(Math.fround));
      expect(Array.from(ex.boxes!.ymax)).toEqual([0.6, 0.75].map(Math.fround));
      expect(ex.classLabels).toEqual([1, 90]);
      expect(ex.classText).toEqual(['person', 'toothbrush']);
      expect(ex.isCrowd).toEqual([0, 0]);
      expect(ex.masks).toHaveLength(2);
    }
    // The unpacked-lists record and the empty-Features record.
    const unpacked = decodeExample(recs[2]!);
    expect(unpacked.get('unpacked/int64')!.value).toEqual([-1n, 0n, 2n ** 63n - 1n, -(2n ** 63n), 300n]);
    expect(Array.from(unpacked.get('unpacked/float')!.value as Float32Array)).toEqual([0.1, -2.5, 3.4028234663852886e38, 1e-45].map(Math.fround));
    expect(decodeExample(recs[3]!).size).toBe(0);
    expect(readTaoExample(decodeExample(recs[3]!))).toMatchObject({ ok: false, reason: 'no image/encoded' });
  });
});
