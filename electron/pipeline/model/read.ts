import { createHash } from 'node:crypto';
import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';
import { CHUNK_BYTES, ctrCipher } from './cipher.js';
import type { ModelFormat } from './container.js';
import { detectModelFormat } from './detect.js';
import { unlockModel, wrongKeyError } from './keycheck.js';
import { throwIfAborted } from '../cancel.js';
import type { StreamOptions } from './progress.js';
import { ModelProtoWalker, WireError } from './protowire.js';
import { openModelSource } from './source.js';

export interface ReadModelResult {
  /** Size of the model file as given (sealed or not). */
  fileBytes: number;
  format: ModelFormat;
  etltInputName?: string;
  /** The plain ONNX ModelProto bytes. */
  onnx: Buffer;
  /** SHA-256 (hex) of the file as stored on disk. */
  sha256: string;
  /** KDF version that opened a sealed model. */
  kdfVersion?: number;
}

/**
 * Read a model into memory as plain ONNX: quick key check, then the whole file in 1 MiB chunks
 * (hashed, decrypted, and walked field by field). A wrong key, truncation or a damaged structure
 * throws E_WRONG_KEY_OR_CORRUPT (sealed) or E_ONNX_INVALID (plain).
 */
export async function readModel(file: string, key: string, options: StreamOptions = {}): Promise<ReadModelResult> {
  const { signal, onProgress } = options;
  throwIfAborted(signal, 'Reading the model');
  const detected = await detectModelFormat(file);
  const unlocked = detected.format === 'onnx' ? undefined : await unlockModel(detected, key);
  const payloadStart = unlocked ? unlocked.cipherOffset : 0;
  const onnxBytes = detected.size - payloadStart;
  const onnx = Buffer.allocUnsafe(onnxBytes);
  const hash = createHash('sha256');
  const cipher = unlocked ? ctrCipher(unlocked.aesKey, unlocked.nonce) : undefined;
  const walker = new ModelProtoWalker(onnxBytes);
  const src = await openModelSource(file);
  try {
    let pos = 0;
    while (pos < detected.size) {
      throwIfAborted(signal, 'Reading the model');
      const chunk = await src.read(pos, CHUNK_BYTES);
      if (chunk.length === 0) break;
      hash.update(chunk);
      // Only the part of this chunk at or after the payload start is model bytes.
      const from = Math.max(0, payloadStart - pos);
      if (from < chunk.length) {
        const body = chunk.subarray(from);
        const plain = cipher ? cipher.update(body) : body;
        const at = pos + from - payloadStart;
        plain.copy(onnx, at);
        walker.push(plain);
      }
      pos += chunk.length;
      onProgress?.({ done: pos, total: detected.size });
    }
    if (pos < detected.size) {
      throw new StudioError('E_FILE_TRUNCATED', `${path.basename(file)} shrank while being read (${pos} of ${detected.size} bytes)`, 'Another program is writing the file. Wait for it to finish and try again.', { file, offset: pos });
    }
    walker.finish();
  } catch (e) {
    if (e instanceof WireError) throw structureError(file, detected.format, e, payloadStart);
    throw e;
  } finally {
    await src.close();
  }
  const result: ReadModelResult = { format: detected.format, onnx, sha256: hash.digest('hex'), fileBytes: detected.size };
  if (detected.etltInputName !== undefined) result.etltInputName = detected.etltInputName;
  if (unlocked) result.kdfVersion = unlocked.kdfVersion;
  return result;
}

/** A model whose bytes do not walk as a ModelProto to the end. */
export function structureError(file: string, format: ModelFormat, e: WireError, payloadStart: number): StudioError {
  if (format !== 'onnx') {
    return wrongKeyError(file, format, `the decrypted model is damaged: ${e.reason} at byte ${e.offset} of the model (file byte ${payloadStart + e.offset}); the file is probably truncated or corrupt`);
  }
  if (e.truncated) {
    return new StudioError('E_FILE_TRUNCATED', `${path.basename(file)} is a cut-off ONNX model: ${e.reason} at byte ${e.offset}`, 'The file is incomplete (interrupted copy, download or export). Copy or export it again.', { file, offset: e.offset });
  }
  return new StudioError(
    'E_ONNX_INVALID',
    `${path.basename(file)} is not a well-formed ONNX model: ${e.reason} at byte ${e.offset}`,
    'The file is probably truncated or damaged (interrupted copy or download). Export or copy it again.',
    { file, offset: e.offset },
  );
}
