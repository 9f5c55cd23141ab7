import { StudioError } from '../../../shared/errors.js';
import { DataType, NameScope, attrInt, decodeModel, encodeModel, getOpset, isDefaultDomain, makeNode, makeTensor, onnx, tensorDims, tensorToFloat32 } from '../onnx/index.js';
import type { LogFn } from '../runtime/index.js';

type Node = onnx.NodeProto.$Properties;

export interface QdqOptions {
  log?: LogFn;
  /** Per-channel weight scales (default true; needs opset ≥ 13, else per-tensor with a warning). */
  perChannel?: boolean;
  /** Activations kept out of INT8 (the INT8 search's float fallback): no Q/DQ, listed as skipped with that reason. */
  float?: ReadonlySet<string>;
}

export interface QdqSummary {
  activations: number;
  weights: number;
  perChannel: boolean;
  skipped: { name: string; reason: string }[];
}

/** Ops whose inputs get Q/DQ, following TensorRT/ModelOpt placement. */
const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
const POOLS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool']);

/** Amax values ≤ this are treated as zero (pytorch-quantization's 2^-24 rule): no Q/DQ. */
const MIN_AMAX = 2 ** -24;

/**
 * Build a Q/DQ ("fake-quantized") ONNX model for TensorRT explicit quantization from per-tensor
 * activation amax values:
 *
 * - activations: one QuantizeLinear→DequantizeLinear pair per tensor (int8, zero point 0,
 *   scale = amax/127, per tensor), shared by every quantizable consumer, placed on the inputs of
 *   Conv/ConvTranspose/Gemm/MatMul, of pooling ops, and of Add when both operands are
 *   activations (residual adds), as ModelOpt does after TensorRT's fusion rules. Other ops stay
 *   float so TensorRT can fuse Conv+BN+ReLU and choose precisions itself.
 * - weights (initializers of Conv/ConvTranspose/Gemm/MatMul): Q→DQ per output channel with
 *   scale = max|w_c|/127 (narrow range: |w|/scale ≤ 127, so −128 is never produced), axis 0 for
 *   Conv, 1 for ConvTranspose, the N axis for Gemm (0 with transB, else 1) and MatMul (last).
 *   Below opset 13 (no `axis`) weights get one scale per tensor and a warning.
 *
 * The model's opset is kept (Q/DQ exist from opset 10; below that this refuses).
 */
export function buildQdqModel(modelBytes: Uint8Array, amax: ReadonlyMap<string, number>, opts: QdqOptions = {}): Uint8Array {
  return buildQdqModelWithSummary(modelBytes, amax, opts).model;
}

/** buildQdqModel plus what was quantized and what was left in float (for the report). */
export function buildQdqModelWithSummary(modelBytes: Uint8Array, amax: ReadonlyMap<string, number>, opts: QdqOptions = {}): { model: Uint8Array; summary: QdqSummary } {
  const log = opts.log ?? (() => undefined);
  const model = decodeModel(modelBytes);
  const opset = getOpset(model) ?? 1;
  if (opset < 10) {
    throw new StudioError(
      'E_RUNTIME_UNSUPPORTED_OPS',
      `Cannot write a Q/DQ model at opset ${opset}: QuantizeLinear/DequantizeLinear exist from opset 10.`,
      'Re-export the model at opset 13 or newer (per-channel weights need 13), or use the calibration cache instead.',
    );
  }
  let perChannel = opts.perChannel ?? true;
  if (perChannel && opset < 13) {
    log('warn', `opset ${opset} has no per-axis QuantizeLinear (needs 13): weights get one scale per tensor, which loses accuracy`);
    perChannel = false;
  }
  const g = model.graph!;
  const scope = new NameScope(g);
  const inits = new Map<string, onnx.TensorProto>();
  for (const t of g.initializer ?? []) if (t.name) inits.set(t.name, t as onnx.TensorProto);
  const newInits: onnx.TensorProto[] = [];
  const skipped: QdqSummary['skipped'] = [];
  const skippedSet = new Set<string>();
  const skip = (name: string, reason: string): void => {
    if (skippedSet.has(name)) return;
    skippedSet.add(name);
    skipped.push({ name, reason });
  };

  const isActivation = (name: string): boolean => name !== '' && !inits.has(name);
  const nodes = g.node ?? [];
  const elemTypes = inferElemTypes(g);

  // Which activation inputs and weights to quantize.
  const actWanted = new Set<string>();
  const weightAxis = new Map<string, number>(); // initializer → axis
  for (const n of nodes) {
    if (!isDefaultDomain(n.domain)) continue;
    const op = n.opType ?? '';
    const ins = n.input ?? [];
    if (WEIGHTED.has(op)) {
      const a = ins[0] ?? '';
      if (isActivation(a)) actWanted.add(a);
      const w = ins[1] ?? '';
      if (inits.has(w)) {
        const rank = tensorDims(inits.get(w)!).length;
        const axis = op === 'Conv' ? 0 : op === 'ConvTranspose' ? 1 : op === 'Gemm' ? (attrInt(n, 'transB', 0) === 1 ? 0 : 1) : rank - 1;
        const prev = weightAxis.get(w);
        if (prev !== undefined && prev !== axis) skip(w, 'weight shared by ops with different channel axes');
        else weightAxis.set(w, axis);
      } else if (op === 'MatMul' && isActivation(w)) {
        actWanted.add(w);
      }
    } else if (POOLS.has(op)) {
      const a = ins[0] ?? '';
      if (isActivation(a)) actWanted.add(a);
    } else if (op === 'Add' && ins.length === 2 && ins.every(isActivation)) {
      for (const a of ins) actWanted.add(a);
    }
  }
  for (const w of skippedSet) weightAxis.delete(w);

  // Q/DQ node pairs, keyed by the tensor they replace.
  const replacement = new Map<string, string>();
  const pairFor = new Map<string, Node[]>();
  const addPair = (x: string, scale: onnx.TensorProto, zp: onnx.TensorProto, axis: number | undefined, half = false): void => {
    newInits.push(scale, zp);
    const q = scope.unique(`${x}_QuantizeLinear_Output`);
    const dq = scope.unique(`${x}_DequantizeLinear_Output`);
    const attrs: Record<string, number> = axis === undefined ? {} : { axis };
    if (half) {
      // A float16 activation: QuantizeLinear takes float32 only before opset 19 (and its scale's
      // type must match x), so x → Cast(float) → Q → DQ → Cast(float16). TensorRT folds the casts.
      const xf = scope.unique(`${x}_CastToFloat_Output`);
      const dqf = scope.unique(`${x}_DequantizeLinear_Float`);
      pairFor.set(x, [
        makeNode('Cast', [x], [xf], { to: DataType.FLOAT }, scope.unique(`${x}_CastToFloat`)),
        makeNode('QuantizeLinear', [xf, scale.name, zp.name], [q], attrs, scope.unique(`${x}_QuantizeLinear`)),
        makeNode('DequantizeLinear', [q, scale.name, zp.name], [dqf], attrs, scope.unique(`${x}_DequantizeLinear`)),
        makeNode('Cast', [dqf], [dq], { to: DataType.FLOAT16 }, scope.unique(`${x}_CastToFloat16`)),
      ]);
    } else {
      pairFor.set(x, [
        makeNode('QuantizeLinear', [x, scale.name, zp.name], [q], attrs, scope.unique(`${x}_QuantizeLinear`)),
        makeNode('DequantizeLinear', [q, scale.name, zp.name], [dq], attrs, scope.unique(`${x}_DequantizeLinear`)),
      ]);
    }
    replacement.set(x, dq);
  };

  let activations = 0;
  for (const x of actWanted) {
    if (opts.float?.has(x)) {
      skip(x, 'kept in float (INT8 search fallback)');
      continue;
    }
    const a = amax.get(x);
    if (a === undefined) {
      skip(x, 'no calibrated range');
      continue;
    }
    if (!(a > MIN_AMAX) || !Number.isFinite(a)) {
      skip(x, `range ${a} is zero or not finite`);
      continue;
    }
    addPair(x, makeTensor(scope.unique(`${x}_scale`), [], Float32Array.of(a / 127)), makeTensor(scope.unique(`${x}_zero_point`), [], Int8Array.of(0)), undefined, elemTypes.get(x) === DataType.FLOAT16);
    activations++;
  }

  let weights = 0;
  for (const [w, axis] of weightAxis) {
    const t = inits.get(w)!;
    if (t.dataType !== DataType.FLOAT) {
      skip(w, `weight type ${t.dataType} is not float32`);
      continue;
    }
    const dims = tensorDims(t);
    const values = tensorToFloat32(t);
    if (perChannel && dims.length > axis) {
      const channels = dims[axis]!;
      const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
      const m = new Float32Array(channels);
      for (let i = 0; i < values.length; i++) {
        const c = Math.floor(i / inner) % channels;
        const v = Math.abs(values[i]!);
        if (v > m[c]!) m[c] = v;
      }
      // An all-zero channel quantizes to 0 with any positive scale; use 1 to keep the scale valid.
      const scales = Float32Array.from(m, (v) => (v > MIN_AMAX ? v / 127 : 1));
      addPair(w, makeTensor(scope.unique(`${w}_scale`), [channels], scales), makeTensor(scope.unique(`${w}_zero_point`), [channels], new Int8Array(channels)), axis);
    } else {
      let m = 0;
      for (const v of values) m = Math.max(m, Math.abs(v));
      addPair(w, makeTensor(scope.unique(`${w}_scale`), [], Float32Array.of(m > MIN_AMAX ? m / 127 : 1)), makeTensor(scope.unique(`${w}_zero_point`), [], Int8Array.of(0)), undefined);
    }
    weights++;
  }

  // Rewire quantizable consumers and lay the nodes out in topological order.
  const rewired = (n: Node): Node => {
    const op = n.opType ?? '';
    if (!isDefaultDomain(n.domain) || !(WEIGHTED.has(op) || POOLS.has(op) || op === 'Add')) return n;
    const ins = [...(n.input ?? [])];
    const limit = WEIGHTED.has(op) ? 2 : POOLS.has(op) ? 1 : 2;
    // A residual Add is quantized only when both inputs are: decide before rewriting any input.
    const addBoth = op !== 'Add' || ins.every((s) => replacement.has(s));
    for (let i = 0; i < Math.min(limit, ins.length); i++) {
      const r = replacement.get(ins[i]!);
      if (r !== undefined && addBoth) ins[i] = r;
    }
    return onnx.NodeProto.create({ ...n, input: ins });
  };
  const ordered: Node[] = [];
  const emit = (x: string): void => {
    const p = pairFor.get(x);
    if (p) ordered.push(...p);
  };
  for (const w of weightAxis.keys()) emit(w);
  for (const vi of g.input ?? []) if (vi.name && !inits.has(vi.name)) emit(vi.name);
  for (const n of nodes) {
    ordered.push(rewired(n));
    for (const o of n.output ?? []) emit(o);
  }
  const graph = onnx.GraphProto.create({ ...g, node: ordered, initializer: [...(g.initializer ?? []), ...newInits] });
  const out = onnx.ModelProto.create({ ...model, graph });
  if (skipped.length > 0) log('info', `Q/DQ: ${skipped.length} tensors left in float (${skipped.slice(0, 3).map((s) => `${s.name}: ${s.reason}`).join('; ')}${skipped.length > 3 ? '; …' : ''})`);
  log('info', `Q/DQ: ${activations} activation and ${weights} weight quantizers (${perChannel ? 'per-channel' : 'per-tensor'} weights), opset ${opset} kept`);
  return { model: encodeModel(out), summary: { activations, weights, perChannel, skipped } };
}

/** Element-type-changing ops with a fixed output type (besides Cast, whose `to` says it). */
const FIXED_OUT: Record<string, number> = { Shape: DataType.INT64, Size: DataType.INT64, NonZero: DataType.INT64, ArgMax: DataType.INT64, ArgMin: DataType.INT64 };

/**
 * Element types of the graph's values, as far as a light forward pass can tell: declared types
 * (inputs, outputs, value_info, initializers), Cast's `to`, a few fixed-type ops, Constant's
 * value, and otherwise the type of the node's first typed input (true for the elementwise, conv,
 * pool, resize and concat ops Q/DQ is placed around). Used to wrap float16 activations in casts.
 */
export function inferElemTypes(g: onnx.GraphProto.$Properties): Map<string, number> {
  const t = new Map<string, number>();
  for (const v of [...(g.input ?? []), ...(g.valueInfo ?? []), ...(g.output ?? [])]) {
    const et = v.type?.tensorType?.elemType;
    if (v.name && et) t.set(v.name, et);
  }
  for (const i of g.initializer ?? []) if (i.name && i.dataType) t.set(i.name, i.dataType);
  const nodes = g.node ?? [];
  // Unsorted graphs exist: repeat until nothing new is learned (bounded by the node count).
  for (let pass = 0, changed = true; changed && pass < nodes.length; pass++) {
    changed = false;
    for (const n of nodes) {
      const outs = (n.output ?? []).filter((o) => o !== '' && !t.has(o));
      if (outs.length === 0) continue;
      const op = n.opType ?? '';
      let et: number | undefined;
      if (op === 'Cast') et = attrInt(n, 'to', 0) || undefined;
      else if (op in FIXED_OUT) et = FIXED_OUT[op];
      else if (op === 'Constant') et = n.attribute?.find((a) => a.name === 'value')?.t?.dataType ?? undefined;
      else et = (n.input ?? []).map((i) => t.get(i)).find((x) => x !== undefined);
      if (et === undefined) continue;
      for (const o of outs) t.set(o, et);
      changed = true;
    }
  }
  return t;
}
