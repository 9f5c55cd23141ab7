import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { file, named } from '../../../test/support/needs.js';
import { engineFileName, nvinferConfig, renderNvinferConfig, type NvinferConfigOptions } from './dsconfig.js';
import { parseIni, sectionMap } from './ini.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const FIXTURE = path.resolve(repoRoot, '../shared/fixtures/deepstream/peopleSegNet_pgie_config.txt');
const haveFixture = existsSync(FIXTURE);

const TAO_OUTPUTS = ['generate_detections', 'mask_fcn_logits/BiasAdd'];

function opts(o: Partial<NvinferConfigOptions> = {}): NvinferConfigOptions {
  return {
    onnxFile: 'model.onnx',
    etltFile: 'model.etlt',
    labelsFile: 'labels.txt',
    int8CalibFile: 'cal.bin',
    precision: 'int8',
    imageSize: [576, 960],
    numClasses: 2,
    batchSize: 1,
    gpuId: 0,
    outputBlobNames: TAO_OUTPUTS,
    inputName: 'Input',
    ...o,
  };
}

function sections(text: string): { property: Map<string, string>; classAttrs: Map<string, string> } {
  const doc = parseIni(text);
  const property = sectionMap(doc, 'property');
  const classAttrs = sectionMap(doc, 'class-attrs-all');
  if (!property || !classAttrs) throw new Error('missing section');
  return { property, classAttrs };
}

describe('renderNvinferConfig', () => {
  it('names the TensorRT plugins the model needs, and only when it has some', () => {
    const withPlugins = renderNvinferConfig(opts({ pluginOps: ['MultilevelProposeROI_TRT', 'GenerateDetection_TRT'] }));
    expect(withPlugins).toMatch(/^# Needs the TensorRT OSS plugins the model uses \(MultilevelProposeROI_TRT, GenerateDetection_TRT\)/m);
    expect(renderNvinferConfig(opts({}))).not.toMatch(/OSS plugins/);
  });

  it('writes a complete [property] and [class-attrs-all] for TAO Mask R-CNN', () => {
    const text = renderNvinferConfig(opts({ imageSize: [832, 1344], numClasses: 91, batchSize: 4, gpuId: 1 }));
    const { property: p, classAttrs: c } = sections(text);
    expect(Object.fromEntries(p)).toEqual({
      'gpu-id': '1',
      'net-scale-factor': '0.0175070028',
      offsets: '123.675;116.28;103.53',
      'model-color-format': '0',
      'onnx-file': 'model.onnx',
      'model-engine-file': 'model.onnx_b4_gpu1_int8.engine',
      'labelfile-path': 'labels.txt',
      'int8-calib-file': 'cal.bin',
      'batch-size': '4',
      'network-mode': '1',
      'infer-dims': '3;832;1344',
      'network-input-order': '0',
      'maintain-aspect-ratio': '1',
      'symmetric-padding': '0',
      'network-type': '3',
      'num-detected-classes': '91',
      interval: '0',
      'gie-unique-id': '1',
      'cluster-mode': '4',
      'output-instance-mask': '1',
      'output-tensor-meta': '0',
      'output-blob-names': 'generate_detections;mask_fcn_logits/BiasAdd',
      'parse-bbox-instance-mask-func-name': 'NvDsInferParseCustomMrcnnTLTV2',
      'custom-lib-path': '/opt/nvidia/deepstream/deepstream/sources/deepstream_tao_apps/post_processor/libnvds_infercustomparser_tao.so',
    });
    expect(Object.fromEntries(c)).toEqual({ 'pre-cluster-threshold': '0.5', topk: '100' });
    // Comments explain the non-obvious keys, on their own lines (GLib has no inline comments).
    expect(text).toMatch(/# Calibration \(like TAO training\) resized keeping the aspect ratio and padded bottom\/right/);
    expect(text).toMatch(/# Mask R-CNN supports only cluster-mode=4/);
    for (const line of text.split('\n')) if (!line.startsWith('#')) expect(line).not.toContain('#');
  });

  it('derives net-scale-factor and offsets from the preprocessing actually used', () => {
    const { property: p } = sections(renderNvinferConfig(opts({ mean: [103.53, 116.28, 123.675], scale: [1 / 255, 1 / 255, 1 / 255], colorFormat: 'bgr' })));
    expect(Number(p.get('net-scale-factor'))).toBeCloseTo(1 / 255, 9);
    expect(p.get('offsets')).toBe('103.53;116.28;123.675');
    expect(p.get('model-color-format')).toBe('1');
  });

  it('warns (in the result and in the file) when per-channel scales differ', () => {
    const r = nvinferConfig(opts({ scale: [1 / 58.395, 1 / 57.12, 1 / 57.375] }));
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/one net-scale-factor/);
    expect(r.text).toContain('# WARNING: ');
    const mean = (1 / 58.395 + 1 / 57.12 + 1 / 57.375) / 3;
    expect(Number(sections(r.text).property.get('net-scale-factor'))).toBeCloseTo(mean, 8);
  });

  it('network-mode and int8-calib-file follow the precision', () => {
    for (const [precision, mode] of [['fp32', '0'], ['int8', '1'], ['fp16', '2']] as const) {
      const { property: p } = sections(renderNvinferConfig(opts({ precision })));
      expect(p.get('network-mode')).toBe(mode);
      expect(p.has('int8-calib-file')).toBe(precision === 'int8');
      expect(p.get('model-engine-file')).toBe(`model.onnx_b1_gpu0_${precision}.engine`);
    }
    const noCache = nvinferConfig(opts({ int8CalibFile: undefined }));
    expect(noCache.warnings.join()).toMatch(/INT8 without a calibration cache/);
  });

  it('writes the key only with embedKey, verbatim (GLib-escaped) and readable back', () => {
    const key = 'my\\odd key';
    const plain = renderNvinferConfig(opts({ key }));
    expect(plain).not.toContain('tlt-model-key');
    expect(plain).not.toContain('tlt-encoded-model');
    expect(plain).not.toContain('odd key');
    const embedded = renderNvinferConfig(opts({ key, embedKey: true }));
    const { property: p } = sections(embedded);
    expect(p.get('tlt-model-key')).toBe(key);
    expect(p.get('tlt-encoded-model')).toBe('model.etlt');
    expect(p.get('onnx-file')).toBe('model.onnx');
    expect(embedded).toContain('tlt-model-key=my\\\\odd key');
    expect(() => renderNvinferConfig(opts({ embedKey: true, key: undefined }))).toThrowError(/needs the .etlt path and the key/);
  });

  it('picks the parser from the model output names', () => {
    const v1 = sections(renderNvinferConfig(opts({ outputBlobNames: ['generate_detections', 'mask_head/mask_fcn_logits/BiasAdd'] }))).property;
    expect(v1.get('parse-bbox-instance-mask-func-name')).toBe('NvDsInferParseCustomMrcnnTLT');
    expect(v1.get('custom-lib-path')).toBe('/opt/nvidia/deepstream/deepstream/lib/libnvds_infercustomparser.so');
    const other = nvinferConfig(opts({ outputBlobNames: ['boxes', 'masks'] }));
    expect(other.warnings.join()).toMatch(/finds its tensors by those exact names/);
    expect(sections(other.text).property.get('output-blob-names')).toBe('boxes;masks');
  });

  it('rejects what nvinfer could not use', () => {
    expect(() => renderNvinferConfig(opts({ numClasses: 1 }))).toThrowError(/at least 2/);
    expect(() => renderNvinferConfig(opts({ imageSize: [0, 960] }))).toThrowError(/invalid image size/);
    expect(() => renderNvinferConfig(opts({ mean: [1, 2] }))).toThrowError(expect.objectContaining({ code: 'E_PREPROCESSING' }));
  });
});

/**
 * Keys of the real PeopleSegNet config that we write differently, and why. Everything else in
 * the fixture must be in our file with the same meaning.
 */
const REPLACED: Record<string, { by: string | null; why: string }> = {
  'tlt-encoded-model': { by: 'onnx-file', why: 'DeepStream cannot decrypt an .etlt sealed by Export Studio (our KDF is not TAO\'s), so it reads the plain ONNX written beside it' },
  'tlt-model-key': { by: null, why: 'an ONNX model needs no key; the key is written only on request (embedKey)' },
  'uff-input-blob-name': { by: null, why: 'UFF-only: an ONNX model names its own input' },
};
/** Keys we write only in some cases (the fixture, in FP16, keeps an INT8 cache line nvinfer ignores). */
const ONLY_WHEN: Record<string, { opts: Partial<NvinferConfigOptions>; why: string }> = {
  'int8-calib-file': { opts: { precision: 'int8' }, why: 'written only for INT8' },
};
/** Same key, a value that changed on purpose. */
const NEW_VALUE: Record<string, string> = {
  'parse-bbox-instance-mask-func-name': 'V1 (NvDsInferParseCustomMrcnnTLT, mask blob mask_head/…) → V2 for TAO 3+ models whose mask blob is mask_fcn_logits/BiasAdd',
  'output-blob-names': 'the model\'s own output names (TAO 3+: mask_fcn_logits/BiasAdd, not mask_head/mask_fcn_logits/BiasAdd)',
  'custom-lib-path': 'the V2 parser lives in deepstream_tao_apps\' post_processor library, not DeepStream\'s',
  'model-engine-file': 'named after the model file nvinfer builds from (the ONNX), as nvinfer names engines',
  'labelfile-path': 'our labels.txt beside the config',
  'network-mode': 'follows the chosen precision (the fixture is FP16)',
  'infer-dims': 'from data_config.image_size (the fixture model is 576×960)',
  'num-detected-classes': 'data_config.num_classes',
  'pre-cluster-threshold': 'a general default (0.5); PeopleSegNet tunes 0.8',
};

describe.skipIf(!haveFixture)(named('against the real PeopleSegNet nvinfer config', file(FIXTURE, 'the shared PeopleSegNet nvinfer config fixture')), () => {
  const fixture = haveFixture ? parseIni(readFileSync(FIXTURE, 'utf8'), { inlineComments: true }) : { sections: [] };
  const fx = { property: sectionMap(fixture, 'property') ?? new Map<string, string>(), classAttrs: sectionMap(fixture, 'class-attrs-all') ?? new Map<string, string>() };

  it('has every fixture key that still applies, or lists why it is replaced', () => {
    const ours = sections(renderNvinferConfig(opts({ precision: 'fp16', imageSize: [576, 960], numClasses: 2 })));
    expect(fx.property.size).toBeGreaterThan(20);
    for (const [key, value] of fx.property) {
      const r = REPLACED[key];
      if (r) {
        expect(ours.property.has(key), `${key} is replaced: ${r.why}`).toBe(false);
        if (r.by) expect(ours.property.has(r.by), `${key} → ${r.by}`).toBe(true);
        continue;
      }
      const when = ONLY_WHEN[key];
      if (when) {
        expect(ours.property.has(key), `${key}: ${when.why}`).toBe(false);
        expect(sections(renderNvinferConfig(opts(when.opts))).property.has(key), `${key}: ${when.why}`).toBe(true);
        continue;
      }
      expect(ours.property.has(key), `fixture key ${key} missing from our [property]`).toBe(true);
      if (key in NEW_VALUE) continue;
      const mine = ours.property.get(key) ?? '';
      if (/^[-\d.;]+$/.test(value)) {
        // Numbers (and ;-lists of numbers) mean the same when equal to 5 significant digits.
        const a = mine.split(';').map(Number);
        const b = value.split(';').map(Number);
        expect(a.length, key).toBe(b.length);
        a.forEach((x, i) => expect(Math.abs(x - (b[i] ?? NaN)), `${key}: ${mine} vs ${value}`).toBeLessThanOrEqual(1e-5 * Math.abs(x)));
      } else {
        expect(mine, `${key} should mean the same as in the fixture`).toBe(value);
      }
    }
    for (const key of fx.classAttrs.keys()) expect(ours.classAttrs.has(key), `fixture key ${key} missing from [class-attrs-all]`).toBe(true);
    // The replacement list stays honest: every entry names a key the fixture really has.
    for (const key of [...Object.keys(REPLACED), ...Object.keys(NEW_VALUE), ...Object.keys(ONLY_WHEN)]) {
      expect(fx.property.has(key) || fx.classAttrs.has(key), `${key} is not in the fixture`).toBe(true);
    }
  });

  it('writes values in the fixture formats', () => {
    const { property: p } = sections(renderNvinferConfig(opts({ precision: 'fp16', imageSize: [576, 960], numClasses: 2 })));
    const nums = (s: string | undefined): number[] => (s ?? '').split(';').map(Number);
    expect(p.get('offsets')).toMatch(/^[\d.]+;[\d.]+;[\d.]+$/);
    nums(p.get('offsets')).forEach((x, i) => expect(x).toBeCloseTo(nums(fx.property.get('offsets'))[i] ?? NaN, 3));
    expect(Number(p.get('net-scale-factor'))).toBeCloseTo(Number(fx.property.get('net-scale-factor')), 6);
    expect(p.get('infer-dims')).toBe(fx.property.get('infer-dims')); // 3;576;960
    expect(p.get('num-detected-classes')).toBe(fx.property.get('num-detected-classes'));
    expect(p.get('network-mode')).toBe(fx.property.get('network-mode'));
    for (const key of ['network-type', 'cluster-mode', 'output-instance-mask', 'model-color-format', 'gpu-id', 'batch-size', 'interval', 'gie-unique-id']) {
      expect(p.get(key), key).toBe(fx.property.get(key));
    }
  });

  it('reproduces the fixture parser, blobs and engine name for a TLT-era (V1) model', () => {
    const fxOutputs = (fx.property.get('output-blob-names') ?? '').split(';');
    const { property: p } = sections(renderNvinferConfig(opts({ outputBlobNames: fxOutputs, precision: 'fp16' })));
    expect(p.get('output-blob-names')).toBe(fx.property.get('output-blob-names'));
    expect(p.get('parse-bbox-instance-mask-func-name')).toBe(fx.property.get('parse-bbox-instance-mask-func-name'));
    expect(path.basename(p.get('custom-lib-path') ?? '')).toBe(path.basename(fx.property.get('custom-lib-path') ?? '?'));
    expect(engineFileName(fx.property.get('tlt-encoded-model') ?? '', 1, 0, 'fp16')).toBe(fx.property.get('model-engine-file'));
  });
});
