import sharp from 'sharp';
import { StudioError } from '../../../shared/errors.js';
import { decodeBmp, isBmp } from './bmp.js';

/** A decoded image: interleaved HWC RGB float32 in 0–255 pixel units. */
export interface DecodedImage {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * Largest image decoded (width × height), checked from the header before decoding: 40 Mpx is
 * 480 MB as float32 RGB; an 8K photo is 33 Mpx. A 1×1 PNG that declares 30000×30000 is refused
 * before any pixel memory is taken.
 */
export const MAX_DECODE_PIXELS = 40_000_000;

export function tooManyPixels(id: string, width: number, height: number, limit = MAX_DECODE_PIXELS): StudioError {
  return new StudioError('E_IMAGE_TOO_LARGE', `Image ${id} is ${width}×${height} pixels, more than the ${limit} limit`, 'Downscale the image first; calibration resizes to the model input anyway.', { file: id }, { details: { width, height, limit } });
}

/** Keep TensorFlow's view of the pixels: no EXIF rotation, no shrink-on-load, first frame only. */
const INPUT_OPTIONS = {
  autoOrient: false,
  // 'error' (not the default 'warning') accepts files with benign libjpeg warnings, which TF's
  // decoder also accepts, while truncated or corrupt data still fails.
  failOn: 'error',
  limitInputPixels: MAX_DECODE_PIXELS,
} as const;

/**
 * Decode any image sharp reads (JPEG, PNG, WebP, TIFF, GIF, …), or a BMP (bmp.ts), to RGB float.
 * - gray → 3 equal channels; CMYK → sRGB (through its ICC profile when present);
 * - alpha is dropped, not composited — what TF's decode_image(channels=3) does;
 * - 16-bit inputs are read at 16 bits and scaled by 255/65535 (not truncated to 8 bits).
 */
export async function decodeImage(bytes: Uint8Array, id: string): Promise<DecodedImage> {
  try {
    if (isBmp(bytes)) {
      const bmp = decodeBmp(bytes);
      if (bmp.width * bmp.height > MAX_DECODE_PIXELS) throw tooManyPixels(id, bmp.width, bmp.height);
      return { width: bmp.width, height: bmp.height, data: Float32Array.from(bmp.data) };
    }
    // The header alone (no pixel limit here: sharp would refuse a large header with a generic
    // "exceeds pixel limit" before we could name the size); the limit is ours, with its own code.
    const meta = await sharp(bytes, { ...INPUT_OPTIONS, limitInputPixels: false }).metadata();
    if ((meta.width ?? 0) * (meta.height ?? 0) > MAX_DECODE_PIXELS) throw tooManyPixels(id, meta.width ?? 0, meta.height ?? 0);
    const sixteen = meta.depth === 'ushort';
    const pipeline = sharp(bytes, INPUT_OPTIONS).removeAlpha().toColourspace(sixteen ? 'rgb16' : 'srgb');
    const { data, info } = await pipeline.raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoder produced ${info.channels} channels, expected 3`);
    const n = info.width * info.height * 3;
    const out = new Float32Array(n);
    if (sixteen) {
      // Native-endian ushort samples; copy first if the buffer is not 2-byte aligned.
      const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
      const src = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
      const k = 255 / 65535;
      for (let i = 0; i < n; i++) out[i] = src[i]! * k;
    } else {
      for (let i = 0; i < n; i++) out[i] = data[i]!;
    }
    return { width: info.width, height: info.height, data: out };
  } catch (e) {
    if (e instanceof StudioError) throw e;
    throw new StudioError(
      'E_IMAGE_DECODE',
      `Cannot decode image ${id}: ${(e as Error)?.message ?? String(e)}`,
      'The file is truncated, corrupt or not an image. Remove it from the calibration set or re-export it (JPEG/PNG).',
      { file: id },
      { cause: e },
    );
  }
}
