import { StudioError } from '../../../shared/errors.js';
import type { CalibrationAlgorithm } from '../../../shared/request.js';

/**
 * TensorRT calibration cache (text, despite the usual `.bin` name):
 *
 *   TRT-<version>-<algorithm>\n
 *   <tensor name>: <hex>\n            one line per tensor, in the order given
 *
 * <version> is NV_TENSORRT_VERSION: major·1000 + minor·100 + patch up to 8.x, and
 * major·10000 + minor·100 + patch from 10.x. <hex> is the IEEE-754 float32 bit pattern of the
 * scale (= amax / 127) printed as an unsigned integer: lowercase, no 0x, no padding, zero as `0`.
 */

export type CacheHeaderAlgorithm = 'EntropyCalibration2' | 'MinMaxCalibration';

export interface CacheEntry {
  name: string;
  /** amax / 127 (float32 precision). */
  scale: number;
}

export interface CacheWriteInput {
  /** Target TensorRT version, MAJOR.MINOR.PATCH (e.g. '8.6.1'), or an encoded NV_TENSORRT_VERSION. */
  trtVersion: string | number;
  algorithm: CalibrationAlgorithm;
  entries: readonly CacheEntry[];
  /**
   * Override the header's algorithm. By default every algorithm writes EntropyCalibration2:
   * the header names the calibrator class that must read the cache, not how the scales were
   * found, and trtexec --calib, DeepStream nvinfer and Polygraphy all instantiate an
   * IInt8EntropyCalibrator2 (a MinMaxCalibration header makes them recalibrate).
   */
  headerAlgorithm?: CacheHeaderAlgorithm;
  /** Tensors kept in float: left out of the cache, so TensorRT keeps them in higher precision. */
  floatTensors?: readonly string[];
}

export interface ParsedCacheEntry extends CacheEntry {
  /** The hex text as written (kept so a file can be re-emitted byte for byte). */
  hex: string;
  /** scale · 127. */
  amax: number;
  line: number;
}

export interface ParsedCache {
  header: { version: number; trtVersion: string; algorithm: string };
  entries: ParsedCacheEntry[];
}

/** The calibrator every consumer we point at a cache instantiates (trtexec, nvinfer, Polygraphy). */
export const CONSUMER_HEADER_ALGORITHM: CacheHeaderAlgorithm = 'EntropyCalibration2';

/**
 * The header algorithm for a cache whose scales came from `algorithm`: always the consumers'
 * EntropyCalibration2 (the algorithm is recorded in the provenance file and the report instead).
 */
export function headerAlgorithmFor(_algorithm: CalibrationAlgorithm): CacheHeaderAlgorithm {
  return CONSUMER_HEADER_ALGORITHM;
}

/** amax at or below this (pytorch-quantization's 2^-24) counts as an all-zero tensor. */
export const MIN_AMAX = 2 ** -24;
/**
 * What an all-zero (or vanishing) tensor gets: amax 1, i.e. scale 1/127 (hex 3c010204). Any
 * positive scale quantizes 0 exactly to 0; 1 is the range of a [0, 1] tensor, so values that do
 * appear at deployment keep 7 bits instead of saturating at a tiny scale. A scale of 0 is never
 * written: TensorRT would divide by it.
 */
export const ZERO_TENSOR_AMAX = 1;

/**
 * The one rule from a clip threshold to a written scale: finite, > 0, representable as a
 * positive normal float32. Non-finite (NaN/∞) or negative thresholds give null (the tensor is
 * left out and reported), zero or vanishing ones ZERO_TENSOR_AMAX/127.
 */
export function scaleForAmax(amax: number): number | null {
  if (!Number.isFinite(amax) || amax < 0) return null;
  if (amax <= MIN_AMAX) return Math.fround(ZERO_TENSOR_AMAX / 127);
  const s = Math.fround(amax / 127);
  if (!Number.isFinite(s) || s < 2 ** -126) return Math.fround(ZERO_TENSOR_AMAX / 127);
  return s;
}

/** A scale a cache may hold: finite and > 0 (a float32 normal). */
export function isWritableScale(scale: number): boolean {
  return Number.isFinite(scale) && scale >= 2 ** -126 && Number.isFinite(Math.fround(scale));
}

/** '8.6.1' → 8601, '10.3.0' → 100300, '7.0.0' → 7000. */
export function encodeTrtVersion(version: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new StudioError('E_USAGE', `TensorRT version "${version}" is not MAJOR.MINOR.PATCH`, 'Give the target TensorRT version like 8.6.1.');
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (minor > 99 || patch > 99) {
    throw new StudioError('E_USAGE', `TensorRT version "${version}" cannot be encoded (minor and patch must be < 100)`, 'Give the target TensorRT version like 8.6.1.');
  }
  return major >= 10 ? major * 10000 + minor * 100 + patch : major * 1000 + minor * 100 + patch;
}

/** 8601 → '8.6.1', 100300 → '10.3.0'. */
export function decodeTrtVersion(v: number): string {
  if (v >= 100000) return `${Math.floor(v / 10000)}.${Math.floor((v % 10000) / 100)}.${v % 100}`;
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 100)}.${v % 100}`;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function scaleToHex(scale: number): string {
  if (!Number.isFinite(scale) || scale < 0) throw new RangeError(`scale must be a finite number ≥ 0, got ${scale}`);
  f32[0] = scale === 0 ? 0 : scale; // -0 would print as 80000000
  return u32[0]!.toString(16);
}

export function hexToScale(hex: string): number {
  u32[0] = Number.parseInt(hex, 16);
  return f32[0]!;
}

export function writeCalibrationCache(input: CacheWriteInput): string {
  const version = typeof input.trtVersion === 'number' ? input.trtVersion : encodeTrtVersion(input.trtVersion);
  const algo = input.headerAlgorithm ?? headerAlgorithmFor(input.algorithm);
  const lines = [`TRT-${version}-${algo}`];
  const seen = new Set<string>();
  const keepFloat = new Set(input.floatTensors ?? []);
  for (const e of input.entries) {
    if (keepFloat.has(e.name)) continue;
    if (!isWritableScale(e.scale)) {
      throw new StudioError('E_INTERNAL', `tensor "${e.name}" has scale ${e.scale}, which a calibration cache must not hold`, 'Scales must be finite and > 0 (scaleForAmax); this is a bug in Export Studio, please report it.');
    }
    if (e.name.length === 0 || /[\r\n]/.test(e.name)) {
      throw new StudioError('E_INTERNAL', `tensor name ${JSON.stringify(e.name)} cannot be written to a calibration cache`, 'Tensor names must be non-empty single-line strings.');
    }
    if (seen.has(e.name)) throw new StudioError('E_INTERNAL', `tensor "${e.name}" appears twice in the calibration cache`, 'Each tensor gets one scale.');
    seen.add(e.name);
    lines.push(`${e.name}: ${scaleToHex(e.scale)}`);
  }
  return lines.join('\n') + '\n';
}

function formatError(file: string | undefined, line: number, column: number, text: string, message: string, hint: string): StudioError {
  const excerpt = `${String(line).padStart(5)} | ${text}\n      | ${' '.repeat(Math.max(0, column - 1))}^`;
  return new StudioError('E_CACHE_FORMAT', `${file ?? 'calibration cache'}:${line}:${column}: ${message}`, hint, { file, line, column, excerpt });
}

const HINT = 'A TensorRT calibration cache starts with TRT-<version>-<algorithm> and has one "name: hex" line per tensor. Recalibrate, or point to the cache TensorRT wrote.';

/** Parse a cache. Names are split at the LAST ": " so names containing ": " survive. */
export function parseCalibrationCache(text: string, file?: string): ParsedCache {
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const first = (lines[0] ?? '').replace(/\r$/, '');
  const hm = /^TRT-(\d+)-([A-Za-z][A-Za-z0-9]*)$/.exec(first);
  if (!hm) {
    throw formatError(file, 1, 1, first, `header "${first.slice(0, 60)}" is not TRT-<version>-<algorithm>`, HINT);
  }
  const version = Number(hm[1]);
  const header = { version, trtVersion: decodeTrtVersion(version), algorithm: hm[2]! };
  const entries: ParsedCacheEntry[] = [];
  const seen = new Map<string, number>();
  for (let k = 1; k < lines.length; k++) {
    const lineNo = k + 1;
    const raw = lines[k]!.replace(/\r$/, '');
    const sep = raw.lastIndexOf(': ');
    if (sep <= 0) {
      throw formatError(file, lineNo, Math.max(1, raw.length), raw, raw.length === 0 ? 'empty line' : 'expected "<tensor name>: <hex scale>"', HINT);
    }
    const name = raw.slice(0, sep);
    const hex = raw.slice(sep + 2);
    if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) {
      throw formatError(file, lineNo, sep + 3, raw, `"${hex.slice(0, 20)}" is not the hex of a float32 scale`, HINT);
    }
    const scale = hexToScale(hex);
    if (!Number.isFinite(scale) || scale < 0 || Object.is(scale, -0)) {
      throw formatError(file, lineNo, sep + 3, raw, `scale ${hex} decodes to ${scale}, not a finite non-negative number`, HINT);
    }
    const prev = seen.get(name);
    if (prev !== undefined) throw formatError(file, lineNo, 1, raw, `tensor "${name}" already has a scale on line ${prev}`, HINT);
    seen.set(name, lineNo);
    entries.push({ name, scale, hex, amax: scale * 127, line: lineNo });
  }
  return { header, entries };
}
