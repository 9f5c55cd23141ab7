import { mulberry32 as rawMulberry32 } from '../data/sampling.js';
import { DataType } from './elemtypes.js';
import { makeNode, makeValueInfo } from './graph.js';
import { encodeModel, onnx } from './model.js';
import { makeTensor } from './tensor.js';

/** A small deterministic PRNG for test and sample weights: mulberry32 from the raw seed, in [0, 1). */
export function mulberry32(seed: number): () => number {
  const next = rawMulberry32(seed);
  return () => next() / 4294967296;
}

/**
 * A small but real model for codec tests: Conv → Relu → Slice (ends = INT64_MAX, stored as a
 * Long) → If (with then/else subgraphs) → output; input [N,3,8,8] with symbolic N.
 */
export function buildTinyModel(seed = 1): onnx.ModelProto {
  const rnd = mulberry32(seed);
  const w = new Float32Array(4 * 3 * 3 * 3).map(() => rnd() - 0.5);
  const b = new Float32Array(4).map(() => rnd() - 0.5);
  const thenGraph = onnx.GraphProto.create({
    name: 'then_body',
    node: [makeNode('Identity', ['sliced'], ['then_out'], {}, 'then_identity')],
    output: [makeValueInfo('then_out', DataType.FLOAT, null)],
  });
  const elseGraph = onnx.GraphProto.create({
    name: 'else_body',
    node: [makeNode('Neg', ['sliced'], ['else_out'], {}, 'else_neg')],
    output: [makeValueInfo('else_out', DataType.FLOAT, null)],
  });
  const graph = onnx.GraphProto.create({
    name: 'tiny',
    node: [
      makeNode('Conv', ['input', 'conv1/kernel', 'conv1/bias'], ['conv1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv1/Conv2D'),
      makeNode('Relu', ['conv1'], ['relu1'], {}, 'conv1/Relu'),
      makeNode('Slice', ['relu1', 'slice/starts', 'slice/ends', 'slice/axes'], ['sliced'], {}, 'slice'),
      makeNode('ReduceSum', ['sliced'], ['total'], { keepdims: 0 }, 'sum'),
      makeNode('Greater', ['total', 'zero'], ['cond'], {}, 'greater'),
      makeNode('If', ['cond'], ['output'], { then_branch: thenGraph, else_branch: elseGraph }, 'branch'),
    ],
    initializer: [
      makeTensor('conv1/kernel', [4, 3, 3, 3], w),
      makeTensor('conv1/bias', [4], b),
      makeTensor('slice/starts', [1], BigInt64Array.of(1n)),
      makeTensor('slice/ends', [1], BigInt64Array.of(0x7fffffffffffffffn)),
      makeTensor('slice/axes', [1], BigInt64Array.of(1n)),
      makeTensor('zero', [], Float32Array.of(0)),
    ],
    input: [makeValueInfo('input', DataType.FLOAT, ['N', 3, 8, 8])],
    output: [makeValueInfo('output', DataType.FLOAT, ['N', 3, 8, 8])],
  });
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'export-studio-test',
    producerVersion: '0',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })],
    graph,
  });
}

/** encodeModel(buildTinyModel()) */
export function tinyModelBytes(seed = 1): Uint8Array {
  return encodeModel(buildTinyModel(seed));
}
