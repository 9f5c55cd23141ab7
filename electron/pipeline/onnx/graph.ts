import { int64FromBigInt, int64ToNumber, type Int64 } from './int64.js';
import { onnx } from './generated/onnx.js';

type GraphLike = onnx.GraphProto.$Properties;
type NodeLike = onnx.NodeProto.$Properties;
type AttrType = onnx.AttributeProto.AttributeType;
const T = onnx.AttributeProto.AttributeType;

/** An attribute value whose ONNX type is stated (a JS number cannot say INT or FLOAT by itself). */
export interface TypedAttr {
  readonly onnxType: AttrType;
  readonly value: number | bigint | readonly number[] | readonly bigint[];
}

/** Explicitly typed attribute values for makeNode: `{ alpha: attr.float(1) }`. */
export const attr = {
  float: (v: number): TypedAttr => ({ onnxType: T.FLOAT, value: v }),
  floats: (v: readonly number[]): TypedAttr => ({ onnxType: T.FLOATS, value: v }),
  int: (v: number | bigint): TypedAttr => ({ onnxType: T.INT, value: v }),
  ints: (v: readonly number[] | readonly bigint[]): TypedAttr => ({ onnxType: T.INTS, value: v }),
};

/**
 * What makeNode accepts per attribute. Plain numbers: integers become INT, others FLOAT; number
 * arrays: all-integer → INTS else FLOATS (use `attr.float(1)` / `attr.floats([1, 2])` for
 * integral floats); bigint → INT; string/Uint8Array → STRING; string[] → STRINGS;
 * a TensorProto → TENSOR; a GraphProto → GRAPH; a full AttributeProto is taken as is.
 */
export type AttrValue =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly number[]
  | readonly bigint[]
  | readonly string[]
  | TypedAttr
  | onnx.TensorProto
  | onnx.GraphProto
  | onnx.AttributeProto;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

function isTypedAttr(v: unknown): v is TypedAttr {
  return typeof v === 'object' && v !== null && 'onnxType' in v && 'value' in v;
}

/** One AttributeProto with `type` set (required since IR 2). */
export function makeAttribute(name: string, value: AttrValue): onnx.AttributeProto {
  if (value instanceof onnx.AttributeProto) return onnx.AttributeProto.create({ ...value, name });
  if (value instanceof onnx.TensorProto) return onnx.AttributeProto.create({ name, type: T.TENSOR, t: value });
  if (value instanceof onnx.GraphProto) return onnx.AttributeProto.create({ name, type: T.GRAPH, g: value });
  if (isTypedAttr(value)) {
    const v = value.value;
    switch (value.onnxType) {
      case T.FLOAT:
        return onnx.AttributeProto.create({ name, type: T.FLOAT, f: Number(v) });
      case T.INT:
        return onnx.AttributeProto.create({ name, type: T.INT, i: toInt64(v as number | bigint) });
      case T.FLOATS:
        return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: (v as readonly number[]).map(Number) });
      default:
        return onnx.AttributeProto.create({ name, type: T.INTS, ints: (v as readonly (number | bigint)[]).map(toInt64) });
    }
  }
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? onnx.AttributeProto.create({ name, type: T.INT, i: value })
      : onnx.AttributeProto.create({ name, type: T.FLOAT, f: value });
  }
  if (typeof value === 'bigint') return onnx.AttributeProto.create({ name, type: T.INT, i: toInt64(value) });
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: utf8.encode(value) });
  if (value instanceof Uint8Array) return onnx.AttributeProto.create({ name, type: T.STRING, s: value });
  const arr = value as readonly (number | bigint | string)[];
  if (arr.length > 0 && typeof arr[0] === 'string') {
    return onnx.AttributeProto.create({ name, type: T.STRINGS, strings: (arr as readonly string[]).map((s) => utf8.encode(s)) });
  }
  if (arr.every((x) => typeof x === 'bigint' || Number.isInteger(x))) {
    return onnx.AttributeProto.create({ name, type: T.INTS, ints: (arr as readonly (number | bigint)[]).map(toInt64) });
  }
  return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: (arr as readonly number[]).map(Number) });
}

function toInt64(v: number | bigint): Int64 {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`int attribute ${v} is not a safe integer; pass a bigint`);
    return v;
  }
  return int64FromBigInt(v);
}

/** A NodeProto. Attributes keep the insertion order of `attrs`. */
export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: Readonly<Record<string, AttrValue>> = {},
  name?: string,
  domain?: string,
): onnx.NodeProto {
  const node = onnx.NodeProto.create({
    opType,
    input: [...inputs],
    output: [...outputs],
    attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
  });
  if (name !== undefined) node.name = name;
  if (domain !== undefined && domain !== '') node.domain = domain;
  return node;
}

/** One dimension: number = fixed, string = symbolic (dim_param), null = unknown. */
export type Dim = number | string | null;

/** A tensor ValueInfoProto; `shape` null = rank unknown (not allowed for top-level inputs/outputs). */
export function makeValueInfo(name: string, elemType: number, shape: readonly Dim[] | null): onnx.ValueInfoProto {
  const tensorType = onnx.TypeProto.Tensor.create({ elemType });
  if (shape !== null) {
    tensorType.shape = onnx.TensorShapeProto.create({
      dim: shape.map((d) =>
        d === null
          ? onnx.TensorShapeProto.Dimension.create({})
          : typeof d === 'string'
            ? onnx.TensorShapeProto.Dimension.create({ dimParam: d })
            : onnx.TensorShapeProto.Dimension.create({ dimValue: d }),
      ),
    });
  }
  return onnx.ValueInfoProto.create({ name, type: onnx.TypeProto.create({ tensorType }) });
}

/** Element type and shape of a tensor ValueInfo; null when it is not a tensor type. */
export function valueInfoTensor(vi: onnx.ValueInfoProto.$Properties): { elemType: number; shape: Dim[] | null } | null {
  const tt = vi.type?.tensorType;
  if (!tt) return null;
  const shape = tt.shape
    ? (tt.shape.dim ?? []).map((d): Dim => {
        if (d.dimParam !== undefined && d.dimParam !== null && d.dimParam !== '') return d.dimParam;
        if (d.dimValue !== undefined && d.dimValue !== null) return int64ToNumber(d.dimValue);
        return null;
      })
    : null;
  return { elemType: tt.elemType ?? 0, shape };
}

/** True for '' and 'ai.onnx', the two spellings of the default domain. */
export function isDefaultDomain(domain: string | null | undefined): boolean {
  return domain === undefined || domain === null || domain === '' || domain === 'ai.onnx';
}

/** The model's opset version for a domain ('' and 'ai.onnx' are the same); undefined if not imported. */
export function getOpset(model: onnx.ModelProto.$Properties, domain = ''): number | undefined {
  const wantDefault = isDefaultDomain(domain);
  let best: number | undefined;
  for (const o of model.opsetImport ?? []) {
    const match = wantDefault ? isDefaultDomain(o.domain) : o.domain === domain;
    if (match) {
      const v = int64ToNumber(o.version);
      best = best === undefined ? v : Math.max(best, v);
    }
  }
  return best;
}

/** Calls `visit` for every node of `graph` and of its subgraphs (If/Loop/Scan bodies), depth first. */
export function forEachNode(graph: GraphLike, visit: (node: NodeLike, owner: GraphLike, depth: number) => void, depth = 0): void {
  for (const node of graph.node ?? []) {
    visit(node, graph, depth);
    for (const a of node.attribute ?? []) {
      if (a.g) forEachNode(a.g, visit, depth + 1);
      for (const g of a.graphs ?? []) forEachNode(g, visit, depth + 1);
    }
  }
}

/** The graph and all its subgraphs, parent first. */
export function allGraphs(graph: GraphLike): GraphLike[] {
  const out: GraphLike[] = [graph];
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.g) out.push(...allGraphs(a.g));
      for (const g of a.graphs ?? []) out.push(...allGraphs(g));
    }
  }
  return out;
}

/**
 * Hands out names not used anywhere in a graph (values, nodes, initializers, subgraphs).
 * Build one per surgery pass: it indexes the graph once, then each call is O(1) amortized.
 */
export class NameScope {
  private readonly used = new Set<string>();

  constructor(graph?: GraphLike) {
    if (graph) for (const g of allGraphs(graph)) this.addGraph(g);
  }

  private addGraph(g: GraphLike): void {
    const add = (s: string | null | undefined): void => {
      if (s) this.used.add(s);
    };
    for (const n of g.node ?? []) {
      add(n.name);
      for (const s of n.input ?? []) add(s);
      for (const s of n.output ?? []) add(s);
    }
    for (const t of g.initializer ?? []) add(t.name);
    for (const t of g.sparseInitializer ?? []) add(t.values?.name);
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) add(v.name);
  }

  has(name: string): boolean {
    return this.used.has(name);
  }

  /** Marks a name as taken (e.g. one chosen by hand). */
  reserve(name: string): void {
    this.used.add(name);
  }

  /** `base` if free, else `base_1`, `base_2`, …; the result is reserved. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

/** A name not used in `graph` (one-off; use NameScope when creating many). */
export function uniqueName(graph: GraphLike, base: string): string {
  return new NameScope(graph).unique(base);
}

/** The attribute named `name`, if present. */
export function getAttribute(node: NodeLike, name: string): onnx.AttributeProto.$Properties | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function attrInt(node: NodeLike, name: string, fallback: number): number;
export function attrInt(node: NodeLike, name: string): number | undefined;
export function attrInt(node: NodeLike, name: string, fallback?: number): number | undefined {
  const a = getAttribute(node, name);
  return a ? int64ToNumber(a.i, `attribute ${name}`) : fallback;
}

/** INTS as numbers; values beyond ±2^53 (INT64_MAX in Slice ends) are clamped to ±MAX_SAFE_INTEGER. */
export function attrInts(node: NodeLike, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  if (!a) return undefined;
  return (a.ints ?? []).map((v: Int64) => {
    if (typeof v === 'number') return v;
    try {
      return int64ToNumber(v);
    } catch {
      return v.high < 0 && !v.unsigned ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
    }
  });
}

export function attrFloat(node: NodeLike, name: string, fallback: number): number;
export function attrFloat(node: NodeLike, name: string): number | undefined;
export function attrFloat(node: NodeLike, name: string, fallback?: number): number | undefined {
  const a = getAttribute(node, name);
  return a ? (a.f ?? 0) : fallback;
}

export function attrFloats(node: NodeLike, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  return a ? [...(a.floats ?? [])] : undefined;
}

export function attrString(node: NodeLike, name: string, fallback: string): string;
export function attrString(node: NodeLike, name: string): string | undefined;
export function attrString(node: NodeLike, name: string, fallback?: string): string | undefined {
  const a = getAttribute(node, name);
  return a ? utf8d.decode(a.s ?? new Uint8Array(0)) : fallback;
}

/** Sets (replacing) one attribute on a node. */
export function setAttribute(node: NodeLike, name: string, value: AttrValue): void {
  const list = node.attribute ?? (node.attribute = []);
  const next = makeAttribute(name, value);
  const i = list.findIndex((a) => a.name === name);
  if (i >= 0) list[i] = next;
  else list.push(next);
}
