/**
 * ONNX element types (TensorProto.DataType): numbers from onnx.proto, the names we show (numpy /
 * onnxruntime style, e.g. 'float32') and the storage width in bits of one element in raw_data.
 */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;

export type DataTypeName = keyof typeof DataType;
export type DataTypeValue = (typeof DataType)[DataTypeName];

interface ElemInfo {
  name: string;
  /** Bits per element in raw_data (0 = variable, i.e. strings). */
  bits: number;
}

const INFO: Readonly<Record<number, ElemInfo>> = {
  0: { name: 'undefined', bits: 0 },
  1: { name: 'float32', bits: 32 },
  2: { name: 'uint8', bits: 8 },
  3: { name: 'int8', bits: 8 },
  4: { name: 'uint16', bits: 16 },
  5: { name: 'int16', bits: 16 },
  6: { name: 'int32', bits: 32 },
  7: { name: 'int64', bits: 64 },
  8: { name: 'string', bits: 0 },
  9: { name: 'bool', bits: 8 },
  10: { name: 'float16', bits: 16 },
  11: { name: 'float64', bits: 64 },
  12: { name: 'uint32', bits: 32 },
  13: { name: 'uint64', bits: 64 },
  14: { name: 'complex64', bits: 64 },
  15: { name: 'complex128', bits: 128 },
  16: { name: 'bfloat16', bits: 16 },
  17: { name: 'float8e4m3fn', bits: 8 },
  18: { name: 'float8e4m3fnuz', bits: 8 },
  19: { name: 'float8e5m2', bits: 8 },
  20: { name: 'float8e5m2fnuz', bits: 8 },
  21: { name: 'uint4', bits: 4 },
  22: { name: 'int4', bits: 4 },
  23: { name: 'float4e2m1', bits: 4 },
  24: { name: 'float8e8m0', bits: 8 },
  25: { name: 'uint2', bits: 2 },
  26: { name: 'int2', bits: 2 },
};

/** 'float32' for 1, …; unknown numbers give 'unknown(<n>)' so newer files still display. */
export function elemTypeName(t: number | null | undefined): string {
  const info = INFO[t ?? 0];
  return info ? info.name : `unknown(${t})`;
}

/** The DataType number for a name from elemTypeName (or an onnx.proto enum name); undefined if unknown. */
export function elemTypeFromName(name: string): number | undefined {
  for (const [k, v] of Object.entries(INFO)) if (v.name === name) return Number(k);
  const upper = name.toUpperCase();
  if (Object.prototype.hasOwnProperty.call(DataType, upper)) return DataType[upper as DataTypeName];
  return undefined;
}

/** Bits per element in raw_data; 0 for strings and unknown types. */
export function elemTypeBits(t: number): number {
  return INFO[t]?.bits ?? 0;
}

/** Bytes of raw_data for `count` elements (sub-byte types are packed, rounding up). */
export function rawByteLength(t: number, count: number): number {
  const bits = elemTypeBits(t);
  return Math.ceil((bits * count) / 8);
}

export function isFloatType(t: number): boolean {
  return t === DataType.FLOAT || t === DataType.FLOAT16 || t === DataType.DOUBLE || t === DataType.BFLOAT16;
}
