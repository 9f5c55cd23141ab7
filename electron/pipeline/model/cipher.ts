import { createCipheriv, randomBytes, type Cipher } from 'node:crypto';

/** Bytes of the random nonce that starts every sealed payload; it is also AES-CTR's initial counter block. */
export const NONCE_BYTES = 16;
/** Chunk size for streaming: big enough for full AES-NI throughput, small enough for flat memory. */
export const CHUNK_BYTES = 1 << 20;

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/**
 * AES-256-CTR keystream over the payload. The 128-bit counter starts at the nonce and counts up
 * big-endian (OpenSSL's CTR mode). CTR is its own inverse, so the same object seals and unseals.
 */
export function ctrCipher(key: Uint8Array, nonce: Uint8Array): Cipher {
  return createCipheriv('aes-256-ctr', key, nonce);
}

/** Encrypt or decrypt one buffer from the start of the payload (the quick key check's first blocks). */
export function ctrOnce(key: Uint8Array, nonce: Uint8Array, data: Uint8Array): Buffer {
  const c = ctrCipher(key, nonce);
  return Buffer.concat([c.update(data), c.final()]);
}
