import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { ModelProtoWalker, prefixLooksLikeModel, walkModelProto, WireError } from './protowire.js';
import { identityChainModel, identityModel, initializerModelParts } from './synthetic.js';

const { Writer } = protobuf;

function expectWireError(bytes: Uint8Array, reason: RegExp): WireError {
  let caught: unknown;
  try {
    walkModelProto(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(WireError);
  expect((caught as WireError).reason).toMatch(reason);
  return caught as WireError;
}

/** A ModelProto with the graph and opset of the identity model but extra top-level bytes spliced in front. */
function withPrefix(prefix: Uint8Array): Uint8Array {
  return Buffer.concat([prefix, identityModel()]);
}

describe('ModelProto wire walk', () => {
  it('walks a hand-encoded model and reports what it saw', () => {
    const s = walkModelProto(identityModel());
    expect(s.irVersion).toBe(8);
    expect(s.hasGraph).toBe(true);
    expect(s.opsetImports).toBe(1);
    expect(s.maxDepth).toBeGreaterThanOrEqual(2); // graph → node / value info
  });

  it('gives the same verdict whatever the chunking', () => {
    const model = identityChainModel(50);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: model.length }), { maxLength: 20 }), (cuts) => {
        const w = new ModelProtoWalker(model.length);
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        let at = 0;
        for (const p of [...points, model.length]) {
          w.push(model.subarray(at, p));
          at = p;
        }
        expect(w.finish().fields).toBe(walkModelProto(model).fields);
      }),
    );
  });

  it('rejects every truncation of a model', () => {
    const model = identityModel();
    for (let n = 0; n < model.length; n++) {
      expect(() => walkModelProto(model.subarray(0, n)), `cut at ${n}`).toThrow(WireError);
    }
  });

  it('rejects a model that lacks ir_version, graph or opset_import', () => {
    const m = protobuf.Reader.create(identityModel());
    expect(m.uint32()).toBe(0x08); // ir_version comes first in our encoder
    const rest = identityModel().subarray(2);
    expectWireError(rest, /no ir_version/);
    const noGraph = Writer.create().uint32(0x08).uint32(8).uint32(0x42).bytes(Writer.create().uint32(0x10).uint32(13).finish()).finish();
    expectWireError(noGraph, /no graph/);
    const graphOnly = Writer.create().uint32(0x08).uint32(8).uint32(0x3a).bytes(new Uint8Array(0)).finish();
    expectWireError(graphOnly, /no opset_import/);
  });

  it('rejects implausible values and wrong wire types at the top level', () => {
    expectWireError(Buffer.concat([Buffer.from([0x08, 0x00]), identityModel().subarray(2)]), /ir_version 0/);
    expectWireError(Buffer.concat([Buffer.from([0x08, 99]), identityModel().subarray(2)]), /ir_version 99/);
    expectWireError(withPrefix(Buffer.from([0x0a, 0x00])), /field 1 of ModelProto has wire type 2/);
    expectWireError(withPrefix(Buffer.from([0x48, 0x01])), /field 9 is not defined in ModelProto/);
    expectWireError(withPrefix(Buffer.from([0x13])), /field 2 of ModelProto has wire type 3/);
    expectWireError(withPrefix(Buffer.from([0x12, 0xff, 0xff, 0xff, 0x7f])), /claims 268435455 bytes/);
    expectWireError(withPrefix(Buffer.from([0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), /varint longer than 10 bytes/);
  });

  it('accepts unknown fields inside nested messages (newer onnx.proto) but not lengths that overshoot', () => {
    // A node with an extra field 42 (varint) is still a valid protobuf.
    const nodeWithExtra = Writer.create().uint32(0x0a).string('X').uint32(0x12).string('Y').uint32(0x22).string('Identity').uint32((42 << 3) | 0).uint32(7).finish();
    const graph = Writer.create().uint32(0x0a).bytes(nodeWithExtra).finish();
    const opset = Writer.create().uint32(0x10).uint32(13).finish();
    const model = Writer.create().uint32(0x08).uint32(8).uint32(0x3a).bytes(graph).uint32(0x42).bytes(opset).finish();
    expect(walkModelProto(model).irVersion).toBe(8);
    // Same node, but its inner string claims one byte more than the node holds.
    const bad = Buffer.from(model);
    const at = bad.indexOf(Buffer.from('Identity')) - 1;
    bad[at] = 12;
    expectWireError(bad, /field 4 of NodeProto claims 12 bytes but only 11 remain/);
  });

  it('checks packed float lengths and opset versions in nested messages', () => {
    const tensor = Writer.create().uint32((4 << 3) | 2).bytes(new Uint8Array(6)).finish();
    const graph = Writer.create().uint32((5 << 3) | 2).bytes(tensor).finish();
    const model = Writer.create().uint32(0x08).uint32(8).uint32(0x3a).bytes(graph).uint32(0x42).bytes(Writer.create().uint32(0x10).uint32(13).finish()).finish();
    expectWireError(model, /packed float field 4 has 6 bytes/);
    const badOpset = Writer.create().uint32(0x08).uint32(8).uint32(0x3a).bytes(new Uint8Array(0)).uint32(0x42).bytes(Writer.create().uint32(0x10).uint32(0).finish()).finish();
    expectWireError(badOpset, /opset version 0/);
  });

  it('judges a prefix: a model start passes, random bytes do not', () => {
    const { head, total } = initializerModelParts(64 << 20);
    expect(prefixLooksLikeModel(head, total).ok).toBe(true);
    // Deterministic "random": 1000 blocks of SHA-like noise from a simple LCG; the check must reject nearly all.
    let x = 12345;
    let accepted = 0;
    for (let k = 0; k < 1000; k++) {
      const block = new Uint8Array(4096);
      for (let i = 0; i < block.length; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        block[i] = x >>> 24;
      }
      if (prefixLooksLikeModel(block, 200 << 20).ok) accepted++;
    }
    expect(accepted).toBe(0);
  });

  it('never throws anything but WireError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.option(fc.integer({ min: 0, max: 1 << 30 }), { nil: undefined }), (bytes, total) => {
        const w = new ModelProtoWalker(total === undefined ? undefined : Math.max(total, bytes.length));
        try {
          w.push(bytes);
          w.finish();
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
