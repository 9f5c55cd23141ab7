import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CalibrationAlgorithm, Precision, Preprocessing, PreprocessingPreset } from '../../../shared/request.js';
import type { ModelSummary } from '../../../shared/report.js';
import { StudioError } from '../../../shared/errors.js';
import { preprocessDecoded, resolvePreprocessing } from '../data/preprocess.js';
import { parseCalibrationCache, writeCalibrationCache } from '../calibrate/cache.js';
import { checkConsumers, deriveDeployment, trtexecArgsFor } from './deployment.js';
import { nvinferConfig } from './dsconfig.js';
import { parseIni, sectionMap } from './ini.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.resolve(here, '../../../../shared/fixtures');
const TAO_CACHE = path.join(FIXTURES, 'calibration/tao_mrcnn_trt7000_cal.bin');
const PEOPLESEGNET = path.join(FIXTURES, 'deepstream/peopleSegNet_pgie_config.txt');

const H = 24;
const W = 40;
const CLASSES = 5;

/** A TAO Mask R-CNN-shaped model summary: image input in `layout`, static or dynamic H/W. */
function model(layout: 'nchw' | 'nhwc', dynamic: boolean): Pick<ModelSummary, 'inputs' | 'outputs'> {
  const hh = dynamic ? 'height' : H;
  const ww = dynamic ? 'width' : W;
  return {
    inputs: [{ name: 'Input', type: 'float32', shape: layout === 'nchw' ? ['N', 3, hh, ww] : ['N', hh, ww, 3] }],
    outputs: [
      { name: 'generate_detections', type: 'float32', shape: ['N', 100, 6] },
      { name: 'mask_fcn_logits/BiasAdd', type: 'float32', shape: ['N', 100, CLASSES, 28, 28] },
    ],
  };
}

/** What nvinfer feeds the network for an 8-bit RGB frame, per its documented formula, in its input order. */
function nvinferTensor(rgb: Float32Array, props: Map<string, string>): Float32Array {
  const nsf = Number(props.get('net-scale-factor'));
  const offsets = props.get('offsets')!.split(';').map(Number);
  const bgr = props.get('model-color-format') === '1';
  const nhwc = props.get('network-input-order') === '1';
  const out = new Float32Array(H * W * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        const v = rgb[(y * W + x) * 3 + (bgr ? 2 - c : c)]!;
        out[nhwc ? (y * W + x) * 3 + c : c * H * W + y * W + x] = nsf * (v - offsets[c]!);
      }
    }
  }
  return out;
}

const presets: (PreprocessingPreset | 'explicit')[] = ['tao-maskrcnn', 'imagenet', 'unit', 'explicit'];
const orders = ['rgb', 'bgr'] as const;
const layouts = ['nchw', 'nhwc'] as const;
const precisions: Precision[] = ['fp32', 'fp16', 'int8'];
const algorithms: CalibrationAlgorithm[] = ['entropy', 'minmax', 'percentile'];

describe('deriveDeployment × nvinfer config × cache: the matrix', () => {
  // An RGB frame exactly the network size (no resize), values 0..255.
  const frame = Float32Array.from({ length: H * W * 3 }, (_, i) => (i * 37) % 256);
  let cases = 0;

  for (const preset of presets)
    for (const order of orders)
      for (const layout of layouts)
        for (const precision of precisions)
          for (const algorithm of algorithms)
            for (const withSpec of [true, false]) {
              const name = `${preset} ${order} ${layout} ${precision} ${algorithm} ${withSpec ? 'spec' : 'no spec'}`;
              it(name, () => {
                cases++;
                const req: Preprocessing = {
                  preset: preset === 'explicit' ? 'tao-maskrcnn' : preset,
                  order,
                  layout,
                  ...(preset === 'explicit' ? { mean: [10, 20, 30], scale: [0.5, 0.5, 0.5] } : {}),
                  // Without a spec the model's H/W are dynamic and --input_size gives them.
                  ...(withSpec ? {} : { size: [H, W] as [number, number] }),
                };
                const pp = resolvePreprocessing(req, { ...(withSpec ? { specImageSize: [H, W] as [number, number] } : {}), modelInputShape: model(layout, !withSpec).inputs[0]!.shape! });
                const d = deriveDeployment({ preprocessing: pp, precision, algorithm, trtVersion: '10.16.0', model: model(layout, !withSpec), specNumClasses: withSpec ? CLASSES : undefined });
                const settings = d.nvinfer!;
                const { text } = nvinferConfig({ onnxFile: 'model.onnx', labelsFile: 'labels.txt', int8CalibFile: 'cal.bin', precision, imageSize: [1, 1], numClasses: 2, outputBlobNames: ['generate_detections', 'mask_fcn_logits/BiasAdd'], settings });
                const p = sectionMap(parseIni(text), 'property')!;

                // Config against what was used.
                expect(p.get('model-color-format')).toBe(order === 'rgb' ? '0' : '1');
                expect(p.get('network-input-order')).toBe(layout === 'nchw' ? '0' : '1');
                expect(p.get('infer-dims')).toBe(layout === 'nchw' ? `3;${H};${W}` : `${H};${W};3`);
                expect(p.get('offsets')!.split(';').map(Number)).toEqual(pp.mean.map((m) => Number(m.toPrecision(9))));
                // A preset's RGB means follow the channels into BGR; explicit values are model order as given.
                const presetMean = preset === 'unit' ? [0, 0, 0] : [123.675, 116.28, 103.53];
                expect(pp.mean).toEqual(preset === 'explicit' ? [10, 20, 30] : order === 'rgb' ? presetMean : [...presetMean].reverse());
                expect(p.get('network-mode')).toBe({ fp32: '0', int8: '1', fp16: '2' }[precision]);
                expect(p.has('int8-calib-file')).toBe(precision === 'int8');
                expect(p.get('num-detected-classes')).toBe(String(CLASSES));
                expect(p.get('maintain-aspect-ratio')).toBe(pp.resize === 'keep-aspect-pad' ? '1' : '0');
                expect(p.has('layer-device-precision')).toBe(false);

                // What nvinfer computes from the config equals the calibration tensor (up to the
                // stated per-channel-scale approximation for ImageNet's std).
                const ours = preprocessDecoded({ width: W, height: H, data: Float32Array.from(frame) }, pp);
                const theirs = nvinferTensor(frame, p);
                const perChannel = Math.max(...pp.scale) - Math.min(...pp.scale) > 1e-6 * pp.scale[0];
                let maxRel = 0;
                for (let i = 0; i < ours.length; i++) maxRel = Math.max(maxRel, Math.abs(ours[i]! - theirs[i]!) / Math.max(1e-6, Math.abs(ours[i]!)));
                expect(maxRel).toBeLessThan(perChannel ? 0.03 : 1e-5);
                if (perChannel) expect(text).toMatch(/# WARNING: .*one net-scale-factor/);

                // The cache: the consumers' header whatever the algorithm, the algorithm recorded beside it.
                if (precision === 'int8') {
                  expect(d.cache).toEqual({ header: 'TRT-101600-EntropyCalibration2', headerAlgorithm: 'EntropyCalibration2', scalesFrom: algorithm });
                  const cache = parseCalibrationCache(writeCalibrationCache({ trtVersion: d.trt.version, algorithm, entries: [{ name: 'Input', scale: 2.64 / 127 }] }));
                  expect(`TRT-${cache.header.version}-${cache.header.algorithm}`).toBe(d.cache!.header);
                  expect(trtexecArgsFor(d, { onnx: 'm.onnx', engine: 'm.engine', cache: 'cal.bin', workspaceBytes: 2 ** 30 })).toEqual(['--onnx=m.onnx', '--saveEngine=m.engine', '--memPoolSize=workspace:1024M', '--int8', '--fp16', '--calib=cal.bin']);
                } else {
                  expect(d.cache).toBeNull();
                  expect(trtexecArgsFor(d, { onnx: 'm.onnx', engine: 'm.engine', workspaceBytes: 2 ** 30 }).slice(3)).toEqual(precision === 'fp16' ? ['--fp16'] : []);
                }
              });
            }
  it('covered every combination', () => expect(cases).toBe(4 * 2 * 2 * 3 * 3 * 2));
});

describe('against the real files in ../shared/fixtures', () => {
  it.skipIf(!existsSync(PEOPLESEGNET))('PeopleSegNet: the TAO preprocessing gives the real config\'s net-scale-factor, offsets, colour format and dims (skipped without ../shared)', () => {
    const fixture = sectionMap(parseIni(readFileSync(PEOPLESEGNET, 'utf8'), { inlineComments: true }), 'property')!;
    const pp = resolvePreprocessing({ preset: 'tao-maskrcnn' }, { specImageSize: [576, 960], modelInputShape: ['N', 3, 576, 960] });
    const m = { inputs: [{ name: 'Input', type: 'float32', shape: ['N', 3, 576, 960] }], outputs: [{ name: 'generate_detections', type: 'float32', shape: ['N', 100, 6] }, { name: 'mask_fcn_logits/BiasAdd', type: 'float32', shape: ['N', 100, 2, 28, 28] }] };
    for (const precision of ['fp16', 'int8'] as const) {
      const d = deriveDeployment({ preprocessing: pp, precision, trtVersion: '10.16.0', model: m, specNumClasses: 2 });
      const ours = sectionMap(parseIni(nvinferConfig({ onnxFile: 'm.onnx', int8CalibFile: 'cal.bin', precision, imageSize: [1, 1], numClasses: 2, outputBlobNames: ['generate_detections', 'mask_fcn_logits/BiasAdd'], settings: d.nvinfer! }).text), 'property')!;
      expect(Number(ours.get('net-scale-factor')).toPrecision(5)).toBe(Number(fixture.get('net-scale-factor')).toPrecision(5));
      expect(ours.get('offsets')!.split(';').map(Number)).toEqual(fixture.get('offsets')!.split(';').map(Number));
      expect(ours.get('model-color-format')).toBe(fixture.get('model-color-format'));
      expect(ours.get('infer-dims')).toBe(fixture.get('infer-dims'));
      expect(ours.get('num-detected-classes')).toBe(fixture.get('num-detected-classes'));
      if (precision === 'fp16') expect(ours.get('network-mode')).toBe(fixture.get('network-mode'));
      else expect(ours.get('network-mode')).toBe('1');
    }
  });

  it.skipIf(!existsSync(TAO_CACHE))('TAO cache: our cache has the same header algorithm token and value encoding, and a rewrite under the target keeps every scale (skipped without ../shared)', () => {
    const tao = parseCalibrationCache(readFileSync(TAO_CACHE, 'utf8'));
    expect(tao.header.algorithm).toBe('EntropyCalibration2');
    for (const algorithm of algorithms) {
      const d = deriveDeployment({ preprocessing: null, precision: 'int8', algorithm, trtVersion: '7.0.0', model: { inputs: [], outputs: [] } });
      expect(d.cache!.header).toBe('TRT-7000-EntropyCalibration2');
      const text = writeCalibrationCache({ trtVersion: '7.0.0', algorithm, entries: tao.entries });
      expect(text).toBe(readFileSync(TAO_CACHE, 'utf8'));
      expect(tao.entries.every((e) => e.scale > 0)).toBe(true);
    }
  });
});

describe('consumer checks and float tensors', () => {
  it('refuses INT8 for TensorRT 11 without a Q/DQ model before the export starts, and builds strongly typed with one', () => {
    expect(() => checkConsumers({ precision: 'int8', trtVersion: '11.4.1', qdq: false, engine: true, dsConfig: true })).toThrow(StudioError);
    expect(() => checkConsumers({ precision: 'int8', trtVersion: '11.4.1', qdq: false, engine: true, dsConfig: false })).toThrow(/TensorRT 11 removed implicit INT8.*--engine_file/);
    expect(() => checkConsumers({ precision: 'int8', trtVersion: '11.4.1', qdq: true, engine: true, dsConfig: true })).not.toThrow();
    expect(() => checkConsumers({ precision: 'fp16', trtVersion: '11.4.1', qdq: false, engine: true, dsConfig: true })).not.toThrow();
    expect(() => checkConsumers({ precision: 'int8', trtVersion: '10.16.0', qdq: false, engine: true, dsConfig: true })).not.toThrow();
    const pp = resolvePreprocessing({ preset: 'tao-maskrcnn' }, { modelInputShape: ['N', 3, H, W] });
    const d = deriveDeployment({ preprocessing: pp, precision: 'int8', trtVersion: '11.4.1', model: model('nchw', false), qdq: true });
    expect(trtexecArgsFor(d, { onnx: 'q.onnx', engine: 'e', workspaceBytes: 2 ** 20 }).slice(3)).toEqual(['--stronglyTyped']);
    expect(d.nvinfer).toMatchObject({ int8CalibFile: false, modelFile: 'qdq', networkMode: 1 });
  });

  it('floatTensors reach trtexec (--precisionConstraints=obey --layerPrecisions) and nvinfer (layer-device-precision)', () => {
    const pp = resolvePreprocessing({ preset: 'tao-maskrcnn' }, { modelInputShape: ['N', 3, H, W] });
    const nodes = [
      { name: '/conv1/Conv', opType: 'Conv', input: ['Input', 'w1'], output: ['c1'] },
      { name: '/relu1/Relu', opType: 'Relu', input: ['c1'], output: ['r1'] },
      { name: '/conv2/Conv', opType: 'Conv', input: ['r1', 'w2'], output: ['c2'] },
      { name: '', opType: 'Sigmoid', input: ['c2'], output: ['s'] },
    ];
    const d = deriveDeployment({ preprocessing: pp, precision: 'int8', trtVersion: '10.16.0', model: model('nchw', false), nodes, floatTensors: ['r1', 'r1', 'c2', 'nope'] });
    expect(d.floatTensors).toEqual(['c2', 'nope', 'r1']);
    expect(d.floatLayers.map((l) => l.name)).toEqual(['/conv2/Conv', '/relu1/Relu']);
    expect(d.warnings.some((w) => /without a name/.test(w))).toBe(true);
    expect(d.warnings.some((w) => /does not have: nope/.test(w))).toBe(true);
    const args = trtexecArgsFor(d, { onnx: 'm.onnx', engine: 'e', cache: 'cal.bin', workspaceBytes: 2 ** 20 });
    expect(args.slice(-2)).toEqual(['--precisionConstraints=obey', '--layerPrecisions=/conv2/Conv:fp16,/relu1/Relu:fp16']);
    const p = sectionMap(parseIni(nvinferConfig({ onnxFile: 'm.onnx', int8CalibFile: 'cal.bin', precision: 'int8', imageSize: [1, 1], numClasses: 2, outputBlobNames: [], settings: d.nvinfer! }).text), 'property')!;
    expect(p.get('layer-device-precision')).toBe('/conv2/Conv:fp16:gpu;/relu1/Relu:fp16:gpu');
    const cache = writeCalibrationCache({ trtVersion: '10.16.0', algorithm: 'entropy', entries: ['Input', 'c1', 'r1', 'c2'].map((name) => ({ name, scale: 0.01 })), floatTensors: d.floatTensors });
    expect(parseCalibrationCache(cache).entries.map((e) => e.name)).toEqual(['Input', 'c1']);
  });

  it('num-detected-classes: the mask output wins over the spec (with a warning), then the spec, then 2 with a warning', () => {
    const pp = resolvePreprocessing({ preset: 'tao-maskrcnn' }, { modelInputShape: ['N', 3, H, W] });
    const base = { preprocessing: pp, precision: 'fp32' as const, trtVersion: '10.16.0' };
    const a = deriveDeployment({ ...base, model: model('nchw', false), specNumClasses: 91 });
    expect(a.nvinfer!.numDetectedClasses).toBe(CLASSES);
    expect(a.warnings.join()).toMatch(/num_classes \(91\) differs/);
    const noMask = { inputs: model('nchw', false).inputs, outputs: [{ name: 'out', type: 'float32', shape: [1, 2] }] };
    expect(deriveDeployment({ ...base, model: noMask, specNumClasses: 91 }).nvinfer!.numDetectedClasses).toBe(91);
    const c = deriveDeployment({ ...base, model: noMask });
    expect(c.nvinfer!.numDetectedClasses).toBe(2);
    expect(c.warnings.join()).toMatch(/num-detected-classes=2 is a default/);
  });
});
