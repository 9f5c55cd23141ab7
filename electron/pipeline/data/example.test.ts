import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../shared/errors.js';
import { decodeExample, encodeExample, readTaoExample, type FeatureInput } from './example.js';

const enc = new TextEncoder();
const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

/** Length-delimited field, built by hand (independent of encodeExample). */
function ld(field: number, payload: Uint8Array): Uint8Array {
  if (payload.length > 127) throw new Error('test helper: short payloads only');
  return b((field << 3) | 2, payload.length, ...payload);
}
function entry(key: string, feature: Uint8Array): Uint8Array {
  return ld(1, b(...ld(1, enc.encode(key)), ...ld(2, feature)));
}
function example(...entries: Uint8Array[]): Uint8Array {
  return ld(1, b(...entries.flatMap((e) => [...e])));
}

function errorOf(f: () => unknown): StudioError {
  try {
    f();
  } catch (e) {
    if (e instanceof StudioError) return e;
    throw e;
  }
  throw new Error('expected a StudioError');
}

describe('decodeExample (hand-built wire bytes)', () => {
  it('reads packed floats and packed int64 including negatives (10-byte varints)', () => {
    const floats = new Uint8Array(new Float32Array([1.5, -0.25]).buffer);
    const minus1 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const m = decodeExample(
      example(
        entry('f', ld(2, ld(1, floats))),
        entry('i', ld(3, ld(1, b(0x96, 0x01, ...minus1, 0x00)))), // 150, -1, 0
      ),
    );
    expect(m.get('f')).toEqual({ kind: 'float', value: new Float32Array([1.5, -0.25]) });
    expect(m.get('i')).toEqual({ kind: 'int64', value: [150n, -1n, 0n] });
  });

  it('reads unpacked floats (wire type 5) and unpacked int64 (wire type 0), mixed with packed', () => {
    const f1 = [...new Uint8Array(new Float32Array([2.5]).buffer)];
    const f2 = [...new Uint8Array(new Float32Array([-3]).buffer)];
    const packed = new Uint8Array(new Float32Array([7]).buffer);
    const m = decodeExample(
      example(
        entry('f', ld(2, b(0x0d, ...f1, 0x0d, ...f2, ...ld(1, packed)))),
        entry('i', ld(3, b(0x08, 0x05, 0x08, 0xac, 0x02, ...ld(1, b(0x03))))), // 5, 300, packed [3]
      ),
    );
    expect(m.get('f')).toEqual({ kind: 'float', value: new Float32Array([2.5, -3, 7]) });
    expect(m.get('i')).toEqual({ kind: 'int64', value: [5n, 300n, 3n] });
  });

  it('reads int64 extremes', () => {
    const max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    const min = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
    const m = decodeExample(example(entry('i', ld(3, ld(1, b(...max, ...min))))));
    expect(m.get('i')?.value).toEqual([2n ** 63n - 1n, -(2n ** 63n)]);
  });

  it('reads bytes lists, empty lists and an empty Features', () => {
    const m = decodeExample(example(entry('s', ld(1, b(...ld(1, enc.encode('ab')), ...ld(1, b())))), entry('e', ld(1, b()))));
    expect(m.get('s')).toEqual({ kind: 'bytes', value: [enc.encode('ab'), b()] });
    expect(m.get('e')).toEqual({ kind: 'bytes', value: [] });
    expect(decodeExample(b(0x0a, 0x00)).size).toBe(0);
    expect(decodeExample(b()).size).toBe(0);
  });

  it('skips unknown fields of every wire type, including groups', () => {
    // fields 4..8: varint, fixed64, fixed32, bytes, a group holding a varint
    const unknown = b(0x20, 0x01, 0x29, 1, 2, 3, 4, 5, 6, 7, 8, 0x35, 1, 2, 3, 4, 0x3a, 0x01, 0x00, 0x43, 0x48, 0x01, 0x44);
    const feat = b(...ld(3, ld(1, b(0x07))), ...unknown);
    const m = decodeExample(b(...example(entry('x', feat)), ...unknown));
    expect(m.get('x')).toEqual({ kind: 'int64', value: [7n] });
  });

  it('later duplicate key wins; later oneof member replaces; repeated list merges', () => {
    const m = decodeExample(
      example(
        entry('k', ld(3, ld(1, b(1)))),
        entry('k', ld(3, ld(1, b(2)))),
        entry('o', b(...ld(3, ld(1, b(1))), ...ld(1, ld(1, enc.encode('z'))))),
        entry('m', b(...ld(3, ld(1, b(1))), ...ld(3, ld(1, b(2))))),
      ),
    );
    expect(m.get('k')?.value).toEqual([2n]);
    expect(m.get('o')).toEqual({ kind: 'bytes', value: [enc.encode('z')] });
    expect(m.get('m')?.value).toEqual([1n, 2n]);
  });

  it('an entry whose Feature has no kind is left out', () => {
    expect(decodeExample(example(entry('nothing', b()))).has('nothing')).toBe(false);
  });

  it('malformed input → E_TFRECORD_EXAMPLE with the offset (relative to the record plus dataOffset)', () => {
    // features length 10 but only 2 bytes follow
    let e = errorOf(() => decodeExample(b(0x0a, 0x0a, 0x00, 0x00), { file: 'x.tfrecord', dataOffset: 1000 }));
    expect(e.code).toBe('E_TFRECORD_EXAMPLE');
    expect(e.location).toEqual({ file: 'x.tfrecord', offset: 1001 });
    expect(e.message).toMatch(/at byte 1 of the record/);
    // packed floats of 3 bytes
    e = errorOf(() => decodeExample(example(entry('f', ld(2, ld(1, b(1, 2, 3)))))));
    expect(e.message).toMatch(/multiple of 4/);
    // varint that never ends
    e = errorOf(() => decodeExample(b(0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)));
    expect(e.message).toMatch(/varint/);
    // features with the wrong wire type
    e = errorOf(() => decodeExample(b(0x08, 0x01)));
    expect(e.location.offset).toBe(0);
    // wire types 6/7 do not exist
    expect(errorOf(() => decodeExample(b(0x16))).message).toMatch(/wire type 6/);
  });
});

const featureArb: fc.Arbitrary<FeatureInput> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), value: fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('float' as const), value: fc.array(fc.float({ noNaN: true }), { maxLength: 6 }) }),
  fc.record({ kind: fc.constant('int64' as const), value: fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 6 }) }),
);

describe('encodeExample', () => {
  it('round-trips arbitrary features through decodeExample', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 12 }), featureArb, { maxKeys: 6 }), (feats) => {
        const m = decodeExample(encodeExample(feats));
        const keys = Object.keys(feats);
        expect([...m.keys()].sort()).toEqual(keys.sort());
        for (const k of keys) {
          const f = feats[k]!;
          const got = m.get(k)!;
          expect(got.kind).toBe(f.kind);
          if (f.kind === 'float') expect(got.value).toEqual(Float32Array.from(f.value));
          else expect(got.value).toEqual(f.value);
        }
      }),
    );
  });

  it('writes packed lists as TensorFlow does (byte-exact for a small example)', () => {
    const bytes = encodeExample(new Map<string, FeatureInput>([['a', { kind: 'int64', value: [1, -1] }]]));
    const minus1 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect([...bytes]).toEqual([...example(entry('a', ld(3, ld(1, b(0x01, ...minus1)))))]);
  });

  it('accepts numbers, bigints and strings', () => {
    const m = decodeExample(encodeExample({ s: { kind: 'bytes', value: ['héllo'] }, n: { kind: 'int64', value: [2 ** 40, -5, 3n] } }));
    expect(new TextDecoder().decode((m.get('s')!.value as Uint8Array[])[0])).toBe('héllo');
    expect(m.get('n')!.value).toEqual([2n ** 40n, -5n, 3n]);
  });
});

describe('arbitrary bytes as an Example', () => {
  it('decode never crashes: it returns a map or throws E_TFRECORD_EXAMPLE', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }),
          // Mutations of valid Examples reach the nested decoders.
          fc.tuple(fc.dictionary(fc.string({ maxLength: 4 }), featureArb, { maxKeys: 3 }), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([f, at, x]) => {
            const bytes = encodeExample(f);
            if (bytes.length > 0) bytes[at % bytes.length]! ^= x;
            return bytes;
          }),
        ),
        (bytes) => {
          try {
            const m = decodeExample(bytes);
            expect(m).toBeInstanceOf(Map);
          } catch (e) {
            expect(e).toBeInstanceOf(StudioError);
            expect((e as StudioError).code).toBe('E_TFRECORD_EXAMPLE');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('readTaoExample', () => {
  const jpeg = b(0xff, 0xd8, 0xff, 0xe0, 1, 2, 3);
  const full = encodeExample({
    'image/height': { kind: 'int64', value: [480] },
    'image/width': { kind: 'int64', value: [640] },
    'image/filename': { kind: 'bytes', value: ['000000000139.jpg'] },
    'image/source_id': { kind: 'bytes', value: ['139'] },
    'image/key/sha256': { kind: 'bytes', value: ['abc'] },
    'image/encoded': { kind: 'bytes', value: [jpeg] },
    'image/format': { kind: 'bytes', value: ['jpeg'] },
    'image/object/bbox/xmin': { kind: 'float', value: [0.1, 0.2] },
    'image/object/bbox/xmax': { kind: 'float', value: [0.5, 0.6] },
    'image/object/bbox/ymin': { kind: 'float', value: [0.3, 0.4] },
    'image/object/bbox/ymax': { kind: 'float', value: [0.7, 0.8] },
    'image/object/class/text': { kind: 'bytes', value: ['person', 'tv'] },
    'image/object/class/label': { kind: 'int64', value: [1, 72] },
    'image/object/is_crowd': { kind: 'int64', value: [0, 1] },
    'image/object/area': { kind: 'float', value: [100, 2000] },
    'image/object/mask': { kind: 'bytes', value: [b(1), b(2)] },
  });

  it('reads every TAO dataset_convert key with its type', () => {
    const r = readTaoExample(decodeExample(full));
    if (!r.ok) throw new Error(r.detail);
    const ex = r.example;
    expect(ex.encoded).toEqual(jpeg);
    expect([ex.height, ex.width, ex.filename, ex.sourceId, ex.sha256, ex.format]).toEqual([480, 640, '000000000139.jpg', '139', 'abc', 'jpeg']);
    expect(ex.boxes).toEqual({
      xmin: Float32Array.from([0.1, 0.2]),
      xmax: Float32Array.from([0.5, 0.6]),
      ymin: Float32Array.from([0.3, 0.4]),
      ymax: Float32Array.from([0.7, 0.8]),
    });
    expect(ex.classLabels).toEqual([1, 72]);
    expect(ex.classText).toEqual(['person', 'tv']);
    expect(ex.isCrowd).toEqual([0, 1]);
    expect(ex.area).toEqual(Float32Array.from([100, 2000]));
    expect(ex.masks).toEqual([b(1), b(2)]);
  });

  it('gives a skip reason when image/encoded is missing, empty, of the wrong type or repeated', () => {
    const cases: Record<string, FeatureInput>[] = [
      { 'image/height': { kind: 'int64', value: [1] } },
      { 'image/encoded': { kind: 'bytes', value: [b()] } },
      { 'image/encoded': { kind: 'float', value: [1] } },
      { 'image/encoded': { kind: 'bytes', value: [jpeg, jpeg] } },
    ];
    const details = cases.map((c) => {
      const r = readTaoExample(decodeExample(encodeExample(c)));
      expect(r.ok).toBe(false);
      return r.ok ? '' : `${r.reason}: ${r.detail}`;
    });
    expect(details).toEqual([
      'no image/encoded: the record has no image/encoded feature',
      'no image/encoded: image/encoded is empty',
      'no image/encoded: image/encoded is a float list, expected bytes',
      'no image/encoded: image/encoded holds 2 values, expected 1',
    ]);
  });

  it('ignores optional keys of the wrong type and boxes of unequal lengths', () => {
    const r = readTaoExample(
      decodeExample(
        encodeExample({
          'image/encoded': { kind: 'bytes', value: [jpeg] },
          'image/height': { kind: 'float', value: [1] },
          'image/object/bbox/xmin': { kind: 'float', value: [0.1] },
          'image/object/bbox/xmax': { kind: 'float', value: [0.5, 0.6] },
          'image/object/bbox/ymin': { kind: 'float', value: [0.3] },
          'image/object/bbox/ymax': { kind: 'float', value: [0.7] },
        }),
      ),
    );
    expect(r.ok && r.example.height === undefined && r.example.boxes === undefined).toBe(true);
  });
});
