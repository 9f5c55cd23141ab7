import { DataType, encodeModel, makeNode, makeTensor, makeValueInfo, onnx, type Dim } from '../onnx/index.js';
import { mulberry32 } from '../onnx/testing.js';
import type { Batch } from '../data/types.js';

export interface ConvNetOptions {
  /** Default-domain opset to import (default 17). */
  opset?: number;
  /** Input height = width (default 32). */
  size?: number;
  /** Channels of the stages (default [8, 16]). */
  channels?: number[];
  /** Residual blocks per stage (default 1). */
  blocks?: number;
  /** Insert a fake TensorRT plugin (MultilevelProposeROI_TRT) after the first stage. */
  plugin?: boolean;
  /** Input without a batch dimension: [3, H, W]. */
  rank3?: boolean;
  /** Fixed batch dimension instead of a symbolic one. */
  batch?: number;
  seed?: number;
}

/**
 * A small ResNet-like conv net built with the ONNX facade: Conv+BatchNorm+Relu stems, residual
 * Adds, MaxPool, GlobalAveragePool, Gemm, Softmax, plus an integer Shape branch (which must not be
 * calibrated). Weights are He-initialised from a seeded PRNG, so activations have sensible ranges.
 */
export function buildConvNet(o: ConvNetOptions = {}): onnx.ModelProto {
  const opset = o.opset ?? 17;
  const size = o.size ?? 32;
  const channels = o.channels ?? [8, 16];
  const blocks = o.blocks ?? 1;
  const rnd = mulberry32(o.seed ?? 7);
  const gauss = (): number => {
    const u = Math.max(rnd(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const nodes: onnx.NodeProto[] = [];
  const inits: onnx.TensorProto[] = [];
  let uid = 0;
  const conv = (x: string, cin: number, cout: number, k: number, stride: number, relu: boolean): string => {
    const id = uid++;
    const w = new Float32Array(cout * cin * k * k).map(() => gauss() * Math.sqrt(2 / (cin * k * k)));
    inits.push(makeTensor(`conv${id}.weight`, [cout, cin, k, k], w));
    inits.push(makeTensor(`conv${id}.bias`, [cout], new Float32Array(cout).map(() => 0.1 * gauss())));
    const p = (k - 1) / 2;
    nodes.push(makeNode('Conv', [x, `conv${id}.weight`, `conv${id}.bias`], [`/conv${id}/Conv_output_0`], { kernel_shape: [k, k], pads: [p, p, p, p], strides: [stride, stride] }, `/conv${id}/Conv`));
    const bn = ['scale', 'B', 'mean', 'var'].map((s) => `bn${id}.${s}`);
    inits.push(makeTensor(bn[0]!, [cout], new Float32Array(cout).map(() => 1 + 0.1 * gauss())));
    inits.push(makeTensor(bn[1]!, [cout], new Float32Array(cout).map(() => 0.1 * gauss())));
    inits.push(makeTensor(bn[2]!, [cout], new Float32Array(cout).map(() => 0.1 * gauss())));
    inits.push(makeTensor(bn[3]!, [cout], new Float32Array(cout).map(() => 1 + 0.2 * rnd())));
    nodes.push(makeNode('BatchNormalization', [`/conv${id}/Conv_output_0`, ...bn], [`/bn${id}/BatchNormalization_output_0`], { epsilon: 1e-5 }, `/bn${id}/BatchNormalization`));
    if (!relu) return `/bn${id}/BatchNormalization_output_0`;
    nodes.push(makeNode('Relu', [`/bn${id}/BatchNormalization_output_0`], [`/relu${id}/Relu_output_0`], {}, `/relu${id}/Relu`));
    return `/relu${id}/Relu_output_0`;
  };
  let x = 'input';
  if (o.rank3) {
    inits.push(makeTensor('unsq_axes', [1], BigInt64Array.of(0n)));
    nodes.push(makeNode('Unsqueeze', opset >= 13 ? ['input', 'unsq_axes'] : ['input'], ['input_4d'], opset >= 13 ? {} : { axes: [0] }, 'unsqueeze'));
    x = 'input_4d';
  }
  let cin = 3;
  channels.forEach((cout, stage) => {
    x = conv(x, cin, cout, 3, stage === 0 ? 1 : 2, true);
    for (let b = 0; b < blocks; b++) {
      const y = conv(conv(x, cout, cout, 3, 1, true), cout, cout, 3, 1, false);
      const id = uid++;
      nodes.push(makeNode('Add', [x, y], [`/add${id}/Add_output_0`], {}, `/add${id}/Add`));
      nodes.push(makeNode('Relu', [`/add${id}/Add_output_0`], [`/relu${id}/Relu_output_0`], {}, `/relu${id}/Relu`));
      x = `/relu${id}/Relu_output_0`;
    }
    if (stage === 0) {
      nodes.push(makeNode('MaxPool', [x], ['/pool0/MaxPool_output_0'], { kernel_shape: [2, 2], strides: [2, 2] }, '/pool0/MaxPool'));
      x = '/pool0/MaxPool_output_0';
      if (o.plugin) {
        nodes.push(makeNode('MultilevelProposeROI_TRT', [x], ['multilevel_propose_rois'], { prenms_topk: 4096 }, 'multilevel_propose_rois'));
        nodes.push(makeNode('Sigmoid', ['multilevel_propose_rois'], ['/roi/Sigmoid_output_0'], {}, '/roi/Sigmoid'));
      }
    }
    cin = cout;
  });
  nodes.push(makeNode('Shape', [x], ['/shape/Shape_output_0'], {}, '/shape/Shape'));
  nodes.push(makeNode('GlobalAveragePool', [x], ['/gap/GlobalAveragePool_output_0'], {}, '/gap/GlobalAveragePool'));
  nodes.push(makeNode('Flatten', ['/gap/GlobalAveragePool_output_0'], ['/flatten/Flatten_output_0'], { axis: 1 }, '/flatten/Flatten'));
  const classes = 10;
  inits.push(makeTensor('fc.weight', [classes, cin], new Float32Array(classes * cin).map(() => gauss() * Math.sqrt(1 / cin))));
  inits.push(makeTensor('fc.bias', [classes], new Float32Array(classes)));
  nodes.push(makeNode('Gemm', ['/flatten/Flatten_output_0', 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, '/fc/Gemm'));
  nodes.push(makeNode('Softmax', ['logits'], ['probs'], { axis: 1 }, '/softmax/Softmax'));
  const n: Dim = o.batch ?? 'N';
  const outputs = [makeValueInfo('probs', DataType.FLOAT, [n, classes]), makeValueInfo('/shape/Shape_output_0', DataType.INT64, [4])];
  if (o.plugin) outputs.push(makeValueInfo('/roi/Sigmoid_output_0', DataType.FLOAT, null));
  const graph = onnx.GraphProto.create({
    name: 'convnet',
    node: nodes,
    initializer: inits,
    input: [makeValueInfo('input', DataType.FLOAT, o.rank3 ? [3, size, size] : [n, 3, size, size])],
    output: outputs,
  });
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'export-studio-test',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: opset })],
    graph,
  });
}

export function convNetBytes(o: ConvNetOptions = {}): Uint8Array {
  return encodeModel(buildConvNet(o));
}

/** Deterministic image-like batches: smooth patterns plus noise, roughly ImageNet-normalised. */
export function syntheticBatches(count: number, batchSize: number, size: number, seed = 1): Batch[] {
  const rnd = mulberry32(seed);
  const out: Batch[] = [];
  for (let b = 0; b < count; b++) {
    const data = new Float32Array(batchSize * 3 * size * size);
    for (let s = 0; s < batchSize; s++) {
      const fx = 1 + rnd() * 6;
      const fy = 1 + rnd() * 6;
      const phase = rnd() * 6;
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < size * size; i++) {
          const yy = Math.floor(i / size) / size;
          const xx = (i % size) / size;
          data[((s * 3 + c) * size * size) + i] = 1.5 * Math.sin(fx * xx * 6 + fy * yy * 4 + phase + c) + 0.3 * (rnd() - 0.5);
        }
      }
    }
    out.push({ ids: Array.from({ length: batchSize }, (_, s) => `b${b}s${s}`), count: batchSize, dims: [batchSize, 3, size, size], data });
  }
  return out;
}

export async function* asAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const x of items) yield x;
}
