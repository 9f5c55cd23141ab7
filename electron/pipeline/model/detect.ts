import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';
import { NONCE_BYTES } from './cipher.js';
import { parseEtltHeader, type ModelFormat } from './container.js';
import { prefixLooksLikeModel } from './protowire.js';
import { openModelSource, type ReadStats } from './source.js';

/** How much of a file detection reads: enough for an .etlt header and the first ONNX fields. */
export const DETECT_HEAD_BYTES = 8192;

export interface DetectedModel {
  path: string;
  format: ModelFormat;
  /** File size in bytes. */
  size: number;
  /** .etlt only: the input tensor name in the header ('' for ONNX payloads, which is what we write). */
  etltInputName?: string;
  /** Where the payload starts: the nonce of a sealed model, 0 for plain ONNX. */
  payloadOffset: number;
}

/** A recognisable non-model file type, named for messages. */
export function sniffFileType(head: Uint8Array): string | undefined {
  const starts = (...sig: number[]): boolean => sig.every((b, i) => head[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'a PNG image';
  if (starts(0xff, 0xd8, 0xff)) return 'a JPEG image';
  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0x50, 0x4b, 0x05, 0x06)) return 'a ZIP archive';
  if (starts(0x1f, 0x8b)) return 'a gzip archive';
  if (starts(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)) return 'an HDF5 file (e.g. a Keras .h5 model or a TAO calibration tensorfile)';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'a GIF image';
  if (looksLikeText(head)) return 'a text file';
  return undefined;
}

function looksLikeText(head: Uint8Array): boolean {
  const n = Math.min(head.length, 512);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const b = head[i] as number;
    if (b === 0x09 || b === 0x0a || b === 0x0d) continue;
    if (b < 0x20 || b === 0x7f) return false;
  }
  try {
    // Cut a possibly split multi-byte character at the end.
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(0, n - 3)));
    return true;
  } catch {
    return false;
  }
}

function isZip(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && (head[2] === 0x03 || head[2] === 0x05) && (head[3] === 0x04 || head[3] === 0x06);
}

export function taoCheckpointError(file: string): StudioError {
  return new StudioError(
    'E_NOT_ONNX',
    `${path.basename(file)} is a ZIP archive of TensorFlow checkpoint files (a .tlt from TAO training), not an ONNX model`,
    'Export it first with TAO (`tao model mask_rcnn export`, then convert the UFF/graph to ONNX), or give an .onnx model or an .etlt/.tlt sealed by Export Studio.',
    { file, offset: 0 },
    { details: { detected: 'tao-checkpoint-zip' } },
  );
}

function plainOnnx(head: Uint8Array, size: number): boolean {
  const r = prefixLooksLikeModel(head, size);
  return r.ok && r.summary.irVersion !== undefined;
}

/**
 * Decide the container from the file name and its first bytes (Netron style: extension first,
 * then magic bytes). Pure; throws StudioError for files that cannot be a model.
 */
export function classifyModelBytes(file: string, head: Uint8Array, size: number): DetectedModel {
  if (size === 0) throw new StudioError('E_FILE_EMPTY', `The model file is empty (0 bytes): ${file}`, 'The copy or export that produced it failed. Copy or export it again.', { file });
  const ext = path.extname(file).toLowerCase();
  const onnx = (): DetectedModel => ({ path: file, format: 'onnx', size, payloadOffset: 0 });

  if (isZip(head)) {
    if (ext === '.onnx') throw notOnnx(file, head, 'a ZIP archive (for example a TAO .tlt checkpoint or a PyTorch .pt file)');
    throw taoCheckpointError(file);
  }
  if (ext === '.onnx') {
    const r = prefixLooksLikeModel(head, size);
    if (r.ok) return onnx();
    if (r.summary.irVersion !== undefined) throw damagedOnnx(file, r);
    throw notOnnx(file, head, undefined, r);
  }
  if (ext === '.etlt' || ext === '.tlt') {
    // Content wins over the name: a plain ONNX model renamed .etlt/.tlt is still readable.
    if (plainOnnx(head, size)) return onnx();
    if (ext === '.etlt') {
      const h = parseEtltHeader(head, size, file);
      return { path: file, format: 'etlt', size, etltInputName: h.inputName, payloadOffset: h.payloadOffset };
    }
    if (size <= NONCE_BYTES) {
      throw new StudioError('E_FILE_TRUNCATED', `The .tlt file is ${size} bytes: shorter than its 16-byte nonce, so no model follows`, 'The file was cut off (interrupted copy or download). Copy or seal it again.', { file, offset: size });
    }
    return { path: file, format: 'tlt', size, payloadOffset: 0 };
  }
  // Unknown extension: content only.
  if (plainOnnx(head, size)) return onnx();
  const what = sniffFileType(head);
  if (what === undefined && size > 4 + NONCE_BYTES) {
    try {
      const h = parseEtltHeader(head, size, file);
      if (h.inputName.length <= 64 && /^[\x20-\x7e]*$/.test(h.inputName)) return { path: file, format: 'etlt', size, etltInputName: h.inputName, payloadOffset: h.payloadOffset };
    } catch {
      // not an .etlt either
    }
  }
  throw new StudioError(
    'E_UNKNOWN_FORMAT',
    `Cannot tell what kind of model ${path.basename(file)} is${what ? `: it looks like ${what}` : ''}`,
    'Export Studio reads .onnx models and .etlt/.tlt models sealed with a key. Give the file one of those extensions if it is one.',
    { file, offset: 0 },
  );
}

/** It starts like ONNX (a valid ir_version came first) but its structure breaks early. */
function damagedOnnx(file: string, r: { reason: string; offset: number; truncated: boolean }): StudioError {
  return r.truncated
    ? new StudioError('E_FILE_TRUNCATED', `${path.basename(file)} is a cut-off ONNX model: ${r.reason} at byte ${r.offset}`, 'The file is incomplete (interrupted copy, download or export). Copy or export it again.', { file, offset: r.offset })
    : new StudioError('E_ONNX_INVALID', `${path.basename(file)} is a damaged ONNX model: ${r.reason} at byte ${r.offset}`, 'Export or copy the model again.', { file, offset: r.offset });
}

function notOnnx(file: string, head: Uint8Array, what = sniffFileType(head), walk?: { reason: string; offset: number }): StudioError {
  const looks = what ? `it looks like ${what}` : walk ? `${walk.reason} at byte ${walk.offset}` : 'unrecognised content';
  return new StudioError(
    'E_NOT_ONNX',
    `${path.basename(file)} is not an ONNX model: ${looks}`,
    what
      ? 'Choose the exported .onnx model file.'
      : 'If this model is encrypted, give it its real extension (.etlt or .tlt) and the key; otherwise re-export the ONNX model.',
    { file, offset: walk?.offset ?? 0 },
    what ? { details: { detected: what } } : {},
  );
}

/** Detect a model file's container; reads only its first DETECT_HEAD_BYTES. */
export async function detectModelFormat(file: string, stats?: ReadStats): Promise<DetectedModel> {
  const src = await openModelSource(file, stats);
  try {
    const head = await src.read(0, DETECT_HEAD_BYTES);
    return classifyModelBytes(file, head, src.size);
  } finally {
    await src.close();
  }
}
