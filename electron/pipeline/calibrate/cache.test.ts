import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { file as fileNeed, met, named } from '../../../test/support/needs.js';
import fc from 'fast-check';
import { StudioError } from '../../../shared/errors.js';
import { MIN_AMAX, ZERO_TENSOR_AMAX, decodeTrtVersion, encodeTrtVersion, hexToScale, isWritableScale, parseCalibrationCache, scaleForAmax, scaleToHex, writeCalibrationCache } from './cache.js';
import { entropyThreshold } from './entropy.js';
import { histogramOf } from './histogram.js';
import { AbsMax } from './minmax.js';
import { percentileThreshold } from './percentile.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixture = path.resolve(repoRoot, '../shared/fixtures/calibration/tao_mrcnn_trt7000_cal.bin');
const FIXTURE = fileNeed(fixture, 'the shared fixture calibration/tao_mrcnn_trt7000_cal.bin');

describe('calibration cache', () => {
  it.skipIf(!met(FIXTURE))(named('parses the real TAO Mask R-CNN cache and re-emits it byte for byte', FIXTURE), () => {
    const bytes = readFileSync(fixture);
    const text = bytes.toString('utf8');
    const parsed = parseCalibrationCache(text, fixture);
    expect(parsed.header).toEqual({ version: 7000, trtVersion: '7.0.0', algorithm: 'EntropyCalibration2' });
    expect(parsed.entries).toHaveLength(324);
    const input = parsed.entries[0]!;
    expect(input.name).toBe('Input');
    expect(input.hex).toBe('3c948aaf');
    expect(input.scale).toBeCloseTo(0.018133, 5);
    expect(input.amax).toBeCloseTo(2.303, 3);
    expect(parsed.entries.some((e) => e.name.startsWith('(Unnamed Layer* '))).toBe(true);
    const again = writeCalibrationCache({ trtVersion: parsed.header.version, algorithm: 'entropy', entries: parsed.entries });
    expect(Buffer.from(again, 'utf8').equals(bytes)).toBe(true);
  });

  it('encodes TensorRT versions as NV_TENSORRT_VERSION', () => {
    expect(encodeTrtVersion('7.0.0')).toBe(7000);
    expect(encodeTrtVersion('8.6.1')).toBe(8601);
    expect(encodeTrtVersion('10.3.0')).toBe(100300);
    expect(encodeTrtVersion('10.14.1')).toBe(101401);
    expect(decodeTrtVersion(8601)).toBe('8.6.1');
    expect(decodeTrtVersion(101401)).toBe('10.14.1');
    expect(() => encodeTrtVersion('8.6')).toThrow(StudioError);
  });

  it('writes headers and hex values as TensorRT does', () => {
    const text = writeCalibrationCache({
      trtVersion: '8.6.1',
      algorithm: 'minmax',
      entries: [
        { name: 'images', scale: 1 / 127 },
        { name: 'zero', scale: scaleForAmax(0)! },
        { name: 'a: b', scale: 2.303 / 127 },
      ],
    });
    const lines = text.split('\n');
    // MinMax scales under the header trtexec --calib and nvinfer instantiate (EntropyCalibrator2).
    expect(lines[0]).toBe('TRT-8601-EntropyCalibration2');
    // 1/127 as float32 is 0x3c010204 (a real MinMax cache line for a [0,1] input).
    expect(lines[1]).toBe('images: 3c010204');
    // An all-zero tensor gets ZERO_TENSOR_AMAX = 1, never a 0 scale.
    expect(lines[2]).toBe('zero: 3c010204');
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e-45]) {
      expect(() => writeCalibrationCache({ trtVersion: '8.6.1', algorithm: 'entropy', entries: [{ name: 'x', scale: bad }] })).toThrow(/must not hold/);
    }
    expect(writeCalibrationCache({ trtVersion: '8.6.1', algorithm: 'entropy', entries: [{ name: 'x', scale: 0.1 }, { name: 'y', scale: 0.2 }], floatTensors: ['x'] }).split('\n')[1]).toMatch(/^y: /);
    expect(text.endsWith('\n')).toBe(true);
    expect(writeCalibrationCache({ trtVersion: '10.3.0', algorithm: 'percentile', entries: [] })).toBe('TRT-100300-EntropyCalibration2\n');
    expect(parseCalibrationCache(text).entries[2]!.name).toBe('a: b');
    expect(hexToScale('3bf5ac51') * 127).toBeCloseTo(0.952, 3);
    expect(scaleToHex(hexToScale('3bf5ac51'))).toBe('3bf5ac51');
  });

  it('reports malformed lines with line and column', () => {
    const bad = (text: string): StudioError => {
      try {
        parseCalibrationCache(text, 'cal.bin');
      } catch (e) {
        expect(e).toBeInstanceOf(StudioError);
        return e as StudioError;
      }
      throw new Error('expected a parse error');
    };
    let e = bad('not a header\n');
    expect(e.code).toBe('E_CACHE_FORMAT');
    expect(e.location).toMatchObject({ file: 'cal.bin', line: 1, column: 1 });
    e = bad('TRT-8601-EntropyCalibration2\ninput: 3c010204\nconv1 3c010204\n');
    expect(e.location).toMatchObject({ line: 3 });
    e = bad('TRT-8601-EntropyCalibration2\ninput: 3c01zz04\n');
    expect(e.location).toMatchObject({ line: 2, column: 8 });
    expect(e.location.excerpt).toContain('^');
    e = bad('TRT-8601-EntropyCalibration2\ninput: 7fc00000\n');
    expect(e.message).toMatch(/not a finite/);
    e = bad('TRT-8601-EntropyCalibration2\nx: 1\nx: 2\n');
    expect(e.message).toMatch(/already has a scale on line 2/);
  });

  it('never crashes on arbitrary text, and write → parse round-trips', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseCalibrationCache(s);
        } catch (e) {
          expect(e).toBeInstanceOf(StudioError);
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            name: fc.string({ minLength: 1, maxLength: 30 }).filter((n) => !/[\r\n]/.test(n)),
            scale: fc.float({ min: 2 ** -126, max: 1e6, noNaN: true }),
          }),
          { selector: (e) => e.name, maxLength: 20 },
        ),
        fc.constantFrom('7.0.0', '8.6.1', '10.14.1'),
        fc.constantFrom('entropy', 'minmax', 'percentile') as fc.Arbitrary<'entropy' | 'minmax' | 'percentile'>,
        (entries, trtVersion, algorithm) => {
          const text = writeCalibrationCache({ trtVersion, algorithm, entries });
          const parsed = parseCalibrationCache(text);
          expect(parsed.header.trtVersion).toBe(trtVersion);
          expect(parsed.entries.map((e) => [e.name, e.scale])).toEqual(entries.map((e) => [e.name, Math.fround(e.scale)]));
          expect(writeCalibrationCache({ trtVersion, algorithm, entries: parsed.entries })).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never writes a zero, negative, NaN or infinite scale, whatever the tensor (property over random tensors)', () => {
    // Tensors: all zeros, denormals, huge values, NaN/∞ mixed in, constant, sparse.
    const tensor = fc.oneof(
      fc.float32Array({ maxLength: 400 }),
      fc.float32Array({ maxLength: 400, noNaN: true, noDefaultInfinity: true }),
      fc.nat({ max: 300 }).map((n) => new Float32Array(n)),
      fc.tuple(fc.nat({ max: 300 }), fc.float({ noNaN: true })).map(([n, v]) => new Float32Array(n).fill(v)),
      fc.float32Array({ maxLength: 200, min: Math.fround(-1e-40), max: Math.fround(1e-40), noNaN: true }),
    );
    fc.assert(
      fc.property(fc.array(tensor, { minLength: 1, maxLength: 6 }), fc.constantFrom('entropy', 'minmax', 'percentile') as fc.Arbitrary<'entropy' | 'minmax' | 'percentile'>, (tensors, algorithm) => {
        const entries: { name: string; scale: number }[] = [];
        tensors.forEach((t, k) => {
          const m = new AbsMax();
          m.addValues(t);
          const amax = m.amax;
          let threshold = amax;
          if (Number.isFinite(amax) && algorithm !== 'minmax') {
            const finite = t.filter((v) => Number.isFinite(v));
            const h = histogramOf(finite);
            threshold = algorithm === 'entropy' ? entropyThreshold(h).threshold : percentileThreshold(h, 99.9).threshold;
          }
          const scale = scaleForAmax(threshold);
          if (!Number.isFinite(amax)) expect(scale).toBeNull();
          if (scale !== null) entries.push({ name: `t${k}`, scale });
        });
        const parsed = parseCalibrationCache(writeCalibrationCache({ trtVersion: '10.16.0', algorithm, entries }));
        for (const e of parsed.entries) {
          expect(e.scale > 0 && Number.isFinite(e.scale) && isWritableScale(e.scale)).toBe(true);
          expect(e.hex).not.toBe('0');
        }
      }),
      { numRuns: 400 },
    );
    // The all-zero rule, stated: amax ≤ 2^-24 → amax 1 (scale 1/127).
    expect(scaleForAmax(0)).toBe(Math.fround(ZERO_TENSOR_AMAX / 127));
    expect(scaleForAmax(MIN_AMAX)).toBe(Math.fround(1 / 127));
    expect(scaleForAmax(-1)).toBeNull();
    expect(scaleForAmax(Number.NaN)).toBeNull();
    expect(scaleForAmax(Number.POSITIVE_INFINITY)).toBeNull();
    expect(scaleForAmax(3.4e38)).toBeGreaterThan(0);
  });
});
