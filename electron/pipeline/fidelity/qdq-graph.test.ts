import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildSampleModel } from '../../../scripts/sample/model.js';
import { buildQdqModel } from '../calibrate/index.js';
import { decodeModel } from '../onnx/index.js';
import { createSession } from '../runtime/index.js';
import { analyseQdq, keepQuantizers, withExtraOutputs } from './qdq-graph.js';

const model = buildSampleModel({ height: 64, width: 96, numClasses: 3, detections: 8, maskSize: 8, seed: 5 });
// Arbitrary but distinct thresholds for every tensor name in the graph.
const names = (decodeModel(model).graph?.node ?? []).flatMap((n) => n.output ?? []);
const amax = new Map([['Input', 2.5], ...names.map((n, i) => [n, 1 + i / 8] as [string, number])]);
const qdq = buildQdqModel(model, amax);

async function run(bytes: Uint8Array, seed = 1): Promise<Record<string, ort.Tensor>> {
  const s = await createSession(bytes, { provider: 'cpu', optimization: 'disabled', threads: 1 });
  try {
    const data = Float32Array.from({ length: 3 * 64 * 96 }, (_, i) => Math.sin(i * 0.37 + seed) * 2);
    return await s.session.run({ Input: new ort.Tensor('float32', data, [1, 3, 64, 96]) });
  } finally {
    await s.release();
  }
}

describe('analyseQdq / keepQuantizers', () => {
  it('lists the activation quantizers with their amax, producer and quantized consumers', () => {
    const g = analyseQdq(qdq);
    const input = g.activations.find((a) => a.name === 'Input')!;
    expect(input.amax).toBeCloseTo(2.5, 5);
    expect(input.producer).toBeUndefined();
    expect(input.consumers).toEqual(['conv1/Conv2D']);
    for (const a of g.activations) expect(a.amax).toBeCloseTo(amax.get(a.name)!, 5);
    const relu = g.activations.find((a) => a.name === 'conv1/Relu')!;
    expect(relu.producer).toBe('conv1/Relu');
  });

  it('keeping nothing gives back the FP32 model exactly; keeping one leaves one Q/DQ pair', async () => {
    const g = analyseQdq(qdq);
    const [a, b] = await Promise.all([run(model), run(keepQuantizers(g.model, new Set()))]);
    for (const k of Object.keys(a)) expect(Array.from(b[k]!.data as Float32Array)).toEqual(Array.from(a[k]!.data as Float32Array));
    const one = decodeModel(keepQuantizers(g.model, new Set(['conv1/Relu'])));
    const ops = (one.graph?.node ?? []).map((n) => n.opType);
    expect(ops.filter((o) => o === 'QuantizeLinear')).toHaveLength(1);
    expect(ops.filter((o) => o === 'DequantizeLinear')).toHaveLength(1);
    expect(one.graph?.node?.find((n) => n.opType === 'QuantizeLinear')?.input?.[0]).toBe('conv1/Relu');
  });

  it('withExtraOutputs adds intermediate tensors as outputs without changing the model outputs', async () => {
    const { model: m, added } = withExtraOutputs(model, ['Input', 'conv1/Relu', 'generate_detections']);
    expect(added).toEqual(['conv1/Relu']);
    const [a, b] = await Promise.all([run(model), run(m)]);
    expect(b['conv1/Relu']).toBeDefined();
    expect(Array.from(b['generate_detections']!.data as Float32Array)).toEqual(Array.from(a['generate_detections']!.data as Float32Array));
  });
});
