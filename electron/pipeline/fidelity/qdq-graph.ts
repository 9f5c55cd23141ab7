/**
 * Reading and trimming a Q/DQ model for the fidelity check: which activations it quantizes (and
 * with which amax), which layers touch them, and a copy that keeps only chosen quantizers.
 */
import { DataType, decodeModel, encodeModel, makeValueInfo, onnx, tensorToFloat32 } from '../onnx/index.js';

export interface QuantizedActivation {
  /** The float tensor that is fake-quantized (QuantizeLinear's input). */
  name: string;
  /** scale × 127 from the model's per-tensor scale. */
  amax: number;
  /** The node producing it (absent for graph inputs). */
  producer?: string;
  /** Nodes that read its dequantized value. */
  consumers: string[];
}

export interface QdqGraph {
  model: onnx.ModelProto;
  activations: QuantizedActivation[];
}

const isQ = (n: onnx.NodeProto.$Properties) => n.opType === 'QuantizeLinear' && (n.domain ?? '') === '';
const isDQ = (n: onnx.NodeProto.$Properties) => n.opType === 'DequantizeLinear' && (n.domain ?? '') === '';
const isCast = (n: onnx.NodeProto.$Properties) => n.opType === 'Cast' && (n.domain ?? '') === '';

/** The activation quantizers of a Q/DQ model, in graph order. Weights (initializer inputs) are not listed. */
export function analyseQdq(bytes: Uint8Array): QdqGraph {
  const model = decodeModel(bytes);
  const g = model.graph!;
  const nodes = g.node ?? [];
  const inits = new Map<string, onnx.TensorProto.$Properties>();
  for (const t of g.initializer ?? []) if (t.name) inits.set(t.name, t);
  const producer = new Map<string, string>();
  const readers = new Map<string, string[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n.name ?? '');
    for (const i of n.input ?? []) {
      const r = readers.get(i) ?? [];
      r.push(n.name ?? '');
      readers.set(i, r);
    }
  }
  const dqOf = new Map<string, onnx.NodeProto.$Properties>();
  for (const n of nodes) if (isDQ(n) && n.input?.[0]) dqOf.set(n.input[0], n);
  const nodeByName = new Map(nodes.map((n) => [n.name ?? '', n]));
  const activations: QuantizedActivation[] = [];
  for (const n of nodes) {
    if (!isQ(n)) continue;
    let x = n.input?.[0] ?? '';
    if (x === '' || inits.has(x)) continue;
    const scaleT = inits.get(n.input?.[1] ?? '');
    const scale = scaleT ? tensorToFloat32(scaleT)[0] : undefined;
    const dq = dqOf.get(n.output?.[0] ?? '');
    let d = dq?.output?.[0];
    if (scale === undefined || !d) continue;
    // A float16 activation is wrapped: x → Cast(float) → Q → DQ → Cast(float16) (calibrate/qdq.ts).
    const inner = nodeByName.get(producer.get(x) ?? '');
    const outer = (readers.get(d) ?? []).map((r) => nodeByName.get(r));
    if (inner && isCast(inner) && outer.length === 1 && outer[0] && isCast(outer[0])) {
      x = inner.input?.[0] ?? x;
      d = outer[0].output?.[0] ?? d;
    }
    const p = producer.get(x);
    activations.push({ name: x, amax: scale * 127, ...(p ? { producer: p } : {}), consumers: [...new Set((readers.get(d) ?? []).filter((c) => c !== ''))] });
  }
  return { model, activations };
}

/**
 * A copy of the Q/DQ model that keeps only the activation quantizers named in `keep` and no
 * weight quantizers: every other Q→DQ pair is removed and its readers read the float tensor again.
 */
export function keepQuantizers(model: onnx.ModelProto, keep: ReadonlySet<string>): Uint8Array {
  const g = model.graph!;
  const nodes = g.node ?? [];
  const alias = new Map<string, string>();
  const drop = new Set<onnx.NodeProto.$Properties>();
  const qByOut = new Map<string, onnx.NodeProto.$Properties>();
  for (const n of nodes) if (isQ(n) && n.output?.[0]) qByOut.set(n.output[0], n);
  const byOutput = new Map<string, onnx.NodeProto.$Properties>();
  const readersOf = new Map<string, onnx.NodeProto.$Properties[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) byOutput.set(o, n);
    for (const i of n.input ?? []) readersOf.set(i, [...(readersOf.get(i) ?? []), n]);
  }
  for (const dq of nodes) {
    if (!isDQ(dq)) continue;
    const q = qByOut.get(dq.input?.[0] ?? '');
    let x = q?.input?.[0];
    let d = dq.output?.[0];
    if (!q || !x || !d) continue;
    // The float16 wrapping (Cast → Q → DQ → Cast) goes as a whole.
    const inner = byOutput.get(x);
    const outer = readersOf.get(d) ?? [];
    const wrapped = inner && isCast(inner) && outer.length === 1 && isCast(outer[0]!) ? { inner, outer: outer[0]! } : undefined;
    if (wrapped) {
      x = wrapped.inner.input?.[0] ?? x;
      d = wrapped.outer.output?.[0] ?? d;
    }
    if (keep.has(x)) continue;
    alias.set(d, x);
    drop.add(q);
    drop.add(dq);
    if (wrapped) {
      drop.add(wrapped.inner);
      drop.add(wrapped.outer);
    }
  }
  const node = nodes.filter((n) => !drop.has(n)).map((n) => (n.input?.some((i) => alias.has(i)) ? onnx.NodeProto.create({ ...n, input: n.input.map((i) => alias.get(i) ?? i) }) : n));
  const output = (g.output ?? []).map((o) => (o.name && alias.has(o.name) ? onnx.ValueInfoProto.create({ ...o, name: alias.get(o.name)! }) : o));
  return encodeModel(onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...g, node, output }) }));
}

/** The model with `names` added as float graph outputs (skipping graph inputs and existing outputs). */
export function withExtraOutputs(bytes: Uint8Array, names: readonly string[]): { model: Uint8Array; added: string[] } {
  const model = decodeModel(bytes);
  const g = model.graph!;
  const taken = new Set([...(g.input ?? []), ...(g.output ?? [])].map((v) => v.name ?? ''));
  const added = [...new Set(names)].filter((n) => !taken.has(n));
  if (added.length === 0) return { model: bytes, added };
  const output = [...(g.output ?? []), ...added.map((n) => makeValueInfo(n, DataType.FLOAT, null))];
  return { model: encodeModel(onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...g, output }) })), added };
}
