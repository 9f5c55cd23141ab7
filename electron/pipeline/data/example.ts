import { StudioError } from '../../../shared/errors.js';

/**
 * tf.train.Example decoded and encoded by hand from the protobuf wire format
 * (tensorflow/core/example/example.proto, feature.proto):
 *
 *   Example      { Features features = 1; }
 *   Features     { map<string, Feature> feature = 1; }   // wire: repeated entry { string key = 1; Feature value = 2; }
 *   Feature      { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
 *   BytesList    { repeated bytes value = 1; }
 *   FloatList    { repeated float value = 1 [packed = true]; }   // 4-byte LE floats
 *   Int64List    { repeated int64 value = 1 [packed = true]; }   // varints, negatives take 10 bytes
 *
 * The decoder follows protobuf parsing rules: packed and unpacked repeated scalars are both
 * accepted (and may be mixed), a repeated message field merges (lists concatenate), a later map
 * entry with the same key wins, a later oneof member replaces an earlier one, and unknown fields
 * of every wire type are skipped. An entry whose Feature has no kind set is left out of the map.
 * Bytes values are views into the record buffer, not copies.
 */

export type FeatureValue =
  | { kind: 'bytes'; value: Uint8Array[] }
  | { kind: 'float'; value: Float32Array }
  | { kind: 'int64'; value: bigint[] };

/** What {@link encodeExample} accepts: numbers are converted, strings are UTF-8 encoded. */
export type FeatureInput =
  | { kind: 'bytes'; value: readonly (Uint8Array | string)[] }
  | { kind: 'float'; value: Float32Array | readonly number[] }
  | { kind: 'int64'; value: readonly (bigint | number)[] };

export type ExampleFeatures = Map<string, FeatureValue>;

export interface ExampleLocation {
  file?: string;
  /** File offset of the record's first data byte, so errors point into the file. */
  dataOffset?: number;
}

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_SGROUP = 3;
const WT_EGROUP = 4;
const WT_I32 = 5;

const utf8 = new TextDecoder('utf-8');
const utf8enc = new TextEncoder();

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    private readonly loc: ExampleLocation,
  ) {
    this.pos = start;
  }

  get eof(): boolean {
    return this.pos >= this.end;
  }

  fail(what: string, at = this.pos): StudioError {
    const base = this.loc.dataOffset ?? 0;
    const location: { file?: string; offset: number } = { offset: base + at };
    if (this.loc.file !== undefined) location.file = this.loc.file;
    return new StudioError(
      'E_TFRECORD_EXAMPLE',
      `malformed tf.train.Example: ${what} at byte ${at} of the record`,
      'The record passed its checksum but is not a valid tf.train.Example (it may be a SequenceExample or another message). Check that the TFRecords were written by mask_rcnn dataset_convert or an equivalent converter.',
      location,
      { details: { byteInRecord: at } },
    );
  }

  /** A varint as two 32-bit halves; at most 10 bytes. */
  varint64(): [lo: number, hi: number] {
    const start = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.fail('varint runs past the end', start);
      const b = this.buf[this.pos++] as number;
      const shift = 7 * i;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    throw this.fail('varint longer than 10 bytes', start);
  }

  /** A varint used as a tag or length: must fit a safe integer. */
  uint(): number {
    const at = this.pos;
    const [lo, hi] = this.varint64();
    if (hi >= 2 ** 21) throw this.fail('length or tag out of range', at);
    return hi * 2 ** 32 + lo;
  }

  tag(): { field: number; wire: number; at: number } {
    const at = this.pos;
    const t = this.uint();
    const field = Math.floor(t / 8);
    if (field === 0) throw this.fail('field number 0', at);
    return { field, wire: t % 8, at };
  }

  /** A length-delimited field's [start, end) after its tag. */
  span(): [number, number] {
    const at = this.pos;
    const len = this.uint();
    if (len > this.end - this.pos) throw this.fail(`length ${len} runs past the end of its message`, at);
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  sub(span: [number, number]): Reader {
    return new Reader(this.buf, span[0], span[1], this.loc);
  }

  skip(field: number, wire: number, at: number, depth = 0): void {
    switch (wire) {
      case WT_VARINT:
        this.varint64();
        return;
      case WT_I64:
        this.advance(8, at);
        return;
      case WT_I32:
        this.advance(4, at);
        return;
      case WT_LEN:
        this.span();
        return;
      case WT_SGROUP: {
        if (depth > 64) throw this.fail('groups nested too deeply', at);
        for (;;) {
          if (this.eof) throw this.fail('unterminated group', at);
          const t = this.tag();
          if (t.wire === WT_EGROUP) {
            if (t.field !== field) throw this.fail('mismatched end-group', t.at);
            return;
          }
          this.skip(t.field, t.wire, t.at, depth + 1);
        }
      }
      default:
        throw this.fail(`invalid wire type ${wire}`, at);
    }
  }

  private advance(n: number, at: number): void {
    if (this.end - this.pos < n) throw this.fail('fixed-size field runs past the end', at);
    this.pos += n;
  }
}

function concatFloats(parts: Float32Array[], total: number): Float32Array {
  if (parts.length === 1) return parts[0] as Float32Array;
  const out = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function readFloatList(r: Reader, parts: Float32Array[]): number {
  let n = 0;
  while (!r.eof) {
    const t = r.tag();
    if (t.field === 1 && t.wire === WT_LEN) {
      const [s, e] = r.span();
      if ((e - s) % 4 !== 0) throw r.fail(`packed float list of ${e - s} bytes is not a multiple of 4`, t.at);
      const dv = new DataView(r.buf.buffer, r.buf.byteOffset + s, e - s);
      const out = new Float32Array((e - s) / 4);
      for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
      parts.push(out);
      n += out.length;
    } else if (t.field === 1 && t.wire === WT_I32) {
      if (r.end - r.pos < 4) throw r.fail('float runs past the end', t.at);
      const dv = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, 4);
      parts.push(new Float32Array([dv.getFloat32(0, true)]));
      r.pos += 4;
      n += 1;
    } else if (t.field === 1) {
      throw r.fail(`float list value has wire type ${t.wire}`, t.at);
    } else r.skip(t.field, t.wire, t.at);
  }
  return n;
}

function int64Of(r: Reader): bigint {
  const [lo, hi] = r.varint64();
  if (hi === 0) return BigInt(lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

function readInt64List(r: Reader, out: bigint[]): void {
  while (!r.eof) {
    const t = r.tag();
    if (t.field === 1 && t.wire === WT_LEN) {
      const p = r.sub(r.span());
      while (!p.eof) out.push(int64Of(p));
    } else if (t.field === 1 && t.wire === WT_VARINT) {
      out.push(int64Of(r));
    } else if (t.field === 1) {
      throw r.fail(`int64 list value has wire type ${t.wire}`, t.at);
    } else r.skip(t.field, t.wire, t.at);
  }
}

function readBytesList(r: Reader, out: Uint8Array[]): void {
  while (!r.eof) {
    const t = r.tag();
    if (t.field === 1 && t.wire === WT_LEN) {
      const [s, e] = r.span();
      out.push(r.buf.subarray(s, e));
    } else if (t.field === 1) {
      throw r.fail(`bytes list value has wire type ${t.wire}`, t.at);
    } else r.skip(t.field, t.wire, t.at);
  }
}

/** Feature message; `prev` is the value an earlier occurrence in the same entry produced. */
function readFeature(r: Reader, prev: FeatureValue | undefined): FeatureValue | undefined {
  let cur = prev;
  while (!r.eof) {
    const t = r.tag();
    if (t.field >= 1 && t.field <= 3 && t.wire !== WT_LEN) throw r.fail(`Feature field ${t.field} has wire type ${t.wire}`, t.at);
    if (t.field === 1) {
      const list = cur?.kind === 'bytes' ? cur.value : [];
      readBytesList(r.sub(r.span()), list);
      cur = { kind: 'bytes', value: list };
    } else if (t.field === 2) {
      const parts = cur?.kind === 'float' && cur.value.length > 0 ? [cur.value] : [];
      const before = cur?.kind === 'float' ? cur.value.length : 0;
      const added = readFloatList(r.sub(r.span()), parts);
      cur = { kind: 'float', value: parts.length === 0 ? new Float32Array(0) : concatFloats(parts, before + added) };
    } else if (t.field === 3) {
      const list = cur?.kind === 'int64' ? cur.value : [];
      readInt64List(r.sub(r.span()), list);
      cur = { kind: 'int64', value: list };
    } else r.skip(t.field, t.wire, t.at);
  }
  return cur;
}

function readEntry(r: Reader, into: ExampleFeatures): void {
  let key = '';
  let value: FeatureValue | undefined;
  while (!r.eof) {
    const t = r.tag();
    if (t.field === 1 && t.wire === WT_LEN) {
      const [s, e] = r.span();
      key = utf8.decode(r.buf.subarray(s, e));
    } else if (t.field === 2 && t.wire === WT_LEN) {
      value = readFeature(r.sub(r.span()), value);
    } else if (t.field === 1 || t.field === 2) {
      throw r.fail(`map entry field ${t.field} has wire type ${t.wire}`, t.at);
    } else r.skip(t.field, t.wire, t.at);
  }
  if (value) into.set(key, value);
  else into.delete(key);
}

/** Decodes a serialized tf.train.Example; throws E_TFRECORD_EXAMPLE with the byte offset on malformed input. */
export function decodeExample(bytes: Uint8Array, loc: ExampleLocation = {}): ExampleFeatures {
  const map: ExampleFeatures = new Map();
  const r = new Reader(bytes, 0, bytes.length, loc);
  while (!r.eof) {
    const t = r.tag();
    if (t.field === 1 && t.wire === WT_LEN) {
      const f = r.sub(r.span());
      while (!f.eof) {
        const e = f.tag();
        if (e.field === 1 && e.wire === WT_LEN) readEntry(f.sub(f.span()), map);
        else if (e.field === 1) throw f.fail(`Features entry has wire type ${e.wire}`, e.at);
        else f.skip(e.field, e.wire, e.at);
      }
    } else if (t.field === 1) {
      throw r.fail(`Example.features has wire type ${t.wire}`, t.at);
    } else r.skip(t.field, t.wire, t.at);
  }
  return map;
}

// ---------------------------------------------------------------------------------------------
// Encoding (packed floats and int64s, as TensorFlow writes them)

class Writer {
  private buf = new Uint8Array(256);
  len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  varint(v: bigint | number): void {
    let x = typeof v === 'bigint' ? BigInt.asUintN(64, v) : v >= 0 && v < 2 ** 31 ? v : BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    if (typeof x === 'number') {
      while (x >= 0x80) {
        this.buf[this.len++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
      this.buf[this.len++] = x;
      return;
    }
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** field tag + length-delimited content. */
  field(field: number, content: Uint8Array): void {
    this.varint(field * 8 + WT_LEN);
    this.bytes(content);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function encodeFeature(f: FeatureInput): Uint8Array {
  const list = new Writer();
  if (f.kind === 'bytes') {
    for (const v of f.value) list.field(1, typeof v === 'string' ? utf8enc.encode(v) : v);
  } else if (f.kind === 'float') {
    if (f.value.length > 0) {
      const packed = new Uint8Array(f.value.length * 4);
      const dv = new DataView(packed.buffer);
      for (let i = 0; i < f.value.length; i++) dv.setFloat32(i * 4, f.value[i] as number, true);
      list.field(1, packed);
    }
  } else if (f.value.length > 0) {
    const packed = new Writer();
    for (const v of f.value) {
      if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`int64 feature value ${v} is not a safe integer`);
      packed.varint(v);
    }
    list.field(1, packed.finish());
  }
  const feature = new Writer();
  feature.field(f.kind === 'bytes' ? 1 : f.kind === 'float' ? 2 : 3, list.finish());
  return feature.finish();
}

/** Serializes features as a tf.train.Example (entries in insertion order). */
export function encodeExample(features: ReadonlyMap<string, FeatureInput> | Readonly<Record<string, FeatureInput>>): Uint8Array {
  const entries = features instanceof Map ? [...features.entries()] : Object.entries(features);
  const feats = new Writer();
  for (const [key, f] of entries) {
    const entry = new Writer();
    entry.field(1, utf8enc.encode(key));
    entry.field(2, encodeFeature(f));
    feats.field(1, entry.finish());
  }
  const ex = new Writer();
  ex.field(1, feats.finish());
  return ex.finish();
}

// ---------------------------------------------------------------------------------------------
// TAO / TF Object Detection keys

/** The keys `mask_rcnn dataset_convert` writes (COCO → TFRecord), read with their types checked. */
export interface TaoExample {
  /** image/encoded: the original JPEG/PNG file bytes (detect the format from magic bytes, not image/format). */
  encoded: Uint8Array;
  height?: number;
  width?: number;
  filename?: string;
  sourceId?: string;
  sha256?: string;
  /** image/format: TAO always writes "jpeg", even for PNG input. */
  format?: string;
  /** Normalized [0,1] box corners, one entry per object (present only when all four agree in length). */
  boxes?: { xmin: Float32Array; ymin: Float32Array; xmax: Float32Array; ymax: Float32Array };
  /** image/object/class/label: raw COCO category ids. */
  classLabels?: number[];
  classText?: string[];
  isCrowd?: number[];
  area?: Float32Array;
  /** image/object/mask: one PNG per object. */
  masks?: Uint8Array[];
}

export type TaoExampleResult = { ok: true; example: TaoExample } | { ok: false; reason: 'no image/encoded'; detail: string };

export const TAO_KEYS = {
  encoded: 'image/encoded',
  height: 'image/height',
  width: 'image/width',
  filename: 'image/filename',
  sourceId: 'image/source_id',
  sha256: 'image/key/sha256',
  format: 'image/format',
  xmin: 'image/object/bbox/xmin',
  ymin: 'image/object/bbox/ymin',
  xmax: 'image/object/bbox/xmax',
  ymax: 'image/object/bbox/ymax',
  classLabel: 'image/object/class/label',
  classText: 'image/object/class/text',
  isCrowd: 'image/object/is_crowd',
  area: 'image/object/area',
  mask: 'image/object/mask',
} as const;

function bytesOf(m: ExampleFeatures, key: string): Uint8Array[] | undefined {
  const f = m.get(key);
  return f?.kind === 'bytes' ? f.value : undefined;
}
function floatsOf(m: ExampleFeatures, key: string): Float32Array | undefined {
  const f = m.get(key);
  return f?.kind === 'float' ? f.value : undefined;
}
function intsOf(m: ExampleFeatures, key: string): number[] | undefined {
  const f = m.get(key);
  return f?.kind === 'int64' ? f.value.map(Number) : undefined;
}
function text(b: Uint8Array[] | undefined): string | undefined {
  return b && b.length === 1 ? utf8.decode(b[0]) : undefined;
}

/**
 * Typed view of a decoded Example with TAO's keys. Only image/encoded is required (exactly one
 * non-empty bytes value); the other keys are returned when present with the expected type and
 * ignored otherwise, since calibration needs only the image.
 */
export function readTaoExample(m: ExampleFeatures): TaoExampleResult {
  const enc = m.get(TAO_KEYS.encoded);
  if (!enc) return { ok: false, reason: 'no image/encoded', detail: 'the record has no image/encoded feature' };
  if (enc.kind !== 'bytes') return { ok: false, reason: 'no image/encoded', detail: `image/encoded is a ${enc.kind} list, expected bytes` };
  if (enc.value.length !== 1) return { ok: false, reason: 'no image/encoded', detail: `image/encoded holds ${enc.value.length} values, expected 1` };
  const encoded = enc.value[0] as Uint8Array;
  if (encoded.length === 0) return { ok: false, reason: 'no image/encoded', detail: 'image/encoded is empty' };

  const ex: TaoExample = { encoded };
  const h = intsOf(m, TAO_KEYS.height);
  if (h?.length === 1) ex.height = h[0] as number;
  const w = intsOf(m, TAO_KEYS.width);
  if (w?.length === 1) ex.width = w[0] as number;
  const setText = (k: 'filename' | 'sourceId' | 'sha256' | 'format', key: string): void => {
    const v = text(bytesOf(m, key));
    if (v !== undefined) ex[k] = v;
  };
  setText('filename', TAO_KEYS.filename);
  setText('sourceId', TAO_KEYS.sourceId);
  setText('sha256', TAO_KEYS.sha256);
  setText('format', TAO_KEYS.format);
  const [xmin, ymin, xmax, ymax] = [floatsOf(m, TAO_KEYS.xmin), floatsOf(m, TAO_KEYS.ymin), floatsOf(m, TAO_KEYS.xmax), floatsOf(m, TAO_KEYS.ymax)];
  if (xmin && ymin && xmax && ymax && xmin.length === ymin.length && xmin.length === xmax.length && xmin.length === ymax.length) {
    ex.boxes = { xmin, ymin, xmax, ymax };
  }
  const labels = intsOf(m, TAO_KEYS.classLabel);
  if (labels) ex.classLabels = labels;
  const names = bytesOf(m, TAO_KEYS.classText);
  if (names) ex.classText = names.map((b) => utf8.decode(b));
  const crowd = intsOf(m, TAO_KEYS.isCrowd);
  if (crowd) ex.isCrowd = crowd;
  const area = floatsOf(m, TAO_KEYS.area);
  if (area) ex.area = area;
  const masks = bytesOf(m, TAO_KEYS.mask);
  if (masks) ex.masks = masks;
  return { ok: true, example: ex };
}
