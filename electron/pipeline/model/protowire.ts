/**
 * An incremental protobuf wire-format walker for ONNX ModelProto. It never builds objects: it
 * checks that every tag, varint and length is well-formed, that field numbers and wire types match
 * what onnx.proto defines, and descends into the sub-messages that carry structure (graph, nodes,
 * attributes, tensors, value infos, opset ids). Byte payloads (raw_data, strings) are skipped, so a
 * 200 MB model costs a few thousand state transitions. Bytes may arrive in chunks of any size, which
 * lets the same walker check a decrypted prefix (quick key check), a stream (seal/unseal) and a
 * whole buffer (readModel).
 */

/** What a field may look like on the wire. */
type FieldKind =
  | 'varint' //       wire type 0
  | 'i32' //          wire type 5 (float)
  | 'bytes' //        wire type 2, skipped (string, bytes, or a message we do not descend into)
  | 'rvarint' //      repeated varint: unpacked (0) or packed (2)
  | 'ri32' //         repeated fixed32: unpacked (5) or packed (2)
  | 'ri64' //         repeated fixed64: unpacked (1) or packed (2)
  | { msg: MessageName };

type MessageName = 'Model' | 'Graph' | 'Node' | 'Attribute' | 'Tensor' | 'ValueInfo' | 'OpsetId' | 'StringEntry';

interface MessageSchema {
  fields: Readonly<Record<number, FieldKind>>;
  /** Reject field numbers onnx.proto does not define (only for ModelProto, where a wrong key must show). */
  strict: boolean;
}

// Field numbers from onnx/onnx.proto (see docs/FORMATS.md for the source commit).
const SCHEMAS: Readonly<Record<MessageName, MessageSchema>> = {
  Model: {
    strict: true,
    fields: { 1: 'varint', 2: 'bytes', 3: 'bytes', 4: 'bytes', 5: 'varint', 6: 'bytes', 7: { msg: 'Graph' }, 8: { msg: 'OpsetId' }, 14: { msg: 'StringEntry' }, 20: 'bytes', 25: 'bytes' },
  },
  Graph: {
    strict: false,
    fields: { 1: { msg: 'Node' }, 2: 'bytes', 5: { msg: 'Tensor' }, 10: 'bytes', 11: { msg: 'ValueInfo' }, 12: { msg: 'ValueInfo' }, 13: { msg: 'ValueInfo' }, 14: 'bytes', 15: 'bytes', 16: { msg: 'StringEntry' } },
  },
  Node: {
    strict: false,
    fields: { 1: 'bytes', 2: 'bytes', 3: 'bytes', 4: 'bytes', 5: { msg: 'Attribute' }, 6: 'bytes', 7: 'bytes', 8: 'bytes', 9: { msg: 'StringEntry' } },
  },
  Attribute: {
    strict: false,
    fields: {
      1: 'bytes', 2: 'i32', 3: 'varint', 4: 'bytes', 5: { msg: 'Tensor' }, 6: { msg: 'Graph' }, 7: 'ri32', 8: 'rvarint', 9: 'bytes',
      10: { msg: 'Tensor' }, 11: { msg: 'Graph' }, 13: 'bytes', 14: 'bytes', 15: 'bytes', 20: 'varint', 21: 'bytes', 22: 'bytes', 23: 'bytes',
    },
  },
  Tensor: {
    strict: false,
    fields: {
      1: 'rvarint', 2: 'varint', 3: 'bytes', 4: 'ri32', 5: 'rvarint', 6: 'bytes', 7: 'rvarint', 8: 'bytes', 9: 'bytes', 10: 'ri64',
      11: 'rvarint', 12: 'bytes', 13: { msg: 'StringEntry' }, 14: 'varint', 16: { msg: 'StringEntry' },
    },
  },
  ValueInfo: { strict: false, fields: { 1: 'bytes', 2: 'bytes', 3: 'bytes', 4: { msg: 'StringEntry' } } },
  OpsetId: { strict: false, fields: { 1: 'bytes', 2: 'varint' } },
  StringEntry: { strict: false, fields: { 1: 'bytes', 2: 'bytes' } },
};

/** Highest ModelProto.ir_version we treat as plausible (ONNX 1.18 writes 11). */
export const MAX_IR_VERSION = 15;
/** Sub-graphs nest (If/Loop bodies); real models stay far below this. */
const MAX_DEPTH = 24;

export class WireError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
    /** The bytes stop where the structure says more must follow (a cut file), rather than being garbled. */
    readonly truncated = false,
  ) {
    super(`${reason} at byte ${offset}`);
    this.name = 'WireError';
  }
}

interface Frame {
  schema: MessageSchema;
  name: MessageName;
  /** Absolute offset where this message ends. */
  end: number;
}

type State = 'tag' | 'varint' | 'len' | 'skip' | 'fixed';

/** What the walker has seen so far. */
export interface WalkSummary {
  /** Bytes consumed. */
  offset: number;
  irVersion: number | undefined;
  hasGraph: boolean;
  opsetImports: number;
  /** Fields checked at any depth. */
  fields: number;
  /** Deepest message level entered (0 = ModelProto). */
  maxDepth: number;
}

/**
 * Walks a ModelProto of known total size. `push` throws WireError on the first malformed byte;
 * `finish` throws unless the message ended cleanly with ir_version, graph and opset_import present.
 */
export class ModelProtoWalker {
  private offset = 0;
  private state: State = 'tag';
  private readonly stack: Frame[];
  // current field
  private fieldNo = 0;
  private fieldStart = 0;
  private kind: FieldKind = 'varint';
  private varValue = 0; // exact below 2^53; larger values only need to be "large"
  private varShift = 0;
  private varBytes = 0;
  private remaining = 0;
  private irVersion: number | undefined;
  private hasGraph = false;
  private opsetImports = 0;
  private fields = 0;
  private maxDepth = 0;

  /** Total bytes of the ModelProto; omitted when streaming from a source of unknown size. */
  readonly total: number;

  constructor(total?: number) {
    this.total = total ?? Number.POSITIVE_INFINITY;
    this.stack = [{ schema: SCHEMAS.Model, name: 'Model', end: this.total }];
  }

  summary(): WalkSummary {
    return { offset: this.offset, irVersion: this.irVersion, hasGraph: this.hasGraph, opsetImports: this.opsetImports, fields: this.fields, maxDepth: this.maxDepth };
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    if (this.offset + n > this.total) throw new WireError(this.total, 'more bytes than the declared size');
    while (i < n) {
      if (this.state === 'skip') {
        const take = Math.min(this.remaining, n - i);
        i += take;
        this.offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.endField();
        continue;
      }
      const b = chunk[i] as number;
      i++;
      this.offset++;
      if (this.state === 'fixed') {
        if (--this.remaining === 0) this.endField();
        continue;
      }
      // tag, varint and len states all read a varint
      if (this.varBytes === 0 && this.state === 'tag') this.fieldStart = this.offset - 1;
      this.varBytes++;
      if (this.varBytes > 10) throw new WireError(this.offset - 1, 'varint longer than 10 bytes');
      this.varValue += (b & 0x7f) * 2 ** this.varShift;
      this.varShift += 7;
      if (b & 0x80) continue;
      const value = this.varValue;
      this.varValue = 0;
      this.varShift = 0;
      this.varBytes = 0;
      if (this.state === 'tag') this.onTag(value);
      else if (this.state === 'varint') this.onVarint(value);
      else this.onLength(value);
    }
  }

  /** Throws unless the whole message was walked and ModelProto's required fields were present. */
  finish(): WalkSummary {
    if (Number.isFinite(this.total) && this.offset !== this.total) throw new WireError(this.offset, `ended after ${this.offset} of ${this.total} bytes`, true);
    if (this.state !== 'tag' || this.varBytes !== 0 || this.stack.length !== 1) throw new WireError(this.offset, 'message ends in the middle of a field', true);
    if (this.irVersion === undefined) throw new WireError(this.offset, 'ModelProto has no ir_version');
    if (!this.hasGraph) throw new WireError(this.offset, 'ModelProto has no graph');
    // Required since IR 3; its absence is also how a file cut right after the graph shows.
    if (this.opsetImports === 0) throw new WireError(this.offset, 'ModelProto has no opset_import');
    return this.summary();
  }

  private top(): Frame {
    return this.stack[this.stack.length - 1] as Frame;
  }

  private onTag(tag: number): void {
    const fieldNo = Math.floor(tag / 8);
    const wire = tag % 8;
    const frame = this.top();
    if (fieldNo === 0 || fieldNo > 536_870_911) throw new WireError(this.fieldStart, `invalid field number ${fieldNo} in ${frame.name}Proto`);
    const known = frame.schema.fields[fieldNo];
    if (known === undefined && frame.schema.strict) throw new WireError(this.fieldStart, `field ${fieldNo} is not defined in ${frame.name}Proto`);
    let kind: FieldKind;
    if (known === undefined) {
      // Unknown fields of nested messages are legal protobuf (a newer onnx.proto); groups are not.
      if (wire === 0) kind = 'varint';
      else if (wire === 1) kind = 'ri64';
      else if (wire === 2) kind = 'bytes';
      else if (wire === 5) kind = 'i32';
      else throw new WireError(this.fieldStart, `wire type ${wire} (field ${fieldNo}) in ${frame.name}Proto`);
    } else {
      kind = known;
      if (!wireMatches(known, wire)) throw new WireError(this.fieldStart, `field ${fieldNo} of ${frame.name}Proto has wire type ${wire}`);
    }
    this.fieldNo = fieldNo;
    this.kind = kind;
    this.fields++;
    if (wire === 0) this.state = 'varint';
    else if (wire === 2) this.state = 'len';
    else {
      this.state = 'fixed';
      this.remaining = wire === 1 ? 8 : 4;
    }
  }

  private onVarint(value: number): void {
    const frame = this.top();
    if (frame.name === 'Model' && this.fieldNo === 1) {
      if (value < 1 || value > MAX_IR_VERSION) throw new WireError(this.fieldStart, `implausible ir_version ${value}`);
      this.irVersion = value;
    }
    if (frame.name === 'OpsetId' && this.fieldNo === 2 && (value < 1 || value > 100_000)) throw new WireError(this.fieldStart, `implausible opset version ${value}`);
    this.endField();
  }

  private onLength(len: number): void {
    const frame = this.top();
    if (this.offset + len > frame.end) {
      throw new WireError(this.fieldStart, `field ${this.fieldNo} of ${frame.name}Proto claims ${len} bytes but only ${frame.end - this.offset} remain`, this.stack.length === 1);
    }
    const kind = this.kind;
    if (frame.name === 'Model') {
      if (this.fieldNo === 7) {
        if (this.hasGraph) throw new WireError(this.fieldStart, 'ModelProto has two graphs');
        this.hasGraph = true;
      } else if (this.fieldNo === 8) this.opsetImports++;
      // producer_name/version and domain are short strings in every exporter we know.
      else if (this.fieldNo >= 2 && this.fieldNo <= 4 && len > 4096) throw new WireError(this.fieldStart, `implausible ${len}-byte string in field ${this.fieldNo}`);
    }
    if (typeof kind === 'object') {
      if (this.stack.length > MAX_DEPTH) throw new WireError(this.fieldStart, 'sub-messages nested too deep');
      this.stack.push({ schema: SCHEMAS[kind.msg], name: kind.msg, end: this.offset + len });
      this.maxDepth = Math.max(this.maxDepth, this.stack.length - 1);
      this.state = 'tag';
      this.popFinished();
      return;
    }
    if (kind === 'ri32' && len % 4 !== 0) throw new WireError(this.fieldStart, `packed float field ${this.fieldNo} has ${len} bytes (not a multiple of 4)`);
    if (kind === 'ri64' && len % 8 !== 0) throw new WireError(this.fieldStart, `packed 64-bit field ${this.fieldNo} has ${len} bytes (not a multiple of 8)`);
    if (len === 0) this.endField();
    else {
      this.state = 'skip';
      this.remaining = len;
    }
  }

  private endField(): void {
    this.state = 'tag';
    this.popFinished();
  }

  /** Leave every sub-message whose end we have reached; overshooting one means corrupt lengths. */
  private popFinished(): void {
    for (;;) {
      const frame = this.top();
      if (this.stack.length === 1) {
        if (this.offset > frame.end) throw new WireError(this.fieldStart, 'field runs past the end of the model');
        return;
      }
      if (this.offset < frame.end) return;
      if (this.offset > frame.end) throw new WireError(this.fieldStart, `field runs past the end of its ${frame.name}Proto`);
      this.stack.pop();
    }
  }
}

function wireMatches(kind: FieldKind, wire: number): boolean {
  if (typeof kind === 'object' || kind === 'bytes') return wire === 2;
  switch (kind) {
    case 'varint':
      return wire === 0;
    case 'i32':
      return wire === 5;
    case 'rvarint':
      return wire === 0 || wire === 2;
    case 'ri32':
      return wire === 5 || wire === 2;
    case 'ri64':
      return wire === 1 || wire === 2;
  }
}

/** Walk a whole in-memory ModelProto; throws WireError. */
export function walkModelProto(bytes: Uint8Array): WalkSummary {
  const w = new ModelProtoWalker(bytes.length);
  w.push(bytes);
  return w.finish();
}

/**
 * Does this prefix of a `total`-byte payload start like a ModelProto? Used on the first decrypted
 * blocks: a wrong key gives random bytes, which fail within a few fields. We ask for a valid
 * ir_version, or (for an exporter that writes it late) a long run of well-formed structure.
 */
export type PrefixVerdict =
  | { ok: true; summary: WalkSummary }
  | { ok: false; reason: string; offset: number; truncated: boolean; summary: WalkSummary };

export function prefixLooksLikeModel(prefix: Uint8Array, total: number): PrefixVerdict {
  const w = new ModelProtoWalker(total);
  try {
    w.push(prefix);
    if (prefix.length === total) w.finish();
  } catch (e) {
    if (e instanceof WireError) return { ok: false, reason: e.reason, offset: e.offset, truncated: e.truncated, summary: w.summary() };
    throw e;
  }
  const s = w.summary();
  if (s.irVersion !== undefined) return { ok: true, summary: s };
  if (s.fields >= 16 && s.maxDepth >= 2) return { ok: true, summary: s };
  return { ok: false, reason: 'no ir_version in the first bytes', offset: 0, truncated: false, summary: s };
}
