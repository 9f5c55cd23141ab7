import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFromSource } from '../../electron/host/worker-process.js';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';
import { SPEC_MAX_BYTES, MAX_NUM_CLASSES } from '../../electron/pipeline/spec/loader.js';
import { MAX_RECORD_BYTES } from '../../electron/pipeline/data/tfrecord.js';
import { maskedCrc32c } from '../../electron/pipeline/data/crc32c.js';
import { MAX_PREVIEW_PIXELS } from '../../electron/worker/reads.js';

/**
 * Issue 11, point 4: memory stays bounded for every size limit. Each case runs the worst accepted
 * size in a child process under a V8 heap cap (--max-old-space-size) and must succeed with its
 * peak resident memory (VmHWM; getrusage maxRSS would carry the vitest worker's peak over fork + exec) under a cap. (`prlimit --as` is not usable with Node:
 * V8 and WebAssembly reserve far more address space than they touch.)
 */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let root: string;
let driver: string;
let S: SampleLayout;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'faults-memory-'));
  const dir = await bundleFromSource(repo, 'memory-driver', { 'memory-driver': path.join(repo, 'test/faults/memory-driver.ts') });
  driver = path.join(dir, 'memory-driver.js');
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 2 });
}, 120_000);
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

interface Run {
  ok: boolean;
  maxRssMiB: number;
  [k: string]: unknown;
}

function run(heapMiB: number, ...args: string[]): Run {
  const r = spawnSync(process.execPath, [`--max-old-space-size=${heapMiB}`, driver, ...args], { cwd: repo, encoding: 'utf8', timeout: 240_000 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error(`driver ${args[0]} failed (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(-2000)}`);
  const out = JSON.parse(last) as Run;
  console.info(`memory ${args[0]}: ${JSON.stringify(out)}`);
  return out;
}

describe('worst accepted sizes run in bounded memory', () => {
  it(`a spec of ${SPEC_MAX_BYTES} bytes (the limit) parses under a 128 MiB heap`, async () => {
    const base = await fs.readFile(S.spec, 'utf8');
    const pad = '# padding line to reach the spec size limit\n';
    const text = base + pad.repeat(Math.floor((SPEC_MAX_BYTES - Buffer.byteLength(base)) / pad.length));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(SPEC_MAX_BYTES);
    expect(Buffer.byteLength(text)).toBeGreaterThan(SPEC_MAX_BYTES - pad.length);
    const file = path.join(root, 'big-spec.txt');
    await fs.writeFile(file, text);
    const r = run(128, 'spec', file);
    expect(r.numClasses).toBe(5);
    expect(r.maxRssMiB).toBeLessThan(400);
  }, 120_000);

  it(`num_classes ${MAX_NUM_CLASSES} (the limit): labels.txt and the DeepStream config under a 128 MiB heap`, () => {
    const r = run(128, 'classes', String(MAX_NUM_CLASSES));
    expect(r.labelLines).toBe(MAX_NUM_CLASSES);
    expect(r.maxRssMiB).toBeLessThan(300);
  }, 120_000);

  it(`a gzip TFRecord with one ${MAX_RECORD_BYTES}-byte record (the limit): indexed streaming, read whole, under a 128 MiB heap`, async () => {
    const file = path.join(root, 'big.tfrecord.gz');
    const header = Buffer.alloc(12);
    header.writeUInt32LE(MAX_RECORD_BYTES, 0);
    header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
    const chunk = Buffer.alloc(1 << 20);
    // crc32c of MAX_RECORD_BYTES zeros, computed the same streaming way the data is written.
    const zeros = Buffer.alloc(MAX_RECORD_BYTES);
    const footer = Buffer.alloc(4);
    footer.writeUInt32LE(maskedCrc32c(zeros), 0);
    async function* body(): AsyncGenerator<Buffer> {
      yield header;
      for (let i = 0; i < MAX_RECORD_BYTES / chunk.length; i++) yield chunk;
      yield footer;
    }
    await pipeline(Readable.from(body()), createGzip({ level: 1 }), createWriteStream(file));
    const r = run(128, 'tfrecord', file);
    expect(r.records).toBe(1);
    expect(r.recordBytes).toBe(MAX_RECORD_BYTES);
    expect(r.read).toBe(MAX_RECORD_BYTES);
    // Indexing streams (the body is skipped, never held); reading holds the one record the limit allows.
    expect(r.indexRssMiB as number).toBeLessThan(200);
    expect(r.maxRssMiB).toBeLessThan(200 + 2.5 * (MAX_RECORD_BYTES / 2 ** 20));
  }, 240_000);

  it(`a tensor preview at the ${Math.sqrt(MAX_PREVIEW_PIXELS)}² limit from a 1×1 image, under a 256 MiB heap`, async () => {
    const file = path.join(root, 'one.png');
    await fs.writeFile(file, await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer());
    const r = run(256, 'preview', file, String(Math.sqrt(MAX_PREVIEW_PIXELS)));
    expect(r.width).toBe(Math.sqrt(MAX_PREVIEW_PIXELS));
    // 4096² × 3 float32 is 192 MiB; the 14000² request that took 3 GiB is now refused (edges corpus).
    expect(r.maxRssMiB).toBeLessThan(600);
  }, 240_000);

  it('the tensorfile writer streams: peak memory does not grow with the number of batches', async () => {
    const few = await fs.mkdtemp(path.join(root, 'tf-few-'));
    const many = await fs.mkdtemp(path.join(root, 'tf-many-'));
    const a = run(256, 'tensorfile', few, '4', '512');
    const b = run(256, 'tensorfile', many, '40', '512');
    expect((b.written as { count: number }).count).toBe(40);
    // 36 more batches of 6 MiB (float32) would be 216 MiB more if they were kept.
    expect(b.maxRssMiB - a.maxRssMiB).toBeLessThan(60);
  }, 240_000);
});
