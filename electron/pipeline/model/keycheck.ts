import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';
import { ctrOnce, NONCE_BYTES } from './cipher.js';
import type { ModelFormat } from './container.js';
import { detectModelFormat, taoCheckpointError, type DetectedModel } from './detect.js';
import { deriveKey, kdfVersionsNewestFirst, type KdfParams } from './kdf.js';
import { prefixLooksLikeModel } from './protowire.js';
import { openModelSource, type ReadStats } from './source.js';

/** Decrypted bytes the quick check looks at: 256 AES blocks, whatever the model size. */
export const QUICK_CHECK_BYTES = 4096;

export interface KeyCheckResult {
  format: ModelFormat;
  etltInputName?: string;
  /** KDF version that opened the model (sealed formats only). */
  kdfVersion?: number;
}

/** A sealed model whose key passed the quick check. */
export interface UnlockedModel {
  detected: DetectedModel;
  aesKey: Buffer;
  nonce: Buffer;
  kdfVersion: number;
  /** Offset and length of the ciphertext (after the nonce). */
  cipherOffset: number;
  cipherBytes: number;
}

export function wrongKeyError(file: string, format: ModelFormat, detail: string): StudioError {
  const tao = format === 'etlt'
    ? ' An .etlt written by TAO itself (an encrypted UFF graph) uses TAO\'s own encryption, which is not public: only .etlt files sealed by Export Studio can be opened.'
    : ' A .tlt from TAO training (an encrypted checkpoint archive) is not an ONNX model: export it with TAO first.';
  return new StudioError(
    'E_WRONG_KEY_OR_CORRUPT',
    `The key does not open ${path.basename(file)}, or the file is corrupt: ${detail}`,
    `Check the key: keys are case-sensitive and must match the one used to seal the model exactly (TAO's defaults are often "nvidia_tlt" or "tlt_encode").${tao}`,
    { file },
    { details: { format } },
  );
}

export function keyRequiredError(file: string, format: ModelFormat): StudioError {
  return new StudioError('E_KEY_REQUIRED', `${path.basename(file)} is an encrypted .${format} model and no key was given`, 'Enter the key the model was sealed with (-k/--key on the command line).', { file });
}

/**
 * Find the KDF version whose key turns the first ciphertext blocks into a ModelProto. Reads the
 * nonce and at most QUICK_CHECK_BYTES of ciphertext, so it takes milliseconds at any model size.
 */
export async function unlockModel(detected: DetectedModel, key: string, stats?: ReadStats, versions: readonly KdfParams[] = kdfVersionsNewestFirst()): Promise<UnlockedModel> {
  if (detected.format === 'onnx') throw new StudioError('E_INTERNAL', 'unlockModel called on a plain ONNX model', 'This is a bug; please report it.');
  if (key.length === 0) throw keyRequiredError(detected.path, detected.format);
  const cipherOffset = detected.payloadOffset + NONCE_BYTES;
  const cipherBytes = detected.size - cipherOffset;
  const src = await openModelSource(detected.path, stats);
  let nonce: Buffer;
  let head: Buffer;
  try {
    nonce = await src.read(detected.payloadOffset, NONCE_BYTES);
    head = await src.read(cipherOffset, Math.min(QUICK_CHECK_BYTES, cipherBytes));
  } finally {
    await src.close();
  }
  if (nonce.length < NONCE_BYTES || cipherBytes <= 0) {
    throw new StudioError('E_FILE_TRUNCATED', `${path.basename(detected.path)} ends inside its 16-byte nonce`, 'The file was cut off. Copy or seal it again.', { file: detected.path, offset: detected.payloadOffset });
  }
  let reason = '';
  let zip = false;
  for (const kdf of versions) {
    const aesKey = await deriveKey(key, nonce, kdf);
    const plain = ctrOnce(aesKey, nonce, head);
    const verdict = prefixLooksLikeModel(plain, cipherBytes);
    if (verdict.ok) return { detected, aesKey, nonce, kdfVersion: kdf.version, cipherOffset, cipherBytes };
    if (reason === '') reason = `the first decrypted bytes do not start like an ONNX model (${verdict.reason} at byte ${verdict.offset})`;
    zip ||= plain[0] === 0x50 && plain[1] === 0x4b && plain[2] === 0x03 && plain[3] === 0x04;
  }
  if (zip) throw taoCheckpointError(detected.path);
  throw wrongKeyError(detected.path, detected.format, reason);
}

/**
 * Check a key against a model in milliseconds, before any long work. Plain ONNX needs no key and
 * passes. Throws E_WRONG_KEY_OR_CORRUPT, E_KEY_REQUIRED or a format error.
 */
export async function quickKeyCheck(file: string, key: string, options: { stats?: ReadStats } = {}): Promise<KeyCheckResult> {
  const detected = await detectModelFormat(file, options.stats);
  const base: KeyCheckResult = { format: detected.format };
  if (detected.etltInputName !== undefined) base.etltInputName = detected.etltInputName;
  if (detected.format === 'onnx') return base;
  const u = await unlockModel(detected, key, options.stats);
  return { ...base, kdfVersion: u.kdfVersion };
}
