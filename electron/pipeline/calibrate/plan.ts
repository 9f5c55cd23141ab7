import { DataType, isDefaultDomain, ortCanRun, valueInfoTensor, type Dim, type onnx } from '../onnx/index.js';

type Graph = onnx.GraphProto.$Properties;
type Node = onnx.NodeProto.$Properties;

export interface Uncalibrated {
  name: string;
  reason: string;
}

export interface ModelInput {
  name: string;
  elemType: number;
  shape: Dim[] | null;
}

/** What can be calibrated, decided from the graph alone (before any type probing). */
export interface GraphPlan {
  /** Indices (into graph.node) of the nodes ONNX Runtime will run, in graph order. */
  runnable: number[];
  /** Graph inputs that are not initializers. */
  inputs: ModelInput[];
  /** Candidate tensors in topological order: graph inputs, then runnable node outputs. */
  candidates: string[];
  /** Values computed from weights alone (Constant nodes and what follows from them only). */
  constants: Set<string>;
  /** Tensors that cannot be calibrated, with the reason. */
  uncalibrated: Uncalibrated[];
  /** The unrunnable nodes, for the log. */
  unrunnable: { name: string; opType: string; domain: string }[];
}

/** Whether ONNX Runtime can run this node type. `extraUnrunnable` adds op types found failing. */
export function isRunnable(node: Node, extraUnrunnable: ReadonlySet<string> = new Set()): boolean {
  const op = node.opType ?? '';
  if (extraUnrunnable.has(op)) return false;
  return ortCanRun(isDefaultDomain(node.domain) ? '' : (node.domain ?? ''), op);
}

/** Names a node reads, including the outer-scope values its subgraphs capture. */
export function nodeReads(node: Node): string[] {
  const reads = (node.input ?? []).filter((s) => s !== '');
  for (const a of node.attribute ?? []) {
    for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) reads.push(...outerReads(g));
  }
  return reads;
}

function outerReads(g: Graph): string[] {
  const local = new Set<string>();
  for (const v of g.input ?? []) if (v.name) local.add(v.name);
  for (const t of g.initializer ?? []) if (t.name) local.add(t.name);
  const out: string[] = [];
  for (const n of g.node ?? []) {
    for (const r of nodeReads(n)) if (!local.has(r)) out.push(r);
    for (const o of n.output ?? []) if (o) local.add(o);
  }
  for (const v of g.output ?? []) if (v.name && !local.has(v.name)) out.push(v.name);
  return out;
}

/**
 * Node indices in a topological order, stable: a node comes as early as its inputs allow, ties
 * in file order (a sorted graph keeps its order). Nodes whose inputs are never produced (or that
 * sit on a cycle) come last, in file order, so the caller reports them.
 */
export function topologicalOrder(nodes: readonly Node[], given: ReadonlySet<string>): number[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, k) => {
    for (const o of n.output ?? []) if (o !== '' && !producer.has(o)) producer.set(o, k);
  });
  const waitingOn = new Array<number>(nodes.length).fill(0);
  const readers = new Map<number, number[]>();
  nodes.forEach((n, k) => {
    const deps = new Set<number>();
    for (const r of nodeReads(n)) {
      if (given.has(r)) continue;
      const p = producer.get(r);
      if (p !== undefined && p !== k) deps.add(p);
    }
    waitingOn[k] = deps.size;
    for (const d of deps) readers.set(d, [...(readers.get(d) ?? []), k]);
  });
  // Already sorted (the common case): keep file order without the heap.
  let sorted = true;
  for (const [p, rs] of readers) if (rs.some((k) => k < p)) sorted = false;
  if (sorted) return nodes.map((_, k) => k);
  // Kahn's algorithm with the lowest ready index first (a binary heap keeps it O(n log n)).
  const heap: number[] = [];
  const push = (v: number) => {
    heap.push(v);
    for (let i = heap.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (heap[p]! <= heap[i]!) break;
      [heap[p], heap[i]] = [heap[i]!, heap[p]!];
      i = p;
    }
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l]! < heap[m]!) m = l;
        if (r < heap.length && heap[r]! < heap[m]!) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i]!, heap[m]!];
        i = m;
      }
    }
    return top;
  };
  waitingOn.forEach((w, k) => w === 0 && push(k));
  const order: number[] = [];
  const placed = new Uint8Array(nodes.length);
  while (heap.length > 0) {
    const k = pop();
    order.push(k);
    placed[k] = 1;
    for (const r of readers.get(k) ?? []) {
      waitingOn[r]! -= 1;
      if (waitingOn[r] === 0) push(r);
    }
  }
  for (let k = 0; k < nodes.length; k++) if (!placed[k]) order.push(k);
  return order;
}

/**
 * Keep every node whose op ONNX Runtime can run and whose inputs are all computable from graph
 * inputs and weights without passing through an unrunnable node; list everything else.
 */
export function planGraph(graph: Graph, extraUnrunnable: ReadonlySet<string> = new Set()): GraphPlan {
  const initializers = new Set<string>();
  for (const t of graph.initializer ?? []) if (t.name) initializers.add(t.name);
  for (const t of graph.sparseInitializer ?? []) if (t.values?.name) initializers.add(t.values.name);

  const inputs: ModelInput[] = [];
  for (const vi of graph.input ?? []) {
    if (!vi.name || initializers.has(vi.name)) continue;
    const t = valueInfoTensor(vi);
    inputs.push({ name: vi.name, elemType: t?.elemType ?? 0, shape: t?.shape ?? null });
  }

  const available = new Set<string>([...initializers, ...inputs.map((i) => i.name)]);
  const constants = new Set<string>(initializers);
  // value → the unrunnable node it depends on (for the reason text)
  const blockedBy = new Map<string, Node>();
  const runnable: number[] = [];
  const candidates: string[] = inputs.map((i) => i.name);
  const uncalibrated: Uncalibrated[] = [];
  const unrunnable: GraphPlan['unrunnable'] = [];

  const nodes = graph.node ?? [];
  // ONNX requires topological order but exporters (e.g. ORT-optimized models) do not always keep it.
  for (const k of topologicalOrder(nodes, available)) {
    const node = nodes[k]!;
    const reads = nodeReads(node);
    const outs = (node.output ?? []).filter((s) => s !== '');
    const runs = isRunnable(node);
    const missing = reads.find((r) => !available.has(r));
    if (runs && missing === undefined && !extraUnrunnable.has(node.opType ?? '')) {
      runnable.push(k);
      const isConst = node.opType === 'Constant' || (reads.length > 0 && reads.every((r) => constants.has(r)) && !hasRandom(node));
      for (const o of outs) {
        available.add(o);
        if (isConst) constants.add(o);
        else candidates.push(o);
      }
      continue;
    }
    let cause: Node | undefined;
    if (!runs || extraUnrunnable.has(node.opType ?? '')) {
      cause = node;
      unrunnable.push({ name: node.name ?? '', opType: node.opType ?? '', domain: node.domain ?? '' });
    } else if (missing !== undefined) {
      cause = blockedBy.get(missing);
    }
    for (const o of outs) {
      if (cause) blockedBy.set(o, cause);
      const what = cause ? `${cause.opType} node '${cause.name ?? ''}'` : 'an input that is never produced';
      uncalibrated.push({
        name: o,
        reason: cause === node ? `produced by ${what}, which ONNX Runtime cannot run (custom/TensorRT plugin op)` : `depends on ${what}, which ONNX Runtime cannot run`,
      });
    }
  }
  return { runnable, inputs, candidates, constants, uncalibrated, unrunnable };
}

function hasRandom(node: Node): boolean {
  return /^Random/.test(node.opType ?? '');
}

/** ONNX element types calibrated (TensorRT gives scales to float activations only). */
export function isCalibratedType(elemType: number): boolean {
  return elemType === DataType.FLOAT || elemType === DataType.FLOAT16;
}

/** Map ORT's type names to ONNX element types. */
export function elemTypeOfOrtName(t: string): number {
  switch (t) {
    case 'float32':
      return DataType.FLOAT;
    case 'float16':
      return DataType.FLOAT16;
    case 'float64':
      return DataType.DOUBLE;
    case 'int64':
      return DataType.INT64;
    case 'int32':
      return DataType.INT32;
    case 'bool':
      return DataType.BOOL;
    case 'uint8':
      return DataType.UINT8;
    case 'int8':
      return DataType.INT8;
    default:
      return DataType.UNDEFINED;
  }
}
