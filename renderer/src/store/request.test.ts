import { describe, expect, it } from 'vitest';
import { ExportRequestSchema } from '../../../shared/request.js';
import type { ImageEntry } from '../../../shared/api.js';
import { initialImages, type ImagesState } from './images.js';
import { initialOptions, type OptionsState } from './options.js';
import { initialSource, type SourceState } from './source.js';
import { buildRequest, effectiveCache, effectiveEtlt, maskKey, stepBlockers, stepForPath, validateRequest } from './request.js';
import { basename, defaultEtltPath, dirname, join, sibling, stem } from './paths.js';

function source(p: Partial<SourceState> = {}): SourceState {
  return { ...initialSource(), modelPath: '/m/mrcnn.tlt', key: 'k3y', ...p };
}
function options(p: Partial<OptionsState> = {}): OptionsState {
  return { ...initialOptions(), ...p };
}
const imgs = (n: number): ImageEntry[] => Array.from({ length: n }, (_, i) => ({ id: `i${i}`, name: `${i}.jpg`, path: `/d/${i}.jpg`, bytes: 1 }));
function images(n: number, selected: number[]): ImagesState {
  const list = imgs(n);
  return { ...initialImages(), images: list, selection: { selected: new Set(selected.map((i) => `i${i}`)), anchor: null } };
}

describe('paths', () => {
  it('splits POSIX and Windows paths', () => {
    expect(dirname('/a/b/c.onnx')).toBe('/a/b');
    expect(dirname('C:\\m\\x.tlt')).toBe('C:\\m');
    expect(dirname('/x')).toBe('/');
    expect(basename('C:\\m\\x.tlt')).toBe('x.tlt');
    expect(stem('/a/model.v2.onnx')).toBe('model.v2');
    expect(join('C:\\m', 'y.etlt')).toBe('C:\\m\\y.etlt');
    expect(join('/m/', 'y.etlt')).toBe('/m/y.etlt');
    expect(sibling('/o/m.etlt', '.cal.bin')).toBe('/o/m.cal.bin');
  });
  it('default .etlt is <model dir>/<name>.etlt and never the input itself', () => {
    expect(defaultEtltPath('/m/mrcnn.tlt', 'int8')).toBe('/m/mrcnn.etlt');
    expect(defaultEtltPath('/m/mrcnn.etlt', 'int8')).toBe('/m/mrcnn.int8.etlt');
  });
});

describe('buildRequest', () => {
  it('carries the chosen target TensorRT and the DeepStream parser library (only with a DeepStream config)', () => {
    const base = initialOptions();
    const r = buildRequest(source({ specPath: '/s/spec.txt' }), options({ trtVersion: '10.3.0', outputs: { ...base.outputs, dsConfig: true, dsCustomLib: ' /srv/lib.so ' } }), initialImages());
    expect(r.trtVersion).toBe('10.3.0');
    expect(r.outputs.dsCustomLib).toBe('/srv/lib.so');
    expect(ExportRequestSchema.parse(r).trtVersion).toBe('10.3.0');
    const noDs = buildRequest(source({ specPath: '/s/spec.txt' }), options({ outputs: { ...base.outputs, dsConfig: false, dsCustomLib: '/srv/lib.so' } }), initialImages());
    expect(noDs.outputs.dsCustomLib).toBeUndefined();
    expect(noDs.trtVersion).toBe('10.16.0'); // default: DeepStream 9.2's TensorRT
    expect(validateRequest(buildRequest(source({ specPath: '/s/spec.txt' }), options({ trtVersion: '10.x' }), initialImages()))).toEqual([expect.objectContaining({ step: 'output', path: 'trtVersion' })]);
  });

  it('FP32 with a spec: no calibration, etlt defaulted from the model path, valid', () => {
    const req = buildRequest(source({ specPath: '/s/spec.txt' }), options(), initialImages());
    expect(req).toMatchObject({ model: '/m/mrcnn.tlt', key: 'k3y', spec: '/s/spec.txt', precision: 'fp32', outputs: { etlt: '/m/mrcnn.etlt', dsConfig: true } });
    expect(req.calibration).toBeUndefined();
    expect(req.preprocessing).toBeUndefined();
    expect(ExportRequestSchema.safeParse(req).success).toBe(true);
  });

  it('no spec → the chosen preprocessing preset', () => {
    const req = buildRequest(source({ preset: 'imagenet' }), options(), initialImages());
    expect(req.preprocessing).toEqual({ preset: 'imagenet' });
    expect(req.spec).toBeUndefined();
  });

  it('INT8: cache (cal.bin, TAO) and Q/DQ paths beside the .etlt, calibration parameters passed through', () => {
    const o = options({ precision: 'int8' });
    o.calibration = { ...o.calibration, source: 'spec-loader', batches: 3, batchSize: 4, seed: 7, algorithm: 'percentile', percentile: 99.9 };
    const req = buildRequest(source({ specPath: '/s/spec.txt' }), o, initialImages());
    expect(req.outputs).toMatchObject({ etlt: '/m/mrcnn.etlt', cache: '/m/cal.bin', qdq: '/m/mrcnn.qdq.onnx' });
    expect(req.calibration).toMatchObject({ source: 'spec-loader', batches: 3, batchSize: 4, seed: 7, algorithm: 'percentile', percentile: 99.9 });
    expect(validateRequest(req)).toEqual([]);
  });

  it('image folder: whole folder by name, a subset as exact files', () => {
    const o = options({ precision: 'int8' });
    o.calibration = { ...o.calibration, source: 'image-dir', imageDir: '/d' };
    const all = buildRequest(source(), o, images(4, [0, 1, 2, 3]));
    expect(all.calibration).toMatchObject({ source: 'image-dir', imageDir: '/d' });
    const some = buildRequest(source(), o, images(4, [3, 1]));
    expect(some.calibration).toMatchObject({ source: 'images', images: ['/d/1.jpg', '/d/3.jpg'] });
    expect(validateRequest(some)).toEqual([]);
  });

  it('edited output paths win over the defaults', () => {
    const o = options({ precision: 'int8' });
    o.outputs = { ...o.outputs, etlt: '/out/x.etlt', etltEdited: true, cache: '/c/x.bin', cacheEdited: true, qdq: false };
    expect(effectiveEtlt({ modelPath: '/m/a.tlt' }, o)).toBe('/out/x.etlt');
    expect(effectiveCache({ modelPath: '/m/a.tlt' }, o)).toBe('/c/x.bin');
    expect(buildRequest(source(), o, initialImages()).outputs.qdq).toBeUndefined();
  });
});

describe('validateRequest', () => {
  it('maps schema issues to the wizard step that owns the field', () => {
    const o = options({ precision: 'int8' });
    o.calibration = { ...o.calibration, source: 'tensorfile', tensorfile: '' };
    const issues = validateRequest(buildRequest(source({ modelPath: '' }), o, initialImages()));
    expect(issues.map((i) => i.step).sort()).toEqual(['calibration', 'model', 'output']);
    expect(issues.find((i) => i.step === 'calibration')?.path).toBe('calibration.tensorfile');
  });
  it('spec-loader without a spec points at the Spec step', () => {
    const o = options({ precision: 'int8' });
    const issues = validateRequest(buildRequest(source(), o, initialImages()));
    expect(issues).toEqual([{ step: 'spec', path: 'spec', message: 'the spec loader needs an experiment spec' }]);
  });
  it('stepForPath', () => {
    expect(stepForPath(['preprocessing', 'mean'])).toBe('spec');
    expect(stepForPath(['outputs', 'etlt'])).toBe('output');
    expect(stepForPath(['gpu'])).toBe('output');
  });
});

describe('stepBlockers', () => {
  it('key step: an encrypted model needs a key checked with the current key', () => {
    const model = {} as SourceState['model'];
    const unchecked = source({ model });
    expect(stepBlockers('key', unchecked, options(), initialImages())).toHaveLength(1);
    const checked = source({ model, keyCheck: { status: 'ok', ms: 3 }, checkedKey: 'k3y' });
    expect(stepBlockers('key', checked, options(), initialImages())).toEqual([]);
    const edited = { ...checked, key: 'k3y!' };
    expect(stepBlockers('key', edited, options(), initialImages())).toHaveLength(1);
  });
  it('key step: plain ONNX needs a non-empty key to encrypt the output', () => {
    const model = {} as SourceState['model'];
    expect(stepBlockers('key', source({ modelPath: '/m/a.onnx', key: '', model }), options(), initialImages())[0]).toMatch(/encrypt/);
    expect(stepBlockers('key', source({ modelPath: '/m/a.onnx', key: 'x', model }), options(), initialImages())).toEqual([]);
  });
  it('calibration step: too few selected images block unless fewer are accepted', () => {
    const o = options({ precision: 'int8' });
    o.calibration = { ...o.calibration, source: 'image-dir', imageDir: '/d', batches: 2, batchSize: 3 };
    expect(stepBlockers('calibration', source(), o, images(10, [0, 1, 2, 3]))[0]).toMatch(/2 more/);
    expect(stepBlockers('calibration', source(), o, images(10, [0, 1, 2, 3, 4, 5]))).toEqual([]);
    o.calibration.acceptFewer = true;
    expect(stepBlockers('calibration', source(), o, images(10, [0]))).toEqual([]);
    expect(stepBlockers('calibration', source(), o, images(10, []))[0]).toMatch(/at least one/);
  });
  it('spec step: a typed but unparsed spec blocks', () => {
    expect(stepBlockers('spec', source({ specPath: '/s.txt' }), options(), initialImages())).toHaveLength(1);
  });
});

describe('maskKey', () => {
  it('never returns the key', () => {
    expect(maskKey('secret')).not.toContain('secret');
    expect(maskKey('')).toBe('');
  });
});

describe('every pipeline option the CLI sets can be set in the wizard (issue 8)', () => {
  it('advanced outputs, engine, batch/workspace sizes, verbose, histogram, reuse and spec-less preprocessing reach the request', () => {
    const o = options({ precision: 'int8' });
    o.outputs = { ...o.outputs, onnx: '/o/plain.onnx', engine: '/o/m.engine', logFile: '/o/x.log', resultsDir: '/o/res', report: true, reportPath: '/o/r.json', qdqPath: '/o/q.onnx', dsEmbedKey: true, overwrite: true };
    o.advanced = { maxBatchSize: 4, maxWorkspaceSize: 1 << 30, verbose: true };
    o.calibration = { ...o.calibration, source: 'image-dir', imageDir: '/d', histogram: 'exact', reuse: 'never', resize: 'stretch', algorithm: 'percentile', percentile: 99.9, seed: 3, acceptFewer: true };
    const src = source({ modelPath: '/m/x.onnx', preset: 'imagenet', pp: { height: '832', width: '1344', mean: '1, 2, 3', scale: '0.5 0.5 0.5', order: 'bgr', layout: 'nhwc' } });
    const req = buildRequest(src, o, initialImages(), { enabled: false });
    expect(req.outputs).toMatchObject({ onnx: '/o/plain.onnx', engine: '/o/m.engine', logFile: '/o/x.log', resultsDir: '/o/res', report: '/o/r.json', qdq: '/o/q.onnx', dsConfigEmbedKey: true });
    expect(req).toMatchObject({ maxBatchSize: 4, maxWorkspaceSize: 1 << 30, verbose: true, overwrite: true, fidelity: { enabled: false } });
    expect(req.calibration).toMatchObject({ histogram: 'exact', reuse: 'never', resize: 'stretch', algorithm: 'percentile', percentile: 99.9, seed: 3, acceptFewer: true });
    expect(req.preprocessing).toEqual({ preset: 'imagenet', size: [832, 1344], mean: [1, 2, 3], scale: [0.5, 0.5, 0.5], order: 'bgr', layout: 'nhwc' });
    expect(validateRequest(req)).toEqual([]);
  });

  it('the batch size default is the CLI’s (shared/defaults.ts)', () => {
    expect(initialOptions().calibration.batchSize).toBe(16);
    expect(initialOptions().calibration.batches).toBe(10);
  });
});
