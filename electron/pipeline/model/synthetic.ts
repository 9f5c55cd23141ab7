import protobuf from 'protobufjs';

/**
 * Small, valid ONNX models written field by field with protobufjs' Writer, for self-tests and
 * benchmarks (no dependency on the ONNX surgery code). Field numbers: onnx/onnx.proto.
 */

const { Writer } = protobuf;
type W = protobuf.Writer;

const LEN = 2;
const tag = (w: W, field: number, wire: number): W => w.uint32((field << 3) | wire);
const str = (w: W, field: number, s: string): W => tag(w, field, LEN).string(s);
const msg = (w: W, field: number, body: Uint8Array): W => tag(w, field, LEN).bytes(body);
const varint = (w: W, field: number, v: number): W => tag(w, field, 0).uint64(v);

/** ValueInfoProto for a float tensor of the given shape. */
function floatValueInfo(name: string, dims: number[]): Uint8Array {
  const shape = Writer.create();
  for (const d of dims) msg(shape, 1, varint(Writer.create(), 1, d).finish());
  const tensorType = Writer.create();
  varint(tensorType, 1, 1); // elem_type FLOAT
  msg(tensorType, 2, shape.finish());
  const type = msg(Writer.create(), 1, tensorType.finish()).finish();
  const vi = Writer.create();
  str(vi, 1, name);
  msg(vi, 2, type);
  return vi.finish();
}

function node(op: string, inputs: string[], outputs: string[], name: string): Uint8Array {
  const w = Writer.create();
  for (const i of inputs) str(w, 1, i);
  for (const o of outputs) str(w, 2, o);
  str(w, 3, name);
  str(w, 4, op);
  return w.finish();
}

function opset(version: number): Uint8Array {
  const w = Writer.create();
  str(w, 1, '');
  varint(w, 2, version);
  return w.finish();
}

/** ir_version 8, opset 13, one Identity node X → Y over float[1, n]. */
export function identityModel(n = 4, producer = 'export-studio-test'): Uint8Array {
  const g = Writer.create();
  msg(g, 1, node('Identity', ['X'], ['Y'], 'identity0'));
  str(g, 2, 'g');
  msg(g, 11, floatValueInfo('X', [1, n]));
  msg(g, 12, floatValueInfo('Y', [1, n]));
  const m = Writer.create();
  varint(m, 1, 8);
  str(m, 2, producer);
  msg(m, 7, g.finish());
  msg(m, 8, opset(13));
  return m.finish();
}

/**
 * A model with one float initializer W of `rawBytes` bytes (a multiple of 4) feeding Identity → Y,
 * split so the weights can be streamed: `head` + rawBytes of data + `tail` is the whole ModelProto.
 */
export function initializerModelParts(rawBytes: number): { head: Uint8Array; tail: Uint8Array; total: number } {
  if (rawBytes % 4 !== 0) throw new RangeError('rawBytes must be a multiple of 4');
  const count = rawBytes / 4;
  const tensorHead = Writer.create();
  varint(tensorHead, 1, count); // dims
  varint(tensorHead, 2, 1); // data_type FLOAT
  str(tensorHead, 8, 'W');
  tag(tensorHead, 9, LEN).uint32(rawBytes); // raw_data length; the bytes follow
  const th = tensorHead.finish();
  const tensorLen = th.length + rawBytes;

  const graphPre = Writer.create();
  msg(graphPre, 1, node('Identity', ['W'], ['Y'], 'identity0'));
  tag(graphPre, 5, LEN).uint32(tensorLen);
  const gp = graphPre.finish();
  const graphPost = Writer.create();
  str(graphPost, 2, 'weights');
  msg(graphPost, 12, floatValueInfo('Y', [count]));
  const gq = graphPost.finish();
  const graphLen = gp.length + th.length + rawBytes + gq.length;

  const modelPre = Writer.create();
  varint(modelPre, 1, 8);
  str(modelPre, 2, 'export-studio-bench');
  tag(modelPre, 7, LEN).uint32(graphLen);
  const mp = modelPre.finish();
  const modelPost = msg(Writer.create(), 8, opset(13)).finish();

  const head = Buffer.concat([mp, gp, th]);
  const tail = Buffer.concat([gq, modelPost]);
  return { head, tail, total: head.length + rawBytes + tail.length };
}

/** ir_version 8, opset 13: a chain of `count` Identity nodes X → t1 → … → Y (structure-heavy, no weights). */
export function identityChainModel(count: number, n = 4): Uint8Array {
  const g = Writer.create();
  for (let i = 0; i < count; i++) {
    const input = i === 0 ? 'X' : `t${i}`;
    const output = i === count - 1 ? 'Y' : `t${i + 1}`;
    msg(g, 1, node('Identity', [input], [output], `identity${i}`));
  }
  str(g, 2, 'chain');
  msg(g, 11, floatValueInfo('X', [1, n]));
  msg(g, 12, floatValueInfo('Y', [1, n]));
  const m = Writer.create();
  varint(m, 1, 8);
  str(m, 2, 'export-studio-test');
  msg(m, 7, g.finish());
  msg(m, 8, opset(13));
  return m.finish();
}
