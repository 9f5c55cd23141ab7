import { StudioError } from '../../../shared/errors.js';
import {
  DataType,
  NameScope,
  allGraphs,
  attrInt,
  decodeModel,
  encodeModel,
  getAttribute,
  getOpset,
  isDefaultDomain,
  makeNode,
  makeTensor,
  onnx,
  tensorDims,
  tensorToFloat32,
} from '../onnx/index.js';
import type { LogFn } from '../runtime/index.js';
import { scaleForAmax } from './cache.js';

type Node = onnx.NodeProto.$Properties;

export interface QdqOptions {
  log?: LogFn;
  /** Per-channel weight scales (default true; needs opset ≥ 13, else per-tensor with a warning). */
  perChannel?: boolean;
  /** Tensors kept in float: no Q/DQ on them (activations or weights), listed as skipped. */
  floatTensors?: readonly string[];
}

/** Which TensorRT placement rule put a Q/DQ pair on an activation (docs/FORMATS.md, Q/DQ placement). */
export type QdqRule = 'weighted-input' | 'residual-add' | 'pool';

export interface QdqSummary {
  /** Activation tensors quantized (one Q/DQ pair each, shared by its INT8 consumers). */
  activations: number;
  /** INT8 consumers of the activation pairs, per placement rule (a pair may serve several). */
  rules: Record<QdqRule, number>;
  /** Weight quantizers written. */
  weights: number;
  /** Weight inputs of Conv/ConvTranspose/Gemm/MatMul found (initializers, Constant nodes, and chains to them). */
  weightsTotal: number;
  perChannel: boolean;
  /** What was left in float, with the reason (weights and activations). */
  skipped: { name: string; reason: string }[];
  /** The one-line summary the log shows ("weights 64 of 64 per-channel, …"). */
  line: string;
}

/** Ops with weights: TensorRT runs them in INT8 when data and weights are quantized. */
const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
const POOLS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool']);

type Resolved =
  | { kind: 'activation' }
  | { kind: 'skip'; reason: string }
  | { kind: 'const'; tensor: onnx.TensorProto.$Properties; dataType: number; direct: boolean; root: string };

interface WeightUse {
  node: number;
  input: number;
  rule?: QdqRule;
}

/**
 * Build a Q/DQ ("fake-quantized") ONNX model for TensorRT explicit quantization from per-tensor
 * activation amax values. Placement follows TensorRT's "Q/DQ layer-placement recommendations"
 * (Developer Guide, explicit quantization), one rule per pair (docs/FORMATS.md):
 *
 * - weighted-input: both inputs of Conv/ConvTranspose/Gemm/MatMul (data and weights);
 * - residual-add: the residual input of an Add whose other input comes from a weighted op
 *   (TensorRT fuses the Add into that op);
 * - pool: the input of a pooling op whose output is itself quantized (INT8 in and out);
 * - nothing else: outputs of weighted ops, Concat inputs (TensorRT moves the consumer's Q
 *   backward across Concat), activations and other element-wise ops stay float so TensorRT can
 *   fuse them. A pair is only written with at least one INT8 consumer: none dangles.
 *
 * Weights are found through initializers, `Constant` nodes, and `Identity`/`Cast` chains to
 * them; shared weights get one quantizer per channel axis. They are quantized per output
 * channel (scale = max|w_c|/127, zero point 0; axis 0 Conv, 1 ConvTranspose, N for Gemm/MatMul)
 * from a float32 initializer placed right before QuantizeLinear (TensorRT requires a constant
 * there); Constant/Identity/Cast nodes left without readers are removed. Scales come from
 * `scaleForAmax`, the rule the cache uses: never 0, negative or non-finite.
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
  const floatSet = new Set(opts.floatTensors ?? []);
  const nodes = [...(g.node ?? [])];
  const inits = new Map<string, onnx.TensorProto.$Properties>();
  for (const t of g.initializer ?? []) if (t.name) inits.set(t.name, t);
  const producer = new Map<string, number>();
  nodes.forEach((n, k) => {
    for (const o of n.output ?? []) if (o) producer.set(o, k);
  });

  const skipped: QdqSummary['skipped'] = [];
  const skippedSet = new Set<string>();
  const skip = (name: string, reason: string): void => {
    if (skippedSet.has(name)) return;
    skippedSet.add(name);
    skipped.push({ name, reason });
  };

  // What a node input is: a constant weight (and through what), an activation, or a weight we cannot use.
  const memo = new Map<string, Resolved>();
  const resolve = (name: string, depth = 0): Resolved => {
    const hit = memo.get(name);
    if (hit) return hit;
    let r: Resolved;
    const init = inits.get(name);
    if (init) r = { kind: 'const', tensor: init, dataType: init.dataType ?? 0, direct: true, root: name };
    else {
      const k = producer.get(name);
      const p = k === undefined ? undefined : nodes[k];
      if (!p || !isDefaultDomain(p.domain) || depth > 32) r = { kind: 'activation' };
      else if (p.opType === 'Constant') {
        const v = getAttribute(p, 'value')?.t;
        const vf = getAttribute(p, 'value_float');
        const vfs = getAttribute(p, 'value_floats');
        if (v) r = { kind: 'const', tensor: v, dataType: v.dataType ?? 0, direct: false, root: name };
        else if (vf) r = { kind: 'const', tensor: makeTensor(name, [], Float32Array.of(vf.f ?? 0)), dataType: DataType.FLOAT, direct: false, root: name };
        else if (vfs) r = { kind: 'const', tensor: makeTensor(name, [(vfs.floats ?? []).length], Float32Array.from(vfs.floats ?? [])), dataType: DataType.FLOAT, direct: false, root: name };
        else r = { kind: 'skip', reason: 'Constant node without a tensor or float value' };
      } else if (p.opType === 'Identity') {
        const u = resolve(p.input?.[0] ?? '', depth + 1);
        r = u.kind === 'const' ? { ...u, direct: false } : u;
      } else if (p.opType === 'Cast') {
        const u = resolve(p.input?.[0] ?? '', depth + 1);
        r = u.kind === 'const' ? { ...u, dataType: attrInt(p, 'to', 0), direct: false } : u;
      } else if (p.opType === 'DequantizeLinear') {
        r = { kind: 'skip', reason: 'already quantized (fed by a DequantizeLinear)' };
      } else {
        const ins = (p.input ?? []).filter((x) => x !== '');
        const allConst = ins.length > 0 && ins.every((x) => resolve(x, depth + 1).kind !== 'activation');
        r = allConst
          ? { kind: 'skip', reason: `computed from constants by ${p.opType} (not folded; fold constants first, e.g. polygraphy surgeon sanitize --fold-constants)` }
          : { kind: 'activation' };
      }
    }
    memo.set(name, r);
    return r;
  };
  const isActivation = (name: string): boolean => name !== '' && resolve(name).kind === 'activation';

  // 1. Weighted ops: data inputs (activations) and weights.
  const actUses = new Map<string, { uses: WeightUse[] }>();
  const wantAct = (x: string, node: number, input: number, rule: QdqRule): void => {
    const e = actUses.get(x) ?? { uses: [] };
    if (!e.uses.some((u) => u.node === node && u.input === input)) e.uses.push({ node, input, rule });
    actUses.set(x, e);
  };
  const weightKeys = new Map<string, { name: string; axis: number | undefined; r: Extract<Resolved, { kind: 'const' }>; uses: WeightUse[] }>();
  const weightNames = new Set<string>();
  nodes.forEach((n, k) => {
    if (!isDefaultDomain(n.domain) || !WEIGHTED.has(n.opType ?? '')) return;
    const op = n.opType ?? '';
    const ins = n.input ?? [];
    for (let idx = 0; idx < Math.min(2, ins.length); idx++) {
      const x = ins[idx] ?? '';
      if (x === '') continue;
      const r = resolve(x);
      if (r.kind === 'activation') {
        wantAct(x, k, idx, 'weighted-input');
        continue;
      }
      weightNames.add(x);
      if (r.kind === 'skip') {
        skip(x, r.reason);
        continue;
      }
      if (floatSet.has(x) || floatSet.has(r.root)) {
        skip(x, 'kept in float (floatTensors)');
        continue;
      }
      const rank = tensorDims(r.tensor).length;
      let axis: number | undefined;
      if (idx === 1) {
        if (op === 'Conv') axis = 0;
        else if (op === 'ConvTranspose') axis = 1;
        else if (op === 'Gemm') axis = attrInt(n, 'transB', 0) === 1 ? 0 : 1;
        else if (rank >= 2) axis = rank - 1;
      }
      if (!perChannel) axis = undefined;
      const key = `${x}\u0000${axis ?? ''}`;
      const e = weightKeys.get(key) ?? { name: x, axis, r, uses: [] };
      e.uses.push({ node: k, input: idx });
      weightKeys.set(key, e);
    }
  });

  // 2. Residual Adds: quantize the input that is not the output of the weighted op TensorRT fuses with.
  const fromWeighted = (x: string): number | undefined => {
    const k = producer.get(x);
    if (k === undefined) return undefined;
    const p = nodes[k]!;
    if (!isDefaultDomain(p.domain)) return undefined;
    if (WEIGHTED.has(p.opType ?? '')) return k;
    if (p.opType === 'BatchNormalization') {
      const k2 = producer.get(p.input?.[0] ?? '');
      if (k2 !== undefined && WEIGHTED.has(nodes[k2]!.opType ?? '') && isDefaultDomain(nodes[k2]!.domain)) return k;
    }
    return undefined;
  };
  nodes.forEach((n, k) => {
    if (!isDefaultDomain(n.domain) || n.opType !== 'Add') return;
    const ins = n.input ?? [];
    if (ins.length !== 2 || !ins.every(isActivation)) return;
    const [a, b] = [fromWeighted(ins[0]!), fromWeighted(ins[1]!)];
    if (a === undefined && b === undefined) return;
    // The fused op is the later producer; the other input is the residual.
    const residual = a === undefined ? 0 : b === undefined ? 1 : a < b ? 0 : 1;
    wantAct(ins[residual]!, k, residual, 'residual-add');
  });

  // 3. Pools whose output is quantized: quantize their input too (INT8 in and out). Reverse order
  //    so chains of pools resolve in one pass.
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    if (!isDefaultDomain(n.domain) || !POOLS.has(n.opType ?? '')) continue;
    const out = n.output?.[0] ?? '';
    const x = n.input?.[0] ?? '';
    if (x !== '' && actUses.has(out) && !floatSet.has(out) && isActivation(x)) wantAct(x, k, 0, 'pool');
  }

  // 4. Activation pairs.
  const newInits: onnx.TensorProto[] = [];
  const pairFor = new Map<string, Node[]>();
  const rewire = new Map<number, Map<number, string>>(); // node → input index → new name
  const setInput = (u: WeightUse, name: string): void => {
    const m = rewire.get(u.node) ?? new Map<number, string>();
    m.set(u.input, name);
    rewire.set(u.node, m);
  };
  const addPair = (x: string, qIn: string, scale: onnx.TensorProto, zp: onnx.TensorProto, axis: number | undefined): string => {
    newInits.push(scale, zp);
    const q = scope.unique(`${x}_QuantizeLinear_Output`);
    const dq = scope.unique(`${x}_DequantizeLinear_Output`);
    const attrs: Record<string, number> = axis === undefined ? {} : { axis };
    const pair = [
      makeNode('QuantizeLinear', [qIn, scale.name, zp.name], [q], attrs, scope.unique(`${x}_QuantizeLinear`)),
      makeNode('DequantizeLinear', [q, scale.name, zp.name], [dq], attrs, scope.unique(`${x}_DequantizeLinear`)),
    ];
    pairFor.set(`${x}\u0000${axis ?? ''}`, [...(pairFor.get(`${x}\u0000${axis ?? ''}`) ?? []), ...pair]);
    return dq;
  };

  const rules: Record<QdqRule, number> = { 'weighted-input': 0, 'residual-add': 0, pool: 0 };
  let activations = 0;
  const actOrder: string[] = [];
  for (const [x, e] of actUses) {
    if (floatSet.has(x)) {
      skip(x, 'kept in float (floatTensors)');
      continue;
    }
    const a = amax.get(x);
    if (a === undefined) {
      skip(x, 'no calibrated range');
      continue;
    }
    const s = scaleForAmax(a);
    if (s === null) {
      skip(x, `range ${a} is not a finite non-negative number`);
      continue;
    }
    const dq = addPair(x, x, makeTensor(scope.unique(`${x}_scale`), [], Float32Array.of(s)), makeTensor(scope.unique(`${x}_zero_point`), [], Int8Array.of(0)), undefined);
    for (const u of e.uses) {
      setInput(u, dq);
      if (u.rule) rules[u.rule]++;
    }
    activations++;
    actOrder.push(x);
  }

  // 5. Weight pairs, from a float32 initializer right before QuantizeLinear.
  let weights = 0;
  const weightPairs: Node[] = [];
  const foldedRoots = new Set<string>();
  for (const e of weightKeys.values()) {
    const { name: w, axis, r } = e;
    if (r.dataType !== DataType.FLOAT) {
      skip(w, `weight element type ${r.dataType} is not float32 (1)`);
      continue;
    }
    let values: Float32Array;
    try {
      values = tensorToFloat32(r.tensor);
    } catch (err) {
      skip(w, `weight values unreadable (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    const dims = tensorDims(r.tensor);
    let qIn = w;
    if (!r.direct) {
      const folded = makeTensor(scope.unique(`${w}_weight`), dims, values);
      newInits.push(folded);
      qIn = folded.name;
      foldedRoots.add(r.root);
    }
    let dq: string;
    if (axis !== undefined && dims.length > axis) {
      const channels = dims[axis]!;
      const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
      const m = new Float64Array(channels);
      for (let i = 0; i < values.length; i++) {
        const c = Math.floor(i / inner) % channels;
        const v = Math.abs(values[i]!);
        if (v > m[c]!) m[c] = v;
      }
      const scales = Float32Array.from(m, (v) => scaleForAmax(Number.isFinite(v) ? v : Number.NaN) ?? Number.NaN);
      if (scales.some((v) => !Number.isFinite(v))) {
        skip(w, 'weight holds NaN or infinite values');
        continue;
      }
      dq = addPair(w, qIn, makeTensor(scope.unique(`${w}_scale`), [channels], scales), makeTensor(scope.unique(`${w}_zero_point`), [channels], new Int8Array(channels)), axis);
    } else {
      let m = 0;
      for (const v of values) m = Math.max(m, Math.abs(v));
      const s = scaleForAmax(Number.isNaN(m) ? Number.NaN : m);
      if (s === null) {
        skip(w, 'weight holds NaN or infinite values');
        continue;
      }
      dq = addPair(w, qIn, makeTensor(scope.unique(`${w}_scale`), [], Float32Array.of(s)), makeTensor(scope.unique(`${w}_zero_point`), [], Int8Array.of(0)), undefined);
    }
    weightPairs.push(...(pairFor.get(`${w}\u0000${axis ?? ''}`) ?? []));
    for (const u of e.uses) setInput(u, dq);
    weights++;
  }

  // 6. Rewire and lay out in topological order: weight pairs first (constants only), then each
  //    activation pair right after its producer (or up front for graph inputs).
  const rewired = nodes.map((n, k) => {
    const m = rewire.get(k);
    if (!m) return n;
    const ins = [...(n.input ?? [])];
    for (const [i, name] of m) ins[i] = name;
    return onnx.NodeProto.create({ ...n, input: ins });
  });
  const actPairs = new Map<string, Node[]>();
  for (const x of actOrder) actPairs.set(x, pairFor.get(`${x}\u0000`) ?? []);
  let ordered: Node[] = [...weightPairs];
  for (const x of actOrder) if (!producer.has(x)) ordered.push(...actPairs.get(x)!);
  rewired.forEach((n) => {
    ordered.push(n);
    for (const o of n.output ?? []) {
      const p = actPairs.get(o);
      if (p && producer.has(o)) ordered.push(...p);
    }
  });

  // 7. Drop Constant/Identity/Cast nodes (and folded initializers) nothing reads any more.
  const graphOutputs = new Set((g.output ?? []).map((o) => o.name ?? ''));
  const subgraphReads = new Set<string>();
  for (const sg of allGraphs(g).slice(1)) for (const n of sg.node ?? []) for (const i of n.input ?? []) subgraphReads.add(i);
  for (let changed = true; changed; ) {
    changed = false;
    const read = new Set<string>(subgraphReads);
    for (const n of ordered) for (const i of n.input ?? []) read.add(i);
    const keep = ordered.filter((n) => {
      const removable = isDefaultDomain(n.domain) && (n.opType === 'Constant' || n.opType === 'Identity' || n.opType === 'Cast');
      if (!removable) return true;
      return (n.output ?? []).some((o) => read.has(o) || graphOutputs.has(o));
    });
    if (keep.length !== ordered.length) {
      ordered = keep;
      changed = true;
    }
  }
  const readAll = new Set<string>(subgraphReads);
  for (const n of ordered) for (const i of n.input ?? []) readAll.add(i);
  const graphInputs = new Set((g.input ?? []).map((v) => v.name ?? ''));
  const initializer = [...(g.initializer ?? []), ...newInits].filter((t) => !foldedRoots.has(t.name ?? '') || readAll.has(t.name ?? '') || graphInputs.has(t.name ?? '') || graphOutputs.has(t.name ?? ''));

  const graph = onnx.GraphProto.create({ ...g, node: ordered, initializer });
  const out = onnx.ModelProto.create({ ...model, graph });
  const total = weightNames.size;
  const weightSkips = skipped.filter((s) => weightNames.has(s.name));
  const line =
    `Q/DQ: weights ${weights} of ${total} ${perChannel ? 'per-channel' : 'per-tensor'}` +
    `, activations ${activations} (read by ${rules['weighted-input']} weighted-op inputs, ${rules['residual-add']} residual adds, ${rules.pool} pools)` +
    `, ${skipped.length} left in float, opset ${opset} kept`;
  if (weightSkips.length > 0) {
    log('warn', `Q/DQ: ${weightSkips.length} Conv/Gemm/MatMul weight(s) left in float, TensorRT runs those layers in higher precision: ${weightSkips.slice(0, 5).map((s) => `${s.name}: ${s.reason}`).join('; ')}${weightSkips.length > 5 ? '; …' : ''}`);
  }
  const actSkips = skipped.filter((s) => !weightNames.has(s.name));
  if (actSkips.length > 0) log('info', `Q/DQ: ${actSkips.length} activation(s) left in float (${actSkips.slice(0, 3).map((s) => `${s.name}: ${s.reason}`).join('; ')}${actSkips.length > 3 ? '; …' : ''})`);
  log('info', line);
  return { model: encodeModel(out), summary: { activations, rules, weights, weightsTotal: total, perChannel, skipped, line } };
}

/** What auditQdq finds wrong with a Q/DQ model. */
export interface QdqAudit {
  /** QuantizeLinear→DequantizeLinear pairs on activations and weights. */
  pairs: number;
  /** Pairs whose DequantizeLinear feeds nothing TensorRT runs in INT8 (or nothing at all). */
  dangling: { tensor: string; readers: string[] }[];
  /** Conv/ConvTranspose/Gemm/MatMul weights (constant inputs) that reach the op without Q/DQ. */
  floatWeights: { node: string; op: string; weight: string }[];
}

/**
 * Check a Q/DQ model against the placement rules: every pair has an INT8 consumer (a weighted
 * op, the residual input of an Add fused into a weighted op, or a pool whose output is
 * quantized), and no weighted op reads a float constant weight. Used by the quantize stage as a
 * self-check and by the tests.
 */
export function auditQdq(bytes: Uint8Array): QdqAudit {
  const model = decodeModel(bytes);
  const g = model.graph!;
  const nodes = g.node ?? [];
  const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const producer = new Map<string, Node>();
  const readers = new Map<string, { n: Node; i: number }[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n);
    (n.input ?? []).forEach((x, i) => {
      const r = readers.get(x) ?? [];
      r.push({ n, i });
      readers.set(x, r);
    });
  }
  const isConst = (x: string, depth = 0): boolean => {
    if (inits.has(x)) return true;
    const p = producer.get(x);
    if (!p || depth > 32) return false;
    if (p.opType === 'Constant') return true;
    if (p.opType === 'Identity' || p.opType === 'Cast') return isConst(p.input?.[0] ?? '', depth + 1);
    return false;
  };
  const weightedProducer = (x: string): boolean => {
    const p = producer.get(x);
    if (!p) return false;
    if (WEIGHTED.has(p.opType ?? '')) return true;
    if (p.opType === 'BatchNormalization') return WEIGHTED.has(producer.get(p.input?.[0] ?? '')?.opType ?? '');
    return false;
  };
  const quantizedOut = (n: Node): boolean => (readers.get(n.output?.[0] ?? '') ?? []).some((r) => r.n.opType === 'QuantizeLinear');
  const dangling: QdqAudit['dangling'] = [];
  let pairs = 0;
  for (const q of nodes) {
    if (q.opType !== 'QuantizeLinear') continue;
    const tensor = q.input?.[0] ?? '';
    for (const r of readers.get(q.output?.[0] ?? '') ?? []) {
      if (r.n.opType !== 'DequantizeLinear') {
        dangling.push({ tensor, readers: [`${r.n.opType} ${r.n.name ?? ''}`] });
        continue;
      }
      pairs++;
      const dqOut = r.n.output?.[0] ?? '';
      const rs = readers.get(dqOut) ?? [];
      const bad = rs.filter(({ n, i }) => {
        const op = n.opType ?? '';
        if (WEIGHTED.has(op)) return i > 1;
        if (op === 'Add') {
          const other = (n.input ?? [])[1 - i] ?? '';
          return !weightedProducer(other);
        }
        if (POOLS.has(op)) return !quantizedOut(n);
        return true;
      });
      if (rs.length === 0 || bad.length > 0) dangling.push({ tensor, readers: (bad.length ? bad : rs).map(({ n }) => `${n.opType} ${n.name ?? ''}`) });
    }
  }
  const floatWeights: QdqAudit['floatWeights'] = [];
  for (const n of nodes) {
    if (!WEIGHTED.has(n.opType ?? '') || !isDefaultDomain(n.domain)) continue;
    (n.input ?? []).slice(0, 2).forEach((x) => {
      if (x !== '' && isConst(x)) floatWeights.push({ node: n.name ?? '', op: n.opType ?? '', weight: x });
    });
  }
  return { pairs, dangling, floatWeights };
}
