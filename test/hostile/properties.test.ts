import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isErrorCode, StudioError } from '../../shared/errors.js';
import { detectModelFormat, quickKeyCheck, readModel, sealFile } from '../../electron/pipeline/model/index.js';
import { tinyModelBytes } from '../../electron/pipeline/onnx/testing.js';
import { parseSpec } from '../../electron/pipeline/spec/index.js';
import { parseTextFormat } from '../../electron/pipeline/spec/textformat.js';
import { indexTfRecordFile, readTfRecords, encodeTfRecordFrame } from '../../electron/pipeline/data/tfrecord.js';
import { decodeExample, encodeExample, readTaoExample } from '../../electron/pipeline/data/example.js';
import { parseCalibrationCache, writeCalibrationCache } from '../../electron/pipeline/calibrate/cache.js';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';

/**
 * Properties the per-module tests (spec/textformat, spec/spec, data/tfrecord, data/example,
 * model/detect, model/seal, calibrate/cache) do not cover: they fuzz from random bytes or token
 * soups; these start from REAL valid inputs (the sample spec, a sealed model, a TFRecord of
 * real Examples, a real cache) and mutate them — flips, cuts, splices, duplicated spans — which
 * reaches far deeper into each parser. Every outcome must be a success or a StudioError with a
 * known code other than E_INTERNAL (never a TypeError/RangeError), within a time bound.
 */

const KEY = 'prop-key';
let root: string;
let S: SampleLayout;
let specText: string;
let sealedEtlt: Buffer;
let plainOnnx: Buffer;
let tfShard: Buffer;
let cacheText: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-props-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 1, calImages: 1 });
  specText = await fs.readFile(S.spec, 'utf8');
  plainOnnx = Buffer.from(tinyModelBytes(3));
  await fs.writeFile(path.join(root, 'tiny.onnx'), plainOnnx);
  await sealFile(path.join(root, 'tiny.onnx'), path.join(root, 'tiny.etlt'), KEY, { format: 'etlt', overwrite: false });
  sealedEtlt = await fs.readFile(path.join(root, 'tiny.etlt'));
  const names = (await fs.readdir(S.tfrecords)).filter((n) => n.startsWith('train-'));
  tfShard = await fs.readFile(path.join(S.tfrecords, names[0] as string));
  cacheText = writeCalibrationCache({ trtVersion: '8.6.1', algorithm: 'entropy', entries: Array.from({ length: 12 }, (_, i) => ({ name: `layer_${i}/Conv2D:0`, scale: (i + 1) / 127 })) });
});
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** The only acceptable failure: a StudioError with a real, non-internal code. */
function expectStudioError(e: unknown): void {
  if (!(e instanceof StudioError)) throw new Error(`not a StudioError: ${(e as Error)?.name}: ${(e as Error)?.message}`);
  expect(isErrorCode(e.code)).toBe(true);
  expect(e.code).not.toBe('E_INTERNAL');
  expect(e.hint.length).toBeGreaterThan(0);
}

type Mutation = { kind: 'flip'; at: number; mask: number } | { kind: 'cut'; at: number } | { kind: 'splice'; at: number; len: number; to: number } | { kind: 'insert'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }), to: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

function mutate(src: Uint8Array, ms: readonly Mutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] = (b[at] ?? 0) ^ m.mask;
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else if (m.kind === 'splice') b = Buffer.concat([b.subarray(0, m.to % b.length), b.subarray(at, at + m.len), b.subarray(m.to % b.length)]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
  }
  return b;
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });
// A hang shows up as a failed run, not a stuck suite.
const BOUND = { numRuns: 150, timeout: 5_000, interruptAfterTimeLimit: 20_000 } as const;

describe('properties on mutated real inputs', () => {
  it('spec: parseTextFormat and parseSpec (both purposes) on the mutated sample spec', () => {
    fc.assert(
      fc.property(mutations, fc.constantFrom('export' as const, 'inspect' as const), (ms, purpose) => {
        const text = mutate(Buffer.from(specText), ms).toString('utf8');
        try {
          parseTextFormat(text, 'spec.txt');
          const { spec } = parseSpec(text, 'spec.txt', { purpose });
          if (purpose === 'export') expect(spec.numClasses).toBeGreaterThan(1);
        } catch (e) {
          expectStudioError(e);
          const se = e as StudioError;
          if (se.location.line !== undefined) expect(se.location.line).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('model: detectModelFormat → quickKeyCheck → readModel on a mutated sealed .etlt and a mutated plain .onnx', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(mutations, fc.boolean(), fc.constantFrom(KEY, 'other-key'), async (ms, sealed, key) => {
        const file = path.join(root, `m-${n++}.${sealed ? 'etlt' : 'onnx'}`);
        await fs.writeFile(file, mutate(sealed ? sealedEtlt : plainOnnx, ms));
        try {
          await detectModelFormat(file);
          await quickKeyCheck(file, key);
          const m = await readModel(file, key);
          // Success is possible (a flipped weight byte is still a model) but never with the wrong key.
          if (sealed) expect(key).toBe(KEY);
          expect(m.onnx.length).toBeGreaterThan(0);
        } catch (e) {
          expectStudioError(e);
        } finally {
          await fs.rm(file, { force: true });
        }
      }),
      BOUND,
    );
  });

  it('TFRecord: index → read → decodeExample → readTaoExample on a mutated real shard (plain and as gzip)', async () => {
    const { gzipSync } = await import('node:zlib');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(mutations, fc.boolean(), fc.constantFrom('error' as const, 'skip' as const), async (ms, gz, tail) => {
        const bytes = mutate(tfShard, ms);
        const file = path.join(root, `t-${n++}.tfrecord${gz ? '.gz' : ''}`);
        await fs.writeFile(file, gz ? gzipSync(bytes) : bytes);
        try {
          const ix = await indexTfRecordFile(file, { tail });
          for await (const r of readTfRecords(ix, ix.records)) {
            if (r.error) {
              expectStudioError(r.error);
              continue;
            }
            try {
              readTaoExample(decodeExample(r.data, { file }));
            } catch (e) {
              expectStudioError(e);
            }
          }
        } catch (e) {
          expectStudioError(e);
        } finally {
          await fs.rm(file, { force: true });
        }
      }),
      BOUND,
    );
  });

  it('Example decoder on mutated encoded Examples (varint lengths, wire types, nested maps)', () => {
    const ex = encodeExample({ 'image/encoded': { kind: 'bytes', value: [new Uint8Array(40).fill(7)] }, 'image/height': { kind: 'int64', value: [320] }, 'image/object/bbox/xmin': { kind: 'float', value: [0.1, 0.2] } });
    fc.assert(
      fc.property(mutations, (ms) => {
        const data = mutate(ex, ms);
        try {
          readTaoExample(decodeExample(data, { file: 'x.tfrecord' }));
          // The same bytes framed as a record survive a frame round-trip.
          expect(encodeTfRecordFrame(data).length).toBe(data.length + 16);
        } catch (e) {
          expectStudioError(e);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('calibration cache: parseCalibrationCache on a mutated real cache', () => {
    fc.assert(
      fc.property(mutations, (ms) => {
        const text = mutate(Buffer.from(cacheText), ms).toString('latin1');
        try {
          const c = parseCalibrationCache(text, 'cal.bin');
          for (const e of c.entries) expect(Number.isFinite(e.scale)).toBe(true);
        } catch (e) {
          expectStudioError(e);
        }
      }),
      { numRuns: 400 },
    );
  });
});
