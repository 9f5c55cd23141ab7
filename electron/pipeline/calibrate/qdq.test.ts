import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareTensors } from '../fidelity/metrics.js';
import { named, pythonModule } from '../../../test/support/needs.js';
import ort from 'onnxruntime-node';
import { decodeModel, getOpset, tensorToFloat32 } from '../onnx/index.js';
import { runCalibration } from './engine.js';
import { auditQdq, buildQdqModel, buildQdqModelWithSummary } from './qdq.js';
import { asAsync, convNetBytes, syntheticBatches } from './testmodels.js';

const SIZE = 32;
const calib = syntheticBatches(4, 2, SIZE, 3);
const test = syntheticBatches(1, 4, SIZE, 99)[0]!;

async function amaxOf(model: Uint8Array): Promise<Map<string, number>> {
  const r = await runCalibration({ model, batches: asAsync(calib), totalBatches: calib.length, algorithm: 'entropy', percentile: 99.99, provider: 'cpu', threads: 1 });
  return new Map(r.tensors.map((t) => [t.name, t.threshold]));
}

async function run(model: Uint8Array): Promise<Float32Array> {
  // Optimizations off, as ORT's own Q/DQ debugging does: Q/DQ stay float fake-quantization.
  const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
  const out = await s.run({ input: new ort.Tensor('float32', test.data, test.dims) }, ['probs']);
  await s.release();
  return out.probs!.data as Float32Array;
}

const cosine = (a: Float32Array, b: Float32Array): number => compareTensors(a, b).cosine;

const python = '/usr/bin/python3';
const ONNX_PY = pythonModule('onnx', 'python3-onnx');
const hasOnnx = ONNX_PY.ok;

describe('buildQdqModel', () => {
  it('runs in ONNX Runtime close to FP32, keeps the opset, and uses zero points of 0', async () => {
    const fp32 = convNetBytes({ size: SIZE });
    const { model: qdq, summary } = buildQdqModelWithSummary(fp32, await amaxOf(fp32));
    expect(summary.perChannel).toBe(true);
    const m = decodeModel(qdq);
    expect(getOpset(m)).toBe(17);
    const nodes = m.graph!.node ?? [];
    const q = nodes.filter((n) => n.opType === 'QuantizeLinear');
    expect(q.length).toBe(nodes.filter((n) => n.opType === 'DequantizeLinear').length);
    // 6 convs (stem + 2 per residual block, 2 stages) + the Gemm have weights. Activations (TensorRT
    // placement rules): the data inputs of those 7 ops; the residual operand of each Add (the block
    // input, which also feeds the block's first conv: one shared pair); the MaxPool input (its
    // output is quantized for the next conv). The GlobalAveragePool input stays float: its output
    // reaches the Gemm through Flatten, which carries the Gemm's own Q/DQ.
    expect(summary.weights).toBe(7);
    expect(summary.weightsTotal).toBe(7);
    expect(summary.activations).toBe(8);
    expect(summary.rules).toEqual({ 'weighted-input': 7, 'residual-add': 2, pool: 1 });
    expect(summary.line).toMatch(/^Q\/DQ: weights 7 of 7 per-channel, activations 8 /);
    const audit = auditQdq(qdq);
    expect(audit.dangling).toEqual([]);
    expect(audit.floatWeights).toEqual([]);
    expect(audit.pairs).toBe(15);
    const inits = new Map((m.graph!.initializer ?? []).map((t) => [t.name!, t]));
    for (const n of q) {
      const zp = inits.get(n.input![2]!)!;
      expect(zp.dataType).toBe(3); // INT8
      expect([...(zp.rawData ?? [])].every((b) => b === 0)).toBe(true);
    }
    // Every Conv reads a dequantized activation and a per-channel (axis 0) dequantized weight.
    const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
    for (const conv of nodes.filter((n) => n.opType === 'Conv')) {
      const [x, w] = conv.input!;
      expect(producer.get(x!)?.opType).toBe('DequantizeLinear');
      const dqw = producer.get(w!)!;
      expect(dqw.opType).toBe('DequantizeLinear');
      expect(dqw.attribute?.find((a) => a.name === 'axis')?.i).toBe(0);
      const scale = tensorToFloat32(inits.get(dqw.input![1]!)!);
      const weight = inits.get(producer.get(dqw.input![0]!)!.input![0]!)!;
      expect(scale.length).toBe(Number(weight.dims![0]));
      expect(Math.min(...scale)).toBeGreaterThan(0);
    }
    const a = await run(fp32);
    const b = await run(qdq);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    expect(cosine(a, b)).toBeGreaterThan(0.99);
  });

  it('falls back to per-tensor weights below opset 13 and refuses below 10', async () => {
    const m11 = convNetBytes({ size: SIZE, opset: 11 });
    const logs: string[] = [];
    const { model, summary } = buildQdqModelWithSummary(m11, await amaxOf(m11), { log: (l, t) => logs.push(`${l}: ${t}`) });
    expect(summary.perChannel).toBe(false);
    expect(logs.some((l) => l.startsWith('warn') && /opset 11/.test(l))).toBe(true);
    const dm = decodeModel(model);
    expect(getOpset(dm)).toBe(11);
    expect((dm.graph!.node ?? []).some((n) => n.attribute?.some((a) => a.name === 'axis') && n.opType === 'QuantizeLinear')).toBe(false);
    expect(cosine(await run(m11), await run(model))).toBeGreaterThan(0.98);
    expect(() => buildQdqModel(convNetBytes({ size: SIZE, opset: 9 }), new Map())).toThrow(/opset 9/);
  });

  it('leaves tensors without a range in float and says so', () => {
    const fp32 = convNetBytes({ size: SIZE });
    const { summary } = buildQdqModelWithSummary(fp32, new Map([['input', 2.5]]));
    expect(summary.activations).toBe(1);
    expect(summary.skipped.some((s) => s.reason === 'no calibrated range')).toBe(true);
  });

  it.skipIf(!hasOnnx)(named('passes onnx.checker', ONNX_PY), async () => {
    const fp32 = convNetBytes({ size: SIZE });
    const qdq = buildQdqModel(fp32, await amaxOf(fp32));
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qdq-'));
    try {
      const file = path.join(dir, 'model.qdq.onnx');
      await fs.writeFile(file, qdq);
      const r = spawnSync(python, ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1])); print("ok")', file], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('ok');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
