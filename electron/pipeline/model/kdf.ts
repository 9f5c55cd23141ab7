import { createHash, pbkdf2 } from 'node:crypto';

/**
 * Key derivation for sealed models. TAO's own parameters are not public, so these are ours. The
 * container has no version field (its layout is fixed: nonce, then ciphertext), so a reader tries
 * every known version, newest first, and keeps the one whose first decrypted blocks pass the
 * ModelProto quick check. A new version therefore only needs a new row here; old files stay
 * readable. Never change a row once released.
 */
export interface KdfParams {
  readonly version: number;
  readonly hash: 'sha256';
  readonly iterations: number;
  /** Bytes put before the file's 16-byte nonce to form the PBKDF2 salt (so the salt is per file). */
  readonly saltPrefix: string;
  readonly keyLength: 32;
}

export const KDF_VERSIONS: readonly KdfParams[] = Object.freeze([
  // 100k iterations ≈ 40 ms on a 2024 Xeon core: negligible next to an export, slow for guessing.
  Object.freeze({ version: 1, hash: 'sha256', iterations: 100_000, saltPrefix: 'ExportStudio/sealed-onnx/kdf-v1', keyLength: 32 } as const),
]);

export const CURRENT_KDF_VERSION = 1;

export function kdfParams(version: number): KdfParams {
  const p = KDF_VERSIONS.find((k) => k.version === version);
  if (!p) throw new RangeError(`unknown KDF version ${version}`);
  return p;
}

/** Versions a reader should try, newest first. */
export function kdfVersionsNewestFirst(): KdfParams[] {
  return [...KDF_VERSIONS].sort((a, b) => b.version - a.version);
}

export function kdfSalt(params: KdfParams, nonce: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(params.saltPrefix, 'utf8'), nonce]);
}

// Derived keys, cached per process by (version, key, nonce) so a quick check followed by a full read
// derives once. The user's key is only kept hashed in the cache index.
const CACHE_LIMIT = 32;
const cache = new Map<string, Promise<Buffer>>();

/** AES-256 key for `userKey` (UTF-8, no normalisation: keys are case- and byte-exact). */
export function deriveKey(userKey: string, nonce: Uint8Array, kdf: number | KdfParams = CURRENT_KDF_VERSION): Promise<Buffer> {
  const params = typeof kdf === 'number' ? kdfParams(kdf) : kdf;
  const salt = kdfSalt(params, nonce);
  const id = `${params.version}:${params.iterations}:${createHash('sha256').update(userKey, 'utf8').digest('hex')}:${salt.toString('hex')}`;
  const hit = cache.get(id);
  if (hit) return hit;
  const p = new Promise<Buffer>((resolve, reject) => {
    pbkdf2(Buffer.from(userKey, 'utf8'), salt, params.iterations, params.keyLength, params.hash, (err, key) => (err ? reject(err) : resolve(key)));
  });
  p.catch(() => cache.delete(id));
  cache.set(id, p);
  if (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  return p;
}

/** For tests and benchmarks: forget derived keys. */
export function clearKeyCache(): void {
  cache.clear();
}
