import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../../../test/support/needs.js';
import { TV_MASKRCNN_FILE, tvMaskRcnn } from '../../../test/support/torchvision.js';

import { isStudioError } from '../../../shared/errors.js';
import { DataType } from './elemtypes.js';
import { makeNode, makeValueInfo } from './graph.js';
import { inspectModel, resolveExternalData } from './inspect.js';
import { decodeModel, encodeModel, onnx } from './model.js';
import { makeTensor } from './tensor.js';
import { buildTinyModel, mulberry32 } from './testing.js';

function meta(bytes: Uint8Array) {
  return { format: 'onnx' as const, fileBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

describe('inspectModel', () => {
  it('reports io, versions, counts (subgraph nodes included) and parameters of a real model', () => {
    const m = buildTinyModel();
    const g = m.graph as onnx.GraphProto;
    // An initializer also listed as a graph input (IR >= 4 overridable default) is not a real input.
    g.input.push(makeValueInfo('conv1/bias', DataType.FLOAT, [4]));
    g.output[0] = makeValueInfo('output', DataType.FLOAT, ['N', null, 8, 8]);
    const bytes = encodeModel(m);
    const s = inspectModel(bytes, meta(bytes));
    expect(s.inputs).toEqual([{ name: 'input', type: 'float32', shape: ['N', 3, 8, 8] }]);
    expect(s.outputs).toEqual([{ name: 'output', type: 'float32', shape: ['N', null, 8, 8] }]);
    expect(s.irVersion).toBe(8);
    expect(s.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(s.producer).toBe('export-studio-test 0');
    // 6 nodes in the main graph + Identity (then) + Neg (else).
    expect(s.nodeCount).toBe(8);
    expect(s.opCounts).toEqual({ Conv: 1, Relu: 1, Slice: 1, ReduceSum: 1, Greater: 1, If: 1, Identity: 1, Neg: 1 });
    expect(s.initializerCount).toBe(6);
    expect(s.parameterCount).toBe(4 * 3 * 3 * 3 + 4 + 1 + 1 + 1 + 1);
    expect(s.customOps).toEqual([]);
    expect(s.externalData).toBe(false);
    expect(s.bytes).toBe(bytes.length);
    expect(s.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(s.format).toBe('onnx');
    expect(s.etltInputName).toBeUndefined();
    const e = inspectModel(bytes, { ...meta(bytes), format: 'etlt', etltInputName: '' });
    expect(e.etltInputName).toBe('');
  });

  it('lists ops ORT cannot run: TensorRT plugins in the default or a plugin domain, also inside subgraphs', () => {
    const m = buildTinyModel();
    const g = m.graph as onnx.GraphProto;
    g.node.push(
      makeNode('MultilevelProposeROI_TRT', ['relu1'], ['rois'], {}, 'multilevel_propose_rois'),
      makeNode('MultilevelProposeROI_TRT', ['relu1'], ['rois2'], {}, 'multilevel_propose_rois_2'),
      makeNode('ResizeNearest_TRT', ['relu1'], ['up'], { scale: 2.0 }, 'fpn_upsample', 'trt.plugins'),
      makeNode('FusedConv', ['relu1'], ['fc'], {}, 'ms_op', 'com.microsoft'),
      makeNode('LabelEncoder', ['relu1'], ['le'], {}, 'ml_op', 'ai.onnx.ml'),
      makeNode('MyFunc', ['relu1'], ['mf'], {}, 'local_fn', 'local.fn'),
    );
    m.functions = [onnx.FunctionProto.create({ name: 'MyFunc', domain: 'local.fn', input: ['x'], output: ['y'], node: [makeNode('Identity', ['x'], ['y'])] })];
    const ifNode = g.node.find((n) => n.opType === 'If');
    const thenBranch = ifNode?.attribute?.find((a) => a.name === 'then_branch')?.g as onnx.GraphProto;
    thenBranch.node.push(makeNode('GenerateDetection_TRT', ['sliced'], ['det'], {}, 'generate_detections'));
    const bytes = encodeModel(m);
    const s = inspectModel(bytes, meta(bytes));
    expect(s.customOps).toEqual([
      { domain: '', opType: 'MultilevelProposeROI_TRT', count: 2 },
      { domain: '', opType: 'GenerateDetection_TRT', count: 1 },
      { domain: 'trt.plugins', opType: 'ResizeNearest_TRT', count: 1 },
    ]);
    expect(s.opCounts['trt.plugins::ResizeNearest_TRT']).toBe(1);
    expect(s.opCounts['com.microsoft::FusedConv']).toBe(1);
    expect(s.nodeCount).toBe(8 + 6 + 1);
  });

  it('summarizes the torchvision Mask R-CNN export when present', (ctx) => {
    const file = TV_MASKRCNN_FILE;
    needs(ctx, tvMaskRcnn());
    const bytes = new Uint8Array(readFileSync(file));
    const s = inspectModel(bytes, meta(bytes));
    expect(s.inputs.map((i) => i.name)).toEqual(['image']);
    expect(s.outputs.map((o) => o.name)).toEqual(['boxes', 'labels', 'scores', 'masks']);
    expect(s.customOps).toEqual([]);
    expect(s.opCounts['RoiAlign']).toBeGreaterThan(0);
    // torchvision exports loops/ifs: the total counts subgraph nodes, so it is >= the main graph's.
    expect(s.nodeCount).toBeGreaterThanOrEqual(decodeModel(bytes).graph?.node?.length ?? 0);
    expect(s.parameterCount).toBeGreaterThan(40_000_000);
  }, 60_000);
});

describe('resolveExternalData', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'onnx-ext-'));
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  /** The tiny model with its conv kernel (and bias) moved to `weights.bin` at 4096-aligned offsets. */
  async function externalize(location: string, write = true): Promise<{ model: onnx.ModelProto; internal: Uint8Array }> {
    const m = buildTinyModel(4);
    const internal = encodeModel(m);
    const g = m.graph as onnx.GraphProto;
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const name of ['conv1/kernel', 'conv1/bias']) {
      const t = g.initializer.find((x) => x.name === name) as onnx.TensorProto;
      const raw = Uint8Array.from(t.rawData);
      const pad = new Uint8Array(offset === 0 ? 0 : 4096 - (offset % 4096));
      chunks.push(pad, raw);
      offset += pad.length;
      t.rawData = new Uint8Array(0);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        onnx.StringStringEntryProto.create({ key: 'location', value: location }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(raw.length) }),
      ];
      offset += raw.length;
    }
    if (write) await fsp.writeFile(path.join(dir, location), Buffer.concat(chunks));
    return { model: m, internal };
  }

  it('supplies ORT with the data files so a model loaded from bytes runs like the single-file model', async () => {
    const { model, internal } = await externalize('weights.bin');
    const bytes = encodeModel(model);
    expect(inspectModel(bytes, meta(bytes)).externalData).toBe(true);
    const res = await resolveExternalData(decodeModel(bytes), dir);
    expect(res.files).toEqual([{ location: 'weights.bin', absPath: path.join(dir, 'weights.bin'), bytes: 4096 + 16, tensors: ['conv1/kernel', 'conv1/bias'] }]);
    const rnd = mulberry32(6);
    const feeds = { input: new ort.Tensor('float32', new Float32Array(3 * 64).map(() => rnd() - 0.5), [1, 3, 8, 8]) };
    const a = await ort.InferenceSession.create(internal);
    const b = await ort.InferenceSession.create(bytes, { externalData: res.externalData });
    try {
      const [ra, rb] = await Promise.all([a.run(feeds), b.run(feeds)]);
      expect(Array.from(rb['output']?.data as Float32Array)).toEqual(Array.from(ra['output']?.data as Float32Array));
    } finally {
      await a.release();
      await b.release();
    }
  });

  async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
    try {
      await p;
    } catch (e) {
      if (isStudioError(e)) return { code: e.code, message: e.message };
      throw e;
    }
    throw new Error('expected a StudioError');
  }

  it('refuses missing files, escaping or absolute locations and truncated data with E_ONNX_EXTERNAL_DATA', async () => {
    const missing = await errorOf(resolveExternalData((await externalize('nothere.bin', false)).model, dir));
    expect(missing.code).toBe('E_ONNX_EXTERNAL_DATA');
    expect(missing.message).toContain('nothere.bin');
    expect(missing.message).toContain('conv1/kernel');

    for (const bad of ['../weights.bin', 'sub/../../x.bin', '/etc/passwd', 'C:\\data\\w.bin']) {
      const { model } = await externalize('weights.bin');
      for (const t of model.graph?.initializer ?? []) for (const e of t.externalData ?? []) if (e.key === 'location') e.value = bad;
      const r = await errorOf(resolveExternalData(model, dir));
      expect(r.code).toBe('E_ONNX_EXTERNAL_DATA');
      expect(r.message).toContain('outside');
    }

    const { model } = await externalize('short.bin');
    await fsp.truncate(path.join(dir, 'short.bin'), 100);
    const short = await errorOf(resolveExternalData(model, dir));
    expect(short.code).toBe('E_ONNX_EXTERNAL_DATA');
    expect(short.message).toMatch(/has 100 bytes/);
  });

  it('returns nothing for a single-file model', async () => {
    const m = buildTinyModel();
    m.graph?.initializer?.push(makeTensor('extra', [2], Float32Array.of(1, 2)));
    expect(await resolveExternalData(m, dir)).toEqual({ externalData: [], files: [] });
  });
});
