import fc from 'fast-check';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError } from '../../../shared/errors.js';
import { maskedCrc32c } from './crc32c.js';
import {
  detectCompression,
  encodeTfRecordFrame,
  indexTfRecordFile,
  readAllTfRecords,
  readTfRecord,
  readTfRecords,
  writeTfRecordFile,
} from './tfrecord.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tfrecord-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const tmp = (name: string): string => path.join(dir, `${n++}-${name}`);

function payloads(count: number, size: (i: number) => number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => Uint8Array.from({ length: size(i) }, (_, j) => (i * 31 + j * 7) & 0xff));
}

async function collect(file: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const r of readAllTfRecords(file)) out.push(r);
  return out;
}

async function studioError(p: Promise<unknown>): Promise<StudioError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StudioError) return e;
    throw e;
  }
  throw new Error('expected a StudioError');
}

describe('framing', () => {
  it('lays out length, masked length CRC, data, masked data CRC', () => {
    const data = new TextEncoder().encode('hello');
    const f = encodeTfRecordFrame(data);
    const dv = new DataView(f.buffer);
    expect(f.length).toBe(5 + 16);
    expect(dv.getBigUint64(0, true)).toBe(5n);
    expect(dv.getUint32(8, true)).toBe(maskedCrc32c(f.subarray(0, 8)));
    expect(new TextDecoder().decode(f.subarray(12, 17))).toBe('hello');
    expect(dv.getUint32(17, true)).toBe(maskedCrc32c(data));
  });
});

describe('write → index → read', () => {
  it('round-trips records of many sizes, including empty ones', async () => {
    const recs = payloads(25, (i) => (i % 5 === 0 ? 0 : i * 97));
    const file = tmp('rt.tfrecord');
    const w = await writeTfRecordFile(file, recs);
    expect(w.records).toBe(25);
    const ix = await indexTfRecordFile(file);
    expect(ix.compression).toBe('none');
    expect(ix.records.map((r) => r.length)).toEqual(recs.map((r) => r.length));
    expect(ix.truncatedAt).toBeNull();
    expect(ix.streamBytes).toBe((await readFile(file)).length);
    // Offsets are where each header starts.
    let off = 0;
    for (const [i, r] of ix.records.entries()) {
      expect(r).toEqual({ index: i, offset: off, length: recs[i]!.length });
      off += recs[i]!.length + 16;
    }
    expect(await collect(file)).toEqual(recs);
    expect(await readTfRecord(ix, ix.records[7]!)).toEqual(recs[7]);
  });

  it('reads a chosen subset in file order whatever order it is asked in', async () => {
    const recs = payloads(10, (i) => 10 + i);
    const file = tmp('subset.tfrecord');
    await writeTfRecordFile(file, recs);
    const ix = await indexTfRecordFile(file);
    const got: number[] = [];
    for await (const r of readTfRecords(ix, [ix.records[8]!, ix.records[2]!, ix.records[5]!])) {
      expect(r.data).toEqual(recs[r.ref.index]);
      got.push(r.ref.index);
    }
    expect(got).toEqual([2, 5, 8]);
  });

  it('writes through a given Node stream and ends it', async () => {
    const pass = new PassThrough();
    const chunks: Buffer[] = [];
    pass.on('data', (c: Buffer) => chunks.push(c));
    const recs = payloads(3, () => 4);
    await writeTfRecordFile(pass, recs);
    expect(pass.writableEnded).toBe(true);
    const file = tmp('stream.tfrecord');
    await writeFile(file, Buffer.concat(chunks));
    expect(await collect(file)).toEqual(recs);
  });

  it('does not clobber an existing file unless asked', async () => {
    const file = tmp('exists.tfrecord');
    await writeFile(file, 'keep');
    await expect(writeTfRecordFile(file, [new Uint8Array(1)])).rejects.toMatchObject({ code: 'E_OUTPUT_EXISTS', location: { file } });
    expect(await readFile(file, 'utf8')).toBe('keep');
    await writeTfRecordFile(file, [new Uint8Array(1)], { overwrite: true });
    expect((await collect(file)).length).toBe(1);
  });

  it('an empty file has no records', async () => {
    const file = tmp('empty.tfrecord');
    await writeFile(file, new Uint8Array(0));
    const ix = await indexTfRecordFile(file);
    expect(ix.records).toEqual([]);
  });
});

describe('indexing reads headers only', () => {
  it('reads 12 bytes per record however large the bodies are', async () => {
    const big = 4 << 20;
    const count = 6;
    const body = new Uint8Array(big).fill(0xab);
    const file = tmp('big.tfrecord');
    await writeTfRecordFile(file, Array.from({ length: count }, () => body));
    const ix = await indexTfRecordFile(file);
    expect(ix.records).toHaveLength(count);
    expect(ix.bytesRead).toBe(12 * count);
    expect(ix.streamBytes).toBe(count * (big + 16));
  });
});

describe('compressed streams', () => {
  for (const compression of ['gzip', 'zlib'] as const) {
    it(`detects and reads ${compression}`, async () => {
      const recs = payloads(40, (i) => i * 13);
      const file = tmp(`c.${compression}`);
      await writeTfRecordFile(file, recs, { compression });
      const raw = await readFile(file);
      expect(detectCompression(raw.subarray(0, 12))).toBe(compression);
      const ix = await indexTfRecordFile(file);
      expect(ix.compression).toBe(compression);
      expect(ix.records).toHaveLength(40);
      expect(ix.bytesRead).toBe(raw.length);
      expect(await collect(file)).toEqual(recs);
      const picked: Uint8Array[] = [];
      for await (const r of readTfRecords(ix, [ix.records[30]!, ix.records[3]!])) picked.push(r.data!);
      expect(picked).toEqual([recs[3], recs[30]]);
    });
  }

  it('reads streams written by zlib directly (not our writer)', async () => {
    const recs = payloads(5, (i) => 100 + i);
    const plain = Buffer.concat(recs.map(encodeTfRecordFrame));
    const gz = tmp('ext.gz');
    const zz = tmp('ext.zz');
    await writeFile(gz, gzipSync(plain));
    await writeFile(zz, deflateSync(plain));
    expect(await collect(gz)).toEqual(recs);
    expect(await collect(zz)).toEqual(recs);
  });

  it('a plain file whose first length byte looks like a zlib header is still plain', async () => {
    // length 0x9c78 = 40056: bytes 78 9C, a valid zlib header.
    const rec = new Uint8Array(0x9c78).fill(1);
    const file = tmp('looks-zlib.tfrecord');
    await writeTfRecordFile(file, [rec]);
    const raw = await readFile(file);
    expect([raw[0], raw[1]]).toEqual([0x78, 0x9c]);
    expect((await indexTfRecordFile(file)).compression).toBe('none');
  });

  it('a cut gzip stream is E_TFRECORD_TRUNCATED', async () => {
    const file = tmp('cut.gz');
    const plain = Buffer.concat(payloads(20, () => 2000).map(encodeTfRecordFrame));
    const gz = gzipSync(plain);
    await writeFile(file, gz.subarray(0, gz.length >> 1));
    const e = await studioError(indexTfRecordFile(file));
    expect(e.code).toBe('E_TFRECORD_TRUNCATED');
    expect(e.location.file).toBe(file);
  });
});

describe('damaged files', () => {
  async function threeRecordFile(): Promise<{ file: string; bytes: Buffer; recs: Uint8Array[] }> {
    const recs = payloads(3, () => 50);
    const file = tmp('dmg.tfrecord');
    await writeTfRecordFile(file, recs);
    return { file, bytes: await readFile(file), recs };
  }

  it('a flipped byte in record 1 body → that record gives E_TFRECORD_CRC at its offset, the others read', async () => {
    const { file, bytes, recs } = await threeRecordFile();
    const off1 = 66; // 50 + 16
    bytes[off1 + 12 + 10]! ^= 0x40;
    await writeFile(file, bytes);
    const ix = await indexTfRecordFile(file); // headers are intact
    expect(ix.records).toHaveLength(3);
    const results = [];
    for await (const r of readTfRecords(ix, ix.records)) results.push(r);
    expect(results[0]!.data).toEqual(recs[0]);
    expect(results[2]!.data).toEqual(recs[2]);
    const e = results[1]!.error!;
    expect(e.code).toBe('E_TFRECORD_CRC');
    expect(e.message).toMatch(/^corrupted record at byte 66\b/);
    expect(e.location).toEqual({ file, offset: 66 });
    await expect(readTfRecord(ix, ix.records[1]!)).rejects.toMatchObject({ code: 'E_TFRECORD_CRC' });
    await expect(collect(file)).rejects.toMatchObject({ code: 'E_TFRECORD_CRC', location: { offset: 66 } });
  });

  it('a flipped byte in the data CRC footer is caught too', async () => {
    const { file, bytes } = await threeRecordFile();
    bytes[66 - 1]! ^= 1; // last byte of record 0's footer
    await writeFile(file, bytes);
    await expect(collect(file)).rejects.toMatchObject({ code: 'E_TFRECORD_CRC', location: { offset: 0 } });
  });

  it('a flipped byte in a length → indexing fails with E_TFRECORD_CRC at that header', async () => {
    const { file, bytes } = await threeRecordFile();
    bytes[132 + 1]! ^= 0x01; // record 2 length
    await writeFile(file, bytes);
    const e = await studioError(indexTfRecordFile(file));
    expect(e.code).toBe('E_TFRECORD_CRC');
    expect(e.message).toMatch(/^corrupted record at byte 132\b/);
    expect(e.location).toEqual({ file, offset: 132 });
  });

  it('garbage at byte 0 → hint about compression_type', async () => {
    const file = tmp('notrecord.bin');
    await writeFile(file, 'this is not a tfrecord file at all');
    const e = await studioError(indexTfRecordFile(file));
    expect(e.code).toBe('E_TFRECORD_CRC');
    expect(e.location.offset).toBe(0);
    expect(e.hint).toMatch(/compression_type/);
  });

  it('a partial body at the end → E_TFRECORD_TRUNCATED, or skipped with tail: skip', async () => {
    const { file, bytes, recs } = await threeRecordFile();
    await writeFile(file, bytes.subarray(0, bytes.length - 20));
    const e = await studioError(indexTfRecordFile(file));
    expect(e.code).toBe('E_TFRECORD_TRUNCATED');
    expect(e.message).toMatch(/^truncated record at byte 132\b/);
    expect(e.location).toEqual({ file, offset: 132 });
    const ix = await indexTfRecordFile(file, { tail: 'skip' });
    expect(ix.records).toHaveLength(2);
    expect(ix.truncatedAt).toBe(132);
    const got = [];
    for await (const r of readAllTfRecords(file, { tail: 'skip' })) got.push(r);
    expect(got).toEqual(recs.slice(0, 2));
  });

  it('a partial header at the end → E_TFRECORD_TRUNCATED at that offset', async () => {
    const { file, bytes } = await threeRecordFile();
    await writeFile(file, Buffer.concat([bytes, bytes.subarray(0, 5)]));
    const e = await studioError(indexTfRecordFile(file));
    expect(e.code).toBe('E_TFRECORD_TRUNCATED');
    expect(e.location.offset).toBe(bytes.length);
  });

  it('a file that shrank after indexing yields truncated results instead of throwing', async () => {
    const { file, bytes } = await threeRecordFile();
    const ix = await indexTfRecordFile(file);
    await writeFile(file, bytes.subarray(0, 100));
    const results = [];
    for await (const r of readTfRecords(ix, ix.records)) results.push(r);
    expect(results.map((r) => r.error?.code ?? 'ok')).toEqual(['ok', 'E_TFRECORD_TRUNCATED', 'E_TFRECORD_TRUNCATED']);
  });

  it('a missing file → E_TFRECORD_NOT_FOUND', async () => {
    await expect(indexTfRecordFile(path.join(dir, 'nope.tfrecord'))).rejects.toMatchObject({ code: 'E_TFRECORD_NOT_FOUND' });
  });
});

describe('arbitrary bytes never crash the reader', () => {
  it('as a plain file: indexing and reading throw only StudioErrors', async () => {
    const file = tmp('fuzz.bin');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          // Valid frames with one random byte flipped or cut: reach the deeper branches.
          fc.tuple(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 4 }), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(([recs, at, x, cut]) => {
            const b = Buffer.concat(recs.map(encodeTfRecordFrame));
            if (b.length === 0) return new Uint8Array(b);
            if (cut) return new Uint8Array(b.subarray(0, at % b.length));
            b[at % b.length]! ^= x;
            return new Uint8Array(b);
          }),
        ),
        async (bytes) => {
          await writeFile(file, bytes);
          try {
            const ix = await indexTfRecordFile(file, { tail: 'skip' });
            for await (const r of readTfRecords(ix, ix.records)) if (r.error) expect(r.error).toBeInstanceOf(StudioError);
            for await (const _ of readAllTfRecords(file)) void _;
          } catch (e) {
            expect(e).toBeInstanceOf(StudioError);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('as a gzip stream: only StudioErrors', async () => {
    const file = tmp('fuzz.gz');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, wrap) => {
        const gz = gzipSync(bytes);
        await writeFile(file, wrap ? gz : Buffer.concat([gz.subarray(0, 10), bytes]));
        try {
          const ix = await indexTfRecordFile(file, { tail: 'skip' });
          for await (const r of readTfRecords(ix, ix.records)) if (r.error) expect(r.error).toBeInstanceOf(StudioError);
        } catch (e) {
          expect(e).toBeInstanceOf(StudioError);
        }
      }),
      { numRuns: 100 },
    );
  });
});
