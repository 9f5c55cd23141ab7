import protobuf from 'protobufjs/minimal.js';
import { StudioError } from '../../../shared/errors.js';
import { onnx } from './generated/onnx.js';

export { onnx };

// ModelProto fields and their wire types (onnx.proto): used to tell "not ONNX at all" apart from
// "ONNX, but damaged" when decoding fails.
const MODEL_WIRE_TYPES: Readonly<Record<number, number>> = { 1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2 };

export interface DecodeOptions {
  /** File name for error messages. */
  file?: string;
}

/**
 * Parses a serialized ModelProto. Fields this schema does not know (newer ONNX) are kept per
 * message in a non-enumerable `$unknowns: Uint8Array[]` and written back by encodeModel.
 * Byte fields (raw_data, strings) are views into `bytes`: keep `bytes` alive and unmodified while
 * the model is used, or copy what you keep.
 * @throws StudioError E_FILE_EMPTY, E_NOT_ONNX (no ModelProto at all), E_ONNX_INVALID (damaged).
 */
export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): onnx.ModelProto {
  const where = opts.file === undefined ? {} : { file: opts.file };
  if (bytes.length === 0) {
    throw new StudioError('E_FILE_EMPTY', 'The model file is empty.', 'Choose the .onnx file itself; it may not have finished downloading or copying.', where);
  }
  if (!startsLikeModel(bytes)) {
    throw new StudioError(
      'E_NOT_ONNX',
      'This file is not an ONNX model: its first bytes are not a ModelProto field.',
      'Choose an .onnx file, or an .etlt/.tlt with its key. TensorFlow .pb/.hdf5 and TensorRT .engine files are not accepted.',
      { ...where, offset: 0 },
      { details: { firstBytes: hex(bytes.subarray(0, 8)) } },
    );
  }
  const reader = protobuf.Reader.create(bytes);
  reader.discardUnknown = false;
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(reader);
  } catch (err) {
    const offset = reader.pos;
    throw new StudioError(
      'E_ONNX_INVALID',
      `The ONNX model is damaged: protobuf decoding failed near byte ${offset} of ${bytes.length} (${err instanceof Error ? err.message : String(err)}).`,
      'The file is truncated or corrupt. Copy or export it again; compare its size with the original.',
      { ...where, offset },
      { cause: err },
    );
  }
  if (!model.graph) {
    throw new StudioError(
      'E_NOT_ONNX',
      'This file parses as protobuf but holds no ONNX graph (ModelProto.graph is missing).',
      'Choose an exported .onnx model; a bare GraphProto or TensorProto file is not a model.',
      where,
    );
  }
  if (typeof model.irVersion === 'number' && model.irVersion <= 0) {
    throw new StudioError('E_ONNX_INVALID', 'The ONNX model has no ir_version.', 'Re-export the model with a current exporter; ir_version is required.', where);
  }
  return model;
}

/** Serializes a ModelProto (including preserved unknown fields) to bytes. */
export function encodeModel(model: onnx.ModelProto.$Properties): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Decodes any ONNX message type with unknown-field preservation (for tests and tools). */
export function decodeMessage<T>(type: { decode(r: protobuf.Reader): T }, bytes: Uint8Array): T {
  const reader = protobuf.Reader.create(bytes);
  reader.discardUnknown = false;
  return type.decode(reader);
}

/** True when the first tag is a ModelProto field with its declared wire type. */
function startsLikeModel(bytes: Uint8Array): boolean {
  let tag = 0;
  let shift = 0;
  for (let i = 0; i < Math.min(5, bytes.length); i++) {
    const b = bytes[i] ?? 0;
    tag |= (b & 0x7f) << shift;
    if (b < 0x80) {
      const field = tag >>> 3;
      return MODEL_WIRE_TYPES[field] === (tag & 7);
    }
    shift += 7;
  }
  return false;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}
