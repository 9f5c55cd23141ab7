import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32cOf, maskCrc, maskedCrc32c, unmaskCrc } from './crc32c.js';

describe('crc32c', () => {
  it('is Castagnoli, not IEEE (check value of "123456789")', () => {
    expect(crc32cOf(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('masks by rotating right 15 and adding 0xa282ead8', () => {
    // 0x00008000 rotated right by 15 is 1; + delta.
    expect(maskCrc(0x00008000)).toBe(0xa282ead9);
    // 1 rotated right by 15 is 1 << 17.
    expect(maskCrc(1)).toBe((0x20000 + 0xa282ead8) >>> 0);
    // Wraps modulo 2^32 and stays unsigned.
    expect(maskCrc(0xffffffff)).toBe((0xffffffff + 0xa282ead8) % 2 ** 32);
  });

  it('unmask inverts mask for every 32-bit value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (c) => {
        const m = maskCrc(c);
        expect(m).toBeGreaterThanOrEqual(0);
        expect(unmaskCrc(m)).toBe(c);
      }),
    );
  });

  it('gives the bytes of an empty TFRecord frame (00×8, 29 03 98 07, d8 ea 82 a2)', () => {
    // Computed independently by the pure-Python table in test/fixtures-gen/write_tfrecords.py.
    expect(maskedCrc32c(new Uint8Array(8))).toBe(0x07980329);
    expect(maskedCrc32c(new Uint8Array(0))).toBe(0xa282ead8);
  });
});
