/**
 * The bundled sample model: a small Mask R-CNN-shaped ONNX graph (opset 17, IR 8) that ONNX
 * Runtime runs on CPU in a few tens of milliseconds, with TAO Mask R-CNN's input and output names.
 * It detects nothing meaningful (weights are seeded random, He-initialized) but has the structure
 * the pipeline cares about: backbone convs, an FPN top-down merge (Resize + Add), RoiAlign box and
 * mask heads, softmax scores, score-sorted detections, and the two TAO outputs
 *   generate_detections      [N, D, 6]  (y1, x1, y2, x2, class_id, score) in input pixels
 *   mask_fcn_logits/BiasAdd  [N, D, numClasses, M, M]
 * The batch dimension N is symbolic ('N'); RoiAlign's per-roi batch indices are computed in-graph.
 * See docs/FORMATS.md for the layer table.
 */
import { DataType, encodeModel, makeNode, makeTensor, makeValueInfo, onnx, type AttrValue } from '../../electron/pipeline/onnx/index.js';
import { mulberry32 } from '../../electron/pipeline/onnx/testing.js';

export interface SampleModelOptions {
  height: number;
  width: number;
  /** Including background (class 0); detections use ids 1 … numClasses-1. */
  numClasses: number;
  /** Detections per image (fixed, like TAO's post-NMS top-k). */
  detections?: number;
  /** Mask resolution (even); TAO uses 28. */
  maskSize?: number;
  seed: number;
}

export const SAMPLE_INPUT = 'Input';
export const SAMPLE_DETECTIONS = 'generate_detections';
export const SAMPLE_MASKS = 'mask_fcn_logits/BiasAdd';

/** Channel widths of the sample network (kept small: ~0.35 M parameters, ~1.4 MB). */
const CH = { c1: 16, c2: 32, c3: 64, c4: 96, fpn: 32, fc: 128, maskIn: 16, mask: 8 } as const;

class GraphBuilder {
  readonly nodes: onnx.NodeProto[] = [];
  readonly inits: onnx.TensorProto[] = [];
  private readonly gauss: () => number;

  constructor(seed: number) {
    const rnd = mulberry32(seed);
    let spare: number | undefined;
    this.gauss = () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      const u = Math.max(rnd(), 1e-12);
      const v = rnd();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    };
  }

  node(op: string, inputs: string[], output: string, attrs: Record<string, AttrValue> = {}, name = output): string {
    this.nodes.push(makeNode(op, inputs, [output], attrs, name));
    return output;
  }

  /** A float initializer with N(0, std²) entries. */
  weights(name: string, dims: number[], std: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = this.gauss() * std;
    this.inits.push(makeTensor(name, dims, data));
    return name;
  }

  constF(name: string, dims: number[], values: ArrayLike<number>): string {
    this.inits.push(makeTensor(name, dims, Float32Array.from(values)));
    return name;
  }

  constI(name: string, values: number[]): string {
    this.inits.push(makeTensor(name, [values.length], BigInt64Array.from(values.map(BigInt))));
    return name;
  }

  scalarI(name: string, value: number): string {
    this.inits.push(makeTensor(name, [], BigInt64Array.of(BigInt(value))));
    return name;
  }

  /** Conv (+ Relu), He-initialized; returns the output name. TAO-style names: `<scope>/Conv2D`. */
  conv(scope: string, x: string, cin: number, cout: number, k: number, stride: number, relu = true, std?: number): string {
    const w = this.weights(`${scope}/kernel`, [cout, cin, k, k], std ?? Math.sqrt(2 / (cin * k * k)));
    const b = this.weights(`${scope}/bias`, [cout], 0.01);
    const p = Math.floor(k / 2);
    const y = this.node('Conv', [x, w, b], `${scope}/BiasAdd`, { kernel_shape: [k, k], strides: [stride, stride], pads: [p, p, p, p] }, `${scope}/Conv2D`);
    return relu ? this.node('Relu', [y], `${scope}/Relu`) : y;
  }

  /** Gemm y = x·Wᵀ + b (+ Relu). */
  dense(scope: string, x: string, cin: number, cout: number, std: number, relu: boolean): string {
    const w = this.weights(`${scope}/kernel`, [cout, cin], std);
    const b = this.weights(`${scope}/bias`, [cout], 0.01);
    const y = this.node('Gemm', [x, w, b], `${scope}/BiasAdd`, { transB: 1 }, `${scope}/MatMul`);
    return relu ? this.node('Relu', [y], `${scope}/Relu`) : y;
  }
}

/** D fixed anchors on a grid over the image, three sizes cycling; rows as (cy, cx, h, w). */
function anchorGrid(height: number, width: number, count: number): number[][] {
  const rows = Math.max(1, Math.round(Math.sqrt((count * height) / width)));
  const cols = Math.ceil(count / rows);
  const out: number[][] = [];
  const scales = [1, 1.6, 2.4];
  for (let i = 0; out.length < count; i++) {
    const r = Math.floor(i / cols) % rows;
    const c = i % cols;
    const s = scales[i % scales.length] ?? 1;
    const ch = height / rows;
    const cw = width / cols;
    out.push([(r + 0.5) * ch, (c + 0.5) * cw, Math.min(ch * s, height), Math.min(cw * s, width)]);
  }
  return out;
}

/** Builds the sample model; same options → same bytes. */
export function buildSampleModel(o: SampleModelOptions): Uint8Array {
  return encodeModel(buildSampleModelProto(o));
}

export function buildSampleModelProto(o: SampleModelOptions): onnx.ModelProto {
  const D = o.detections ?? 100;
  const M = o.maskSize ?? 28;
  const C = o.numClasses;
  const { height: H, width: W } = o;
  if (!(Number.isInteger(H) && Number.isInteger(W) && H >= 32 && W >= 32)) throw new RangeError(`sample model: bad image size ${H}x${W}`);
  if (!(Number.isInteger(C) && C >= 2)) throw new RangeError(`sample model: numClasses must be >= 2 (background + 1), got ${C}`);
  if (!(Number.isInteger(M) && M >= 4 && M % 2 === 0)) throw new RangeError(`sample model: maskSize must be even, got ${M}`);
  if (!(Number.isInteger(D) && D >= 1)) throw new RangeError(`sample model: bad detections ${D}`);

  const g = new GraphBuilder(o.seed);

  // Backbone: stride-2 stem + max-pool (stride 4), then three stride-2 stages (TAO ResNet-style names).
  let x = g.conv('conv1', SAMPLE_INPUT, 3, CH.c1, 3, 2);
  x = g.node('MaxPool', [x], 'pool1/MaxPool', { kernel_shape: [2, 2], strides: [2, 2] });
  const c2 = g.conv('block_1a_conv_1', x, CH.c1, CH.c2, 3, 2); // stride 8
  const c3 = g.conv('block_2a_conv_1', c2, CH.c2, CH.c3, 3, 2); // stride 16
  const c4 = g.conv('block_3a_conv_1', c3, CH.c3, CH.c4, 3, 2); // stride 32

  // FPN top-down: lateral 1x1 convs, nearest upsample of P5 to C4's size, add, 3x3 smoothing → P4.
  const l5 = g.conv('l5', c4, CH.c4, CH.fpn, 1, 1, false);
  const l4 = g.conv('l4', c3, CH.c3, CH.fpn, 1, 1, false);
  const l4Shape = g.node('Shape', [l4], 'FPN_up_5/Shape');
  const up = g.node('Resize', [l5, '', '', l4Shape], 'FPN_up_5/Resize', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  const sum = g.node('Add', [l4, up], 'FPN_add_4/add');
  const p3 = g.conv('post_hoc_d4', sum, CH.fpn, CH.fpn, 3, 1, false);
  const spatialScale = 1 / 16;

  // Batch plumbing: N from the input's shape, per-roi batch indices [N*D], anchors per image.
  const shape = g.node('Shape', [SAMPLE_INPUT], 'batch/Shape');
  const n1 = g.node('Slice', [shape, g.constI('batch/zero', [0]), g.constI('batch/one', [1])], 'batch/N');
  const nScalar = g.node('Squeeze', [n1, g.constI('batch/axes0', [0])], 'batch/N_scalar');
  const range = g.node('Range', [g.scalarI('batch/start', 0), nScalar, g.scalarI('batch/delta', 1)], 'batch/Range');
  const rangeCol = g.node('Unsqueeze', [range, g.constI('batch/axes1', [1])], 'batch/Range_col');
  const batchIdx = g.node('Reshape', [g.node('Expand', [rangeCol, g.constI('batch/shape_1D', [1, D])], 'batch/Expand'), g.constI('batch/flat', [-1])], 'batch/indices');
  const expandShape = g.node('Concat', [n1, g.constI('batch/ones2', [1, 1])], 'batch/expand_shape', { axis: 0 });

  const anchors = anchorGrid(H, W, D);
  const anchorsCs = g.constF('anchors/cyxhw', [1, D, 4], anchors.flat());
  const anchorsXyxy = g.constF('anchors/xyxy', [1, D, 4], anchors.flatMap(([cy = 0, cx = 0, h = 0, w = 0]) => [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]));
  const flat4 = g.constI('shape/flat4', [-1, 4]);
  const perRoi = (name: string, a: string): string => g.node('Reshape', [g.node('Expand', [a, expandShape], `${name}/Expand`), flat4], name);
  const anchorRois = perRoi('anchors/rois', anchorsXyxy);
  const anchorBoxes = perRoi('anchors/boxes', anchorsCs);

  // Box head: RoiAlign 7x7 on P3 at the anchors, fc6/fc7, class and box predictions.
  const boxFeat = g.node('RoiAlign', [p3, anchorRois, batchIdx], 'multilevel_crop_resize/RoiAlign', { output_height: 7, output_width: 7, sampling_ratio: 1, spatial_scale: spatialScale, mode: 'avg' });
  const flatFeat = g.node('Flatten', [boxFeat], 'box_head/Flatten', { axis: 1 });
  const fanIn = CH.fpn * 49;
  const fc6 = g.dense('fc6', flatFeat, fanIn, CH.fc, Math.sqrt(2 / fanIn), true);
  const fc7 = g.dense('fc7', fc6, CH.fc, CH.fc, Math.sqrt(2 / CH.fc), true);
  const logits = g.dense('class-predict', fc7, CH.fc, C, 0.25 * Math.sqrt(1 / CH.fc), false);
  const deltas = g.dense('box-predict', fc7, CH.fc, 4, 0.1 * Math.sqrt(1 / CH.fc), false);

  // Decode (dy, dx, dh, dw) against the anchors (TF weights 10, 10, 5, 5), clip to the image.
  const sl = (name: string, t: string, from: number, to: number): string =>
    g.node('Slice', [t, g.constI(`${name}/starts`, [from]), g.constI(`${name}/ends`, [to]), g.constI(`${name}/axes`, [1])], name);
  const aC = sl('decode/anchor_centers', anchorBoxes, 0, 2);
  const aS = sl('decode/anchor_sizes', anchorBoxes, 2, 4);
  const dC = sl('decode/delta_centers', deltas, 0, 2);
  const dS = sl('decode/delta_sizes', deltas, 2, 4);
  const centers = g.node('Add', [aC, g.node('Mul', [g.node('Mul', [dC, g.constF('decode/w_center', [], [0.1])], 'decode/scaled_dc'), aS], 'decode/offset')], 'decode/centers');
  const clamped = g.node('Min', [g.node('Mul', [dS, g.constF('decode/w_size', [], [0.2])], 'decode/scaled_ds'), g.constF('decode/max_log', [], [Math.log(1000 / 16)])], 'decode/clamped_ds');
  const sizes = g.node('Mul', [aS, g.node('Exp', [clamped], 'decode/exp')], 'decode/sizes');
  const half = g.node('Mul', [sizes, g.constF('decode/half', [], [0.5])], 'decode/half_sizes');
  const boxesRaw = g.node('Concat', [g.node('Sub', [centers, half], 'decode/y1x1'), g.node('Add', [centers, half], 'decode/y2x2')], 'decode/boxes', { axis: 1 });
  const boxes = g.node('Min', [g.node('Max', [boxesRaw, g.constF('decode/lo', [], [0])], 'decode/clip_lo'), g.constF('decode/hi', [1, 4], [H, W, H, W])], 'decode/clipped');

  // Scores: softmax over classes, best foreground class (ids from 1) and its probability.
  const probs = g.node('Softmax', [logits], 'class-predict/Softmax', { axis: 1 });
  const fg = sl('scores/foreground', probs, 1, C);
  const score = g.node('ReduceMax', [fg], 'scores/max', { axes: [1], keepdims: 1 });
  const cls = g.node('Cast', [g.node('Add', [g.node('ArgMax', [fg], 'scores/argmax', { axis: 1, keepdims: 1 }), g.constI('scores/one', [1])], 'scores/class_id')], 'scores/class_float', { to: DataType.FLOAT });
  const det = g.node('Concat', [boxes, cls, score], 'detections/concat', { axis: 1 });
  const det3 = g.node('Reshape', [det, g.constI('detections/shape', [-1, D, 6])], 'detections/unsorted');

  // Sort each image's detections by score (TAO's output is score-ordered).
  const scores2 = g.node('Reshape', [score, g.constI('detections/score_shape', [-1, D])], 'detections/scores');
  g.nodes.push(makeNode('TopK', [scores2, g.constI('detections/k', [D])], ['detections/top_scores', 'detections/order'], { axis: 1, largest: 1, sorted: 1 }, 'detections/TopK'));
  const order = g.node('Expand', [g.node('Unsqueeze', ['detections/order', g.constI('detections/axes2', [2])], 'detections/order3'), g.constI('detections/six', [1, 1, 6])], 'detections/order6');
  const dets = g.node('GatherElements', [det3, order], SAMPLE_DETECTIONS, { axis: 1 }, 'generate_detections/GatherElements');

  // Mask head on the sorted boxes: RoiAlign M/2 → 3x3 conv → 2x2 transposed conv (→ M) → 1x1 logits.
  const sortedYxyx = g.node('Slice', [dets, g.constI('mask/starts', [0]), g.constI('mask/ends', [4]), g.constI('mask/axes', [2])], 'mask/boxes');
  const sortedXyxy = g.node('Gather', [sortedYxyx, g.constI('mask/xy_order', [1, 0, 3, 2])], 'mask/boxes_xyxy', { axis: 2 });
  const maskRois = g.node('Reshape', [sortedXyxy, flat4], 'mask/rois');
  // A 1x1 reduction on the (small) feature map first: RoiAlign cost grows with channels x rois.
  const maskIn = g.conv('mask-feature', p3, CH.fpn, CH.maskIn, 1, 1, true);
  const maskFeat = g.node('RoiAlign', [maskIn, maskRois, batchIdx], 'mask/RoiAlign', { output_height: M / 2, output_width: M / 2, sampling_ratio: 1, spatial_scale: spatialScale, mode: 'avg' });
  const m0 = g.conv('mask-conv-l0', maskFeat, CH.maskIn, CH.mask, 3, 1);
  const upW = g.weights('conv5-mask/kernel', [CH.mask, CH.mask, 2, 2], Math.sqrt(2 / CH.mask));
  const upB = g.weights('conv5-mask/bias', [CH.mask], 0.01);
  const m1 = g.node('Relu', [g.node('ConvTranspose', [m0, upW, upB], 'conv5-mask/BiasAdd', { kernel_shape: [2, 2], strides: [2, 2] }, 'conv5-mask/conv2d_transpose')], 'conv5-mask/Relu');
  const mLogits = g.conv('mask_fcn_logits/conv', m1, CH.mask, C, 1, 1, false, Math.sqrt(1 / CH.mask));
  g.node('Reshape', [mLogits, g.constI('mask/out_shape', [-1, D, C, M, M])], SAMPLE_MASKS, {}, 'mask_fcn_logits/Reshape');

  const graph = onnx.GraphProto.create({
    name: 'mask_rcnn_sample',
    node: g.nodes,
    initializer: g.inits,
    input: [makeValueInfo(SAMPLE_INPUT, DataType.FLOAT, ['N', 3, H, W])],
    output: [makeValueInfo(SAMPLE_DETECTIONS, DataType.FLOAT, ['N', D, 6]), makeValueInfo(SAMPLE_MASKS, DataType.FLOAT, ['N', D, C, M, M])],
  });
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'export-studio-sample',
    producerVersion: '1',
    docString: `Export Studio sample: Mask R-CNN-shaped, random weights (seed ${o.seed}), input ${H}x${W}, ${C} classes incl. background.`,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 17 })],
    graph,
  });
}
