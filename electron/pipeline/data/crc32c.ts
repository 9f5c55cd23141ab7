import { crc32c } from '@node-rs/crc32';

/**
 * CRC32C (Castagnoli) and TFRecord's masked form. The CRC is native (@node-rs/crc32, ~6 GB/s);
 * Node's zlib.crc32 is CRC-32/IEEE and would be wrong here.
 */

const MASK_DELTA = 0xa282ead8;

/** CRC32C of `data` (init and final xor 0xFFFFFFFF; check value of "123456789" is 0xE3069283). */
export function crc32cOf(data: Uint8Array): number {
  return crc32c(data) >>> 0;
}

/** TFRecord's mask: rotate right by 15 bits, then add 0xa282ead8 modulo 2^32. */
export function maskCrc(crc: number): number {
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + MASK_DELTA) >>> 0;
}

/** Inverse of {@link maskCrc}. */
export function unmaskCrc(masked: number): number {
  const rotated = (masked - MASK_DELTA) >>> 0;
  return ((rotated >>> 17) | (rotated << 15)) >>> 0;
}

/** The masked CRC32C TFRecord stores after the length and after the data. */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32cOf(data));
}
