/**
 * Minimal BMP reader: sharp's prebuilt libvips has no BMP loader. Covers what cameras and tools
 * write: BI_RGB 1/4/8-bit palettes and 16/24/32-bit, BI_BITFIELDS 16/32-bit, bottom-up or
 * top-down rows. RLE-compressed and JPEG/PNG-in-BMP are refused. Alpha is ignored, as in decode.ts.
 */
export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

export interface RgbImage {
  width: number;
  height: number;
  /** HWC RGB, 8 bits per channel. */
  data: Uint8Array;
}

export function decodeBmp(bytes: Uint8Array): RgbImage {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number) => {
    if (end > bytes.length) throw new Error(`BMP truncated: needs ${end} bytes, file has ${bytes.length}`);
  };
  need(30);
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  let width: number, rawHeight: number, bits: number, compression = 0, colours = 0;
  if (headerSize === 12) {
    width = dv.getUint16(18, true);
    rawHeight = dv.getInt16(20, true);
    bits = dv.getUint16(24, true);
  } else if (headerSize >= 40) {
    need(54);
    width = dv.getInt32(18, true);
    rawHeight = dv.getInt32(22, true);
    bits = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    colours = dv.getUint32(46, true);
  } else {
    throw new Error(`unsupported BMP header size ${headerSize}`);
  }
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width < 1 || height < 1 || width * height > 268402689) throw new Error(`bad BMP size ${width}×${height}`);
  if (compression !== 0 && compression !== 3) throw new Error(`unsupported BMP compression ${compression} (RLE/JPEG/PNG)`);

  // Channel masks for 16/32-bit.
  let masks: [number, number, number];
  if (compression === 3) {
    need(66);
    masks = [dv.getUint32(54, true), dv.getUint32(58, true), dv.getUint32(62, true)];
  } else if (bits === 16) {
    masks = [0x7c00, 0x03e0, 0x001f];
  } else {
    masks = [0xff0000, 0x00ff00, 0x0000ff];
  }
  const fields = masks.map((m) => {
    if (m === 0) return { shift: 0, max: 1, mask: 0 };
    let shift = 0;
    while (((m >>> shift) & 1) === 0) shift++;
    return { shift, max: m >>> shift, mask: m };
  });

  let palette: Uint8Array | undefined;
  if (bits <= 8) {
    const entry = headerSize === 12 ? 3 : 4;
    const n = colours || 1 << bits;
    const start = 14 + headerSize;
    need(start + n * entry);
    palette = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      palette[i * 3] = bytes[start + i * entry + 2]!;
      palette[i * 3 + 1] = bytes[start + i * entry + 1]!;
      palette[i * 3 + 2] = bytes[start + i * entry]!;
    }
  } else if (bits !== 16 && bits !== 24 && bits !== 32) {
    throw new Error(`unsupported BMP bit depth ${bits}`);
  }

  const stride = Math.floor((bits * width + 31) / 32) * 4;
  need(dataOffset + stride * (height - 1) + Math.ceil((bits * width) / 8));
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (palette) {
        const bitPos = x * bits;
        const byte = bytes[row + (bitPos >> 3)]!;
        const idx = (byte >> (8 - bits - (bitPos & 7))) & ((1 << bits) - 1);
        if (idx * 3 + 2 >= palette.length) throw new Error(`BMP palette index ${idx} out of range`);
        out[o] = palette[idx * 3]!;
        out[o + 1] = palette[idx * 3 + 1]!;
        out[o + 2] = palette[idx * 3 + 2]!;
      } else if (bits === 24 && compression === 0) {
        const p = row + x * 3;
        out[o] = bytes[p + 2]!;
        out[o + 1] = bytes[p + 1]!;
        out[o + 2] = bytes[p]!;
      } else {
        const v = bits === 16 ? dv.getUint16(row + x * 2, true) : dv.getUint32(row + x * 4, true);
        for (let c = 0; c < 3; c++) {
          const fl = fields[c]!;
          out[o + c] = fl.mask === 0 ? 0 : Math.round((((v & fl.mask) >>> fl.shift) * 255) / fl.max);
        }
      }
    }
  }
  return { width, height, data: out };
}
