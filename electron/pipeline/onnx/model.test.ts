import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs/minimal.js';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { needs } from '../../../test/support/needs.js';
import { TV_MASKRCNN_FILE, tvMaskRcnn } from '../../../test/support/torchvision.js';
import { isStudioError } from '../../../shared/errors.js';
import { DataType } from './elemtypes.js';
import { attrInts, getAttribute, getOpset, makeNode, NameScope, uniqueName } from './graph.js';
import { int64ToBigInt } from './int64.js';
import { decodeMessage, decodeModel, encodeModel, onnx } from './model.js';
import { makeTensor, tensorDims, tensorToFloat32 } from './tensor.js';
import { buildTinyModel, mulberry32, tinyModelBytes } from './testing.js';

async function runModel(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    const res: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(out)) res[k] = Float32Array.from(v.data as Float32Array);
    return res;
  } finally {
    await session.release();
  }
}

function randomInput(n: number, seed: number): ort.Tensor {
  const rnd = mulberry32(seed);
  return new ort.Tensor('float32', new Float32Array(n * 3 * 8 * 8).map(() => rnd() * 2 - 1), [n, 3, 8, 8]);
}

/** Unknown-field bytes: field 1000 varint and field 1001 length-delimited. */
function unknownFieldBytes(tagValue: number): Uint8Array[] {
  const a = protobuf.Writer.create().uint32((1000 << 3) | 0).uint64(tagValue).finish();
  const b = protobuf.Writer.create().uint32((1001 << 3) | 2).bytes(Uint8Array.of(1, 2, 3, tagValue & 0xff)).finish();
  return [Uint8Array.from(a), Uint8Array.from(b)];
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle));
}

describe('decodeModel / encodeModel', () => {
  it('round-trips a real model: decode→encode is byte-stable, deep-equal, and runs identically in ORT', async () => {
    const bytes1 = tinyModelBytes(7);
    const m1 = decodeModel(bytes1);
    const bytes2 = encodeModel(m1);
    expect(Buffer.from(bytes2).equals(Buffer.from(bytes1))).toBe(true);
    const m2 = decodeModel(bytes2);
    expect(onnx.ModelProto.toObject(m2, { longs: String, bytes: Array })).toEqual(onnx.ModelProto.toObject(m1, { longs: String, bytes: Array }));

    const feeds = { input: randomInput(2, 3) };
    const [a, b] = await Promise.all([runModel(bytes1, feeds), runModel(bytes2, feeds)]);
    expect(a['output']?.length).toBe(2 * 3 * 8 * 8);
    expect(Array.from(b['output'] ?? [])).toEqual(Array.from(a['output'] ?? []));
  });

  it('keeps int64 values: small ones as numbers, INT64_MAX exactly (as a Long)', () => {
    const m = decodeModel(tinyModelBytes());
    expect(m.irVersion).toBe(8);
    expect(getOpset(m)).toBe(17);
    expect(getOpset(m, 'ai.onnx')).toBe(17);
    expect(getOpset(m, 'com.microsoft')).toBeUndefined();
    const ends = m.graph?.initializer?.find((t) => t.name === 'slice/ends');
    expect(ends).toBeDefined();
    expect(new BigInt64Array(Uint8Array.from(ends?.rawData ?? []).buffer)[0]).toBe(0x7fffffffffffffffn);
    expect(tensorDims(ends ?? {})).toEqual([1]);
    // An INTS attribute holding INT64_MAX survives as an exact 64-bit value.
    const node = makeNode('Slice', ['x'], ['y'], { ends: [0x7fffffffffffffffn], starts: [0n] });
    const back = decodeMessage(onnx.NodeProto, onnx.NodeProto.encode(node).finish());
    const raw = getAttribute(back, 'ends')?.ints ?? [];
    expect(typeof raw[0]).toBe('object');
    expect(int64ToBigInt(raw[0])).toBe(0x7fffffffffffffffn);
    expect(getAttribute(back, 'starts')?.ints).toEqual([0]);
    expect(attrInts(back, 'ends')).toEqual([Number.MAX_SAFE_INTEGER]);
  });

  it('preserves unknown fields on ModelProto, GraphProto, NodeProto and TensorProto byte-for-byte', async () => {
    const base = buildTinyModel(2);
    const graph = base.graph as onnx.GraphProto;
    const injected: Record<string, Uint8Array[]> = {
      model: unknownFieldBytes(11),
      graph: unknownFieldBytes(22),
      node: unknownFieldBytes(33),
      tensor: unknownFieldBytes(44),
    };
    // Re-create each message from its own bytes plus appended unknown fields.
    const nodeBytes = concat(onnx.NodeProto.encode(graph.node[0] as onnx.NodeProto).finish(), ...(injected['node'] ?? []));
    graph.node[0] = decodeMessage(onnx.NodeProto, nodeBytes);
    const tensorBytes = concat(onnx.TensorProto.encode(graph.initializer[0] as onnx.TensorProto).finish(), ...(injected['tensor'] ?? []));
    graph.initializer[0] = decodeMessage(onnx.TensorProto, tensorBytes);
    const graphBytes = concat(onnx.GraphProto.encode(graph).finish(), ...(injected['graph'] ?? []));
    base.graph = decodeMessage(onnx.GraphProto, graphBytes);
    const modelBytes = concat(encodeModel(base), ...(injected['model'] ?? []));

    const m = decodeModel(modelBytes);
    const g = m.graph as onnx.GraphProto;
    expect(m.$unknowns).toEqual(injected['model']);
    expect(g.$unknowns).toEqual(injected['graph']);
    expect((g.node[0] as onnx.NodeProto).$unknowns).toEqual(injected['node']);
    expect((g.initializer[0] as onnx.TensorProto).$unknowns).toEqual(injected['tensor']);
    // Messages without unknown fields carry none.
    expect((g.node[1] as onnx.NodeProto).$unknowns).toBeUndefined();

    const again = encodeModel(m);
    expect(Buffer.from(again).equals(Buffer.from(modelBytes))).toBe(true);
    for (const parts of Object.values(injected)) for (const p of parts) expect(indexOf(again, p)).toBeGreaterThan(0);
    // ONNX Runtime (C++ protobuf) accepts unknown fields: the model still runs.
    const out = await runModel(again, { input: randomInput(1, 5) });
    expect(out['output']?.length).toBe(3 * 8 * 8);
  });

  it('keeps newer fields and values: overload, metadata_props, FLOAT4E2M1 data_type, unknown enum values', () => {
    const m = buildTinyModel(3);
    const g = m.graph as onnx.GraphProto;
    const node = g.node[1] as onnx.NodeProto;
    node.overload = 'v2';
    node.metadataProps = [onnx.StringStringEntryProto.create({ key: 'source', value: 'tao' })];
    g.metadataProps = [onnx.StringStringEntryProto.create({ key: 'g', value: '1' })];
    g.initializer.push(makeTensor('fp4', [4], Uint8Array.of(0x21, 0x43), DataType.FLOAT4E2M1));
    g.initializer.push(onnx.TensorProto.create({ name: 'future', dims: [1], dataType: 99, rawData: Uint8Array.of(7) }));
    const bytes = encodeModel(m);
    // An AttributeProto.type and a data_location value this schema does not define.
    const attrBytes = protobuf.Writer.create().uint32((1 << 3) | 2).string('mystery').uint32((20 << 3) | 0).int32(77).finish();
    const attrMsg = decodeMessage(onnx.AttributeProto, attrBytes);
    expect(attrMsg.$unknowns?.length).toBe(1);
    const withAttr = decodeModel(bytes);
    (withAttr.graph?.node?.[0] as onnx.NodeProto).attribute.push(attrMsg);

    const back = decodeModel(encodeModel(withAttr));
    const gb = back.graph as onnx.GraphProto;
    expect(gb.node[1]?.overload).toBe('v2');
    expect(gb.node[1]?.metadataProps?.[0]).toMatchObject({ key: 'source', value: 'tao' });
    expect(gb.metadataProps?.[0]).toMatchObject({ key: 'g', value: '1' });
    expect(gb.initializer.find((t) => t.name === 'fp4')?.dataType).toBe(23);
    expect(Array.from(gb.initializer.find((t) => t.name === 'fp4')?.rawData ?? [])).toEqual([0x21, 0x43]);
    expect(gb.initializer.find((t) => t.name === 'future')?.dataType).toBe(99);
    const mystery = gb.node[0]?.attribute?.find((a) => a.name === 'mystery');
    expect(mystery).toBeDefined();
    const reencoded = onnx.AttributeProto.encode(mystery as onnx.AttributeProto).finish();
    expect(Array.from(reencoded)).toEqual(Array.from(attrBytes));
  });

  it('round-trips the torchvision Mask R-CNN export byte-for-byte when present', (ctx) => {
    const file = TV_MASKRCNN_FILE;
    needs(ctx, tvMaskRcnn());
    const bytes = new Uint8Array(readFileSync(file));
    const m = decodeModel(bytes);
    const again = encodeModel(m);
    // Identical bytes imply identical ORT outputs; running the 178 MB model twice on CI is too slow.
    expect(again.length).toBe(bytes.length);
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    const m2 = decodeModel(again);
    expect(m2.graph?.node?.length).toBe(m.graph?.node?.length);
    expect(m2.graph?.initializer?.map((t) => t.name)).toEqual(m.graph?.initializer?.map((t) => t.name));
  }, 120_000);
});

describe('decodeModel errors', () => {
  function codeOf(f: () => unknown): { code: string; offset: number | undefined } {
    try {
      f();
    } catch (e) {
      if (isStudioError(e)) return { code: e.code, offset: e.location.offset };
      throw e;
    }
    throw new Error('expected a StudioError');
  }

  it('says E_FILE_EMPTY, E_NOT_ONNX or E_ONNX_INVALID with the failing offset', () => {
    expect(codeOf(() => decodeModel(new Uint8Array(0))).code).toBe('E_FILE_EMPTY');
    expect(codeOf(() => decodeModel(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).code).toBe('E_NOT_ONNX');
    expect(codeOf(() => decodeModel(new TextEncoder().encode('{"model": 1}'))).code).toBe('E_NOT_ONNX');
    // Only an ir_version: protobuf parses, but there is no graph.
    expect(codeOf(() => decodeModel(Uint8Array.of(0x08, 0x08))).code).toBe('E_NOT_ONNX');
    const bytes = tinyModelBytes();
    const cut = Math.floor(bytes.length * 0.6);
    const r = codeOf(() => decodeModel(bytes.subarray(0, cut)));
    expect(r.code).toBe('E_ONNX_INVALID');
    expect(r.offset).toBeGreaterThan(0);
    expect(r.offset).toBeLessThanOrEqual(cut);
  });
});

describe('tensor helpers', () => {
  it('tensorToFloat32 reads raw_data at any byte offset, float_data, float16, int64, int4', () => {
    const values = Float32Array.of(1.5, -2, 3.25, 1e-3);
    const t = makeTensor('w', [2, 2], values);
    // Place raw_data at an odd offset, as a decoded view into a model buffer would be.
    const host = new Uint8Array(17 + 16);
    host.set(t.rawData, 17);
    t.rawData = host.subarray(17, 33);
    expect(t.rawData.byteOffset % 4).not.toBe(0);
    expect(Array.from(tensorToFloat32(t))).toEqual(Array.from(values));

    const fd = onnx.TensorProto.create({ name: 'f', dims: [3], dataType: DataType.FLOAT, floatData: [1, 2, 3] });
    expect(Array.from(tensorToFloat32(fd))).toEqual([1, 2, 3]);

    // float16 bit patterns: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 0x0001.
    const h = makeTensor('h', [4], Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001), DataType.FLOAT16);
    expect(Array.from(tensorToFloat32(h))).toEqual([1, -2, 65504, Math.fround(2 ** -24)]);

    const i64 = decodeMessage(onnx.TensorProto, onnx.TensorProto.encode(onnx.TensorProto.create({ name: 'i', dims: [2], dataType: DataType.INT64, int64Data: [5, -7] })).finish());
    expect(Array.from(tensorToFloat32(i64))).toEqual([5, -7]);

    const i4 = makeTensor('q', [3], Uint8Array.of(0x7f, 0x08), DataType.INT4);
    expect(Array.from(tensorToFloat32(i4))).toEqual([-1, 7, -8]);
  });

  it('makeTensor checks the byte count and copies the data', () => {
    expect(() => makeTensor('bad', [3], Float32Array.of(1, 2))).toThrow(/need 12 bytes/);
    const src = Float32Array.of(1, 2);
    const t = makeTensor('c', [2], src);
    src[0] = 9;
    expect(Array.from(tensorToFloat32(t))).toEqual([1, 2]);
  });

  it('uniqueName avoids every name in the graph and its subgraphs', () => {
    const m = buildTinyModel();
    const g = m.graph as onnx.GraphProto;
    expect(uniqueName(g, 'fresh')).toBe('fresh');
    expect(uniqueName(g, 'conv1')).toBe('conv1_1');
    // then_out lives only inside the If's then_branch.
    expect(uniqueName(g, 'then_out')).toBe('then_out_1');
    const scope = new NameScope(g);
    expect([scope.unique('relu1'), scope.unique('relu1'), scope.unique('x')]).toEqual(['relu1_1', 'relu1_2', 'x']);
  });
});
