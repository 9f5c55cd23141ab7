import { StudioError } from '../../../shared/errors.js';
import { DataType, elemTypeBits, elemTypeName, rawByteLength } from './elemtypes.js';
import { int64ToBigInt, int64ToNumber, type Int64 } from './int64.js';
import { onnx } from './generated/onnx.js';

type TensorLike = onnx.TensorProto.$Properties;

/** Typed arrays makeTensor accepts; the element type follows the array unless overridden. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

// raw_data is little-endian; we copy typed-array bytes as they are, so the host must be LE too.
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function defaultType(data: TensorData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int16Array) return DataType.INT16;
  if (data instanceof Uint16Array) return DataType.UINT16;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof Uint32Array) return DataType.UINT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  return DataType.UINT64;
}

/**
 * An initializer / constant tensor with its bytes copied into raw_data.
 * `dataType` overrides the element type for same-width storage: Uint8Array as BOOL, Uint16Array as
 * FLOAT16/BFLOAT16 bit patterns, Uint8Array as packed INT4/UINT4/FLOAT4E2M1 or a FLOAT8 type.
 */
export function makeTensor(name: string, dims: readonly number[], data: TensorData, dataType?: number): onnx.TensorProto {
  if (!HOST_LE) throw new Error('makeTensor: big-endian hosts are not supported');
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`makeTensor(${name}): bad dimension ${d}`);
  }
  const type = dataType ?? defaultType(data);
  const count = dims.reduce((a, b) => a * b, 1);
  const want = rawByteLength(type, count);
  if (elemTypeBits(type) === 0) throw new RangeError(`makeTensor(${name}): cannot store ${elemTypeName(type)} in raw_data`);
  if (data.byteLength !== want) {
    throw new RangeError(`makeTensor(${name}): ${count} ${elemTypeName(type)} elements need ${want} bytes, got ${data.byteLength}`);
  }
  // A plain Uint8Array over the same bytes, then slice() = a copy (Buffer.slice would not copy).
  const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: type, rawData });
}

/** A 0-d (scalar) float32 / int64 tensor, the usual shape of Q/DQ scales and zero points. */
export function makeScalar(name: string, value: number, dataType: number = DataType.FLOAT): onnx.TensorProto {
  switch (dataType) {
    case DataType.FLOAT:
      return makeTensor(name, [], Float32Array.of(value));
    case DataType.INT64:
      return makeTensor(name, [], BigInt64Array.of(BigInt(value)));
    case DataType.INT32:
      return makeTensor(name, [], Int32Array.of(value));
    case DataType.INT8:
      return makeTensor(name, [], Int8Array.of(value));
    case DataType.UINT8:
      return makeTensor(name, [], Uint8Array.of(value));
    default:
      throw new RangeError(`makeScalar(${name}): unsupported type ${elemTypeName(dataType)}`);
  }
}

/** Dimensions as numbers (throws if one exceeds 2^53, which no real tensor does). */
export function tensorDims(t: TensorLike): number[] {
  return (t.dims ?? []).map((d: Int64) => int64ToNumber(d, `dimension of tensor '${t.name ?? ''}'`));
}

export function tensorElementCount(t: TensorLike): number {
  return tensorDims(t).reduce((a, b) => a * b, 1);
}

export function isExternalTensor(t: TensorLike): boolean {
  return t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
}

/** The external_data entries as a record (location, offset, length, checksum). */
export function externalDataInfo(t: TensorLike): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of t.externalData ?? []) out[e.key ?? ''] = e.value ?? '';
  return out;
}

function invalid(t: TensorLike, what: string): StudioError {
  return new StudioError('E_ONNX_INVALID', `Tensor '${t.name ?? ''}' (${elemTypeName(t.dataType)}): ${what}.`, 'The model file is damaged or was written by a buggy exporter; re-export it.');
}

/** An aligned copy of raw_data (raw_data is a view into the model buffer and may sit at any offset). */
function alignedRaw(t: TensorLike, count: number): ArrayBuffer {
  const raw = t.rawData ?? new Uint8Array(0);
  const want = rawByteLength(t.dataType ?? 0, count);
  if (raw.byteLength !== want) throw invalid(t, `raw_data has ${raw.byteLength} bytes, expected ${want} for ${count} elements`);
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return copy.buffer;
}

function expectCount(t: TensorLike, got: number, count: number, field: string): void {
  if (got !== count) throw invalid(t, `${field} has ${got} values, expected ${count}`);
}

/** IEEE 754 half (as its 16 bits) to a JS number. */
export function float16ToFloat32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function bfloat16ToFloat32(b: number): number {
  const u = new Uint32Array([(b & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0] ?? 0;
}

/**
 * The tensor's values as a new Float32Array, from raw_data or the typed *_data field, for the
 * numeric types (float/double/half/bfloat16, 8–64-bit ints, bool, int4/uint4).
 * @throws StudioError E_ONNX_EXTERNAL_DATA for external tensors, E_ONNX_INVALID on size mismatch.
 */
export function tensorToFloat32(t: TensorLike): Float32Array {
  if (isExternalTensor(t)) {
    throw new StudioError(
      'E_ONNX_EXTERNAL_DATA',
      `Tensor '${t.name ?? ''}' keeps its data in an external file (${externalDataInfo(t)['location'] ?? '?'}).`,
      'Load the external data first (resolveExternalData) or convert the model to a single file.',
    );
  }
  if (!HOST_LE) throw new Error('tensorToFloat32: big-endian hosts are not supported');
  const count = tensorElementCount(t);
  const type = t.dataType ?? 0;
  const hasRaw = (t.rawData?.byteLength ?? 0) > 0 || (count === 0 && t.rawData !== undefined);
  const int32Data = t.int32Data ?? [];
  switch (type) {
    case DataType.FLOAT: {
      if (hasRaw) return new Float32Array(alignedRaw(t, count));
      expectCount(t, t.floatData?.length ?? 0, count, 'float_data');
      return Float32Array.from(t.floatData ?? []);
    }
    case DataType.DOUBLE: {
      if (hasRaw) return Float32Array.from(new Float64Array(alignedRaw(t, count)));
      expectCount(t, t.doubleData?.length ?? 0, count, 'double_data');
      return Float32Array.from(t.doubleData ?? []);
    }
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.INT32: {
      if (hasRaw) {
        const buf = alignedRaw(t, count);
        const view =
          type === DataType.INT8 ? new Int8Array(buf)
          : type === DataType.INT16 ? new Int16Array(buf)
          : type === DataType.UINT16 ? new Uint16Array(buf)
          : type === DataType.INT32 ? new Int32Array(buf)
          : new Uint8Array(buf);
        return Float32Array.from(view);
      }
      expectCount(t, int32Data.length, count, 'int32_data');
      return Float32Array.from(int32Data);
    }
    case DataType.FLOAT16:
    case DataType.BFLOAT16: {
      const conv = type === DataType.FLOAT16 ? float16ToFloat32 : bfloat16ToFloat32;
      const bits = hasRaw ? new Uint16Array(alignedRaw(t, count)) : Uint16Array.from(int32Data);
      if (!hasRaw) expectCount(t, int32Data.length, count, 'int32_data');
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = conv(bits[i] ?? 0);
      return out;
    }
    case DataType.INT64: {
      if (hasRaw) return Float32Array.from(new BigInt64Array(alignedRaw(t, count)), (v) => Number(v));
      expectCount(t, t.int64Data?.length ?? 0, count, 'int64_data');
      return Float32Array.from(t.int64Data ?? [], (v: Int64) => Number(int64ToBigInt(v)));
    }
    case DataType.UINT32: {
      if (hasRaw) return Float32Array.from(new Uint32Array(alignedRaw(t, count)));
      expectCount(t, t.uint64Data?.length ?? 0, count, 'uint64_data');
      return Float32Array.from(t.uint64Data ?? [], (v: Int64) => Number(int64ToBigInt(v)));
    }
    case DataType.UINT64: {
      if (hasRaw) return Float32Array.from(new BigUint64Array(alignedRaw(t, count)), (v) => Number(v));
      expectCount(t, t.uint64Data?.length ?? 0, count, 'uint64_data');
      return Float32Array.from(t.uint64Data ?? [], (v: Int64) => Number(BigInt.asUintN(64, int64ToBigInt(v))));
    }
    case DataType.INT4:
    case DataType.UINT4: {
      const packed = hasRaw ? new Uint8Array(alignedRaw(t, count)) : Uint8Array.from(int32Data);
      if (!hasRaw) expectCount(t, int32Data.length, Math.ceil(count / 2), 'int32_data');
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const nib = ((packed[i >> 1] ?? 0) >> ((i & 1) * 4)) & 0xf;
        out[i] = type === DataType.INT4 && nib >= 8 ? nib - 16 : nib;
      }
      return out;
    }
    default:
      throw invalid(t, 'cannot be converted to float32 (unsupported element type)');
  }
}
