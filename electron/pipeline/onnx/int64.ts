import protobuf from 'protobufjs/minimal.js';
// Type only: the generated bindings type int64 fields with long.js's Long (protobufjs' dependency).
import type Long from 'long';

/**
 * How an int64 field looks after decode: the generated codec returns a plain number when the value
 * is a safe integer (|v| < 2^53) and a Long otherwise (e.g. INT64_MAX in Slice 'ends'). Encoding
 * accepts both.
 */
export type Int64 = number | Long;

/** The value as a JS number; throws when it would lose precision. */
export function int64ToNumber(v: Int64 | null | undefined, what = 'int64 value'): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const big = int64ToBigInt(v);
  const n = Number(big);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} ${big} does not fit a JS number`);
  return n;
}

/** The value as a JS number, clamped to ±Number.MAX_SAFE_INTEGER (for sizes and reports). */
export function int64ToNumberClamped(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const big = int64ToBigInt(v);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (big < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(big);
}

/** The exact value as a bigint. */
export function int64ToBigInt(v: Int64 | null | undefined): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(v);
  const lo = BigInt(v.low >>> 0);
  const hi = BigInt(v.high >>> 0);
  const u = (hi << 32n) | lo;
  return v.unsigned ? u : BigInt.asIntN(64, u);
}

/** A value to store in an int64 field: a number when safe, else a Long. */
export function int64FromBigInt(v: bigint, unsigned = false): Int64 {
  if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  const u = BigInt.asUintN(64, v);
  const low = Number(u & 0xffffffffn) | 0;
  const high = Number(u >> 32n) | 0;
  const LongCtor = protobuf.util.Long as unknown as { fromBits(lo: number, hi: number, unsigned: boolean): Long } | undefined;
  if (LongCtor === undefined) throw new Error('protobufjs was loaded without long.js; cannot store a 64-bit integer');
  return LongCtor.fromBits(low, high, unsigned);
}
