import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildSampleModel } from '../../../scripts/sample/model.js';
import { buildQdqModel } from '../calibrate/index.js';
import { DataType, decodeModel, encodeModel, makeNode, makeTensor, makeValueInfo, onnx } from '../onnx/index.js';
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

describe('float16 activations (a real ISNet export computes in float16 between casts)', () => {
  // x (float) → Cast(float16) h → Conv(W) c → Relu r → Conv(W2) d → Cast(float) y, weights float16: Q/DQ on both Conv inputs (float16).
  const half = (() => {
    const w = makeTensor('W', [2, 2, 1, 1], new Uint16Array([0x3c00, 0x3800, 0xb800, 0x3c00]), DataType.FLOAT16);
    const w2 = makeTensor('W2', [2, 2, 1, 1], new Uint16Array([0x3800, 0x3c00, 0x3c00, 0xb800]), DataType.FLOAT16);
    const g = onnx.GraphProto.create({
      name: 'half',
      node: [
        makeNode('Cast', ['x'], ['h'], { to: DataType.FLOAT16 }, 'to_half'),
        makeNode('Conv', ['h', 'W'], ['c'], {}, 'conv'),
        makeNode('Relu', ['c'], ['p'], {}, 'relu'),
        makeNode('Conv', ['p', 'W2'], ['s'], {}, 'conv2'),
        makeNode('Cast', ['s'], ['y'], { to: DataType.FLOAT }, 'to_float'),
      ],
      initializer: [w, w2],
      input: [makeValueInfo('x', DataType.FLOAT, [1, 2, 4, 4])],
      output: [makeValueInfo('y', DataType.FLOAT, [1, 2, 4, 4])],
    });
    return encodeModel(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 15 }], graph: g }));
  })();
  const x = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i) * 3);
  const runHalf = async (bytes: Uint8Array) => {
    const s = await createSession(bytes, { provider: 'cpu', optimization: 'disabled', threads: 1 });
    try {
      return (await s.session.run({ x: new ort.Tensor('float32', x, [1, 2, 4, 4]) })).y!.data as Float32Array;
    } finally {
      await s.release();
    }
  };

  it('wraps them in casts so QuantizeLinear (float32 only before opset 19) accepts them, and the model runs', async () => {
    const q = buildQdqModel(half, new Map([['h', 5], ['p', 6]]));
    const ops = (decodeModel(q).graph?.node ?? []).map((n) => n.opType);
    expect(ops.filter((o) => o === 'QuantizeLinear')).toHaveLength(2);
    expect(ops.filter((o) => o === 'Cast')).toHaveLength(2 + 4);
    const ref = await runHalf(half);
    const y = await runHalf(q);
    expect(y.length).toBe(ref.length);
    expect(y).not.toEqual(ref); // quantized
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - ref[i]!)).toBeLessThan(0.25);
    // The analysis names the float16 tensors themselves, with the real producer and consumers …
    const g = analyseQdq(q);
    expect(g.activations.map((a) => [a.name, a.producer, a.consumers])).toEqual([
      ['h', 'to_half', ['conv']],
      ['p', 'relu', ['conv2']],
    ]);
    // … and dropping every quantizer restores the float model exactly.
    expect(await runHalf(keepQuantizers(g.model, new Set()))).toEqual(ref);
    expect((decodeModel(keepQuantizers(g.model, new Set(['p']))).graph?.node ?? []).filter((n) => n.opType === 'QuantizeLinear')).toHaveLength(1);
  });
});
