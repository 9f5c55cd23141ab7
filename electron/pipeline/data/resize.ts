/**
 * Bilinear resize of interleaved float images, bit-for-bit in the way TensorFlow's CPU
 * `ResizeBilinear` kernel computes it (tensorflow/core/kernels/image/resize_bilinear_op.cc):
 *
 *   scale  = in_size / out_size                       (float32)
 *   asymmetric (TF1 resize_bilinear, align_corners=False, half_pixel_centers=False):
 *     in   = out · scale
 *   half-pixel (TF2 tf.image.resize, ONNX Resize half_pixel):
 *     in   = (out + 0.5) · scale − 0.5
 *   lower  = max(floor(in), 0), upper = min(ceil(in), in_size − 1), lerp = in − floor(in)
 *   top    = tl + (tr − tl) · xlerp;  bottom = bl + (br − bl) · xlerp
 *   value  = top + (bottom − top) · ylerp
 *
 * Every step is rounded to float32 (Math.fround) as the C++ kernel does, so results equal TF's
 * up to the C++ compiler's freedom to fuse multiply-adds (≤ 1 ulp). No antialiasing: TF's
 * bilinear does none when downscaling either.
 */
export type ResizeMapping = 'asymmetric' | 'half-pixel';

const f = Math.fround;

interface Axis {
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float32Array;
}

/** Source positions and weights for every output index along one axis. */
export function axisWeights(inSize: number, outSize: number, mapping: ResizeMapping): Axis {
  const scale = f(inSize / outSize);
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const pos = mapping === 'asymmetric' ? f(i * scale) : f(f(f(i + 0.5) * scale) - 0.5);
    const fl = Math.floor(pos);
    lower[i] = Math.max(fl, 0);
    upper[i] = Math.min(Math.ceil(pos), inSize - 1);
    lerp[i] = f(pos - fl);
  }
  return { lower, upper, lerp };
}

export interface ResizeTarget {
  /** Destination buffer; defaults to a new dstH × dstW × channels array. */
  out?: Float32Array;
  /** Pixels per destination row (≥ dstW), to write into the top-left of a larger padded image (interleaved output). */
  outRowPixels?: number;
  /**
   * General destination addressing, overriding outRowPixels: element (y, x, c) goes to
   * y·rowStride + x·pixelStride + channelOffsets[c]. Planar NCHW of a W-wide image is
   * { rowStride: W, pixelStride: 1, channelOffsets: [0, H·W, 2·H·W] } (permute for BGR).
   */
  strides?: { rowStride: number; pixelStride: number; channelOffsets: readonly number[] };
}

/**
 * Resize `src` (srcH × srcW × channels, interleaved) to dstH × dstW. Separable: each needed
 * source row is interpolated horizontally once (kept in a two-row cache, as TF rounds `top` and
 * `bottom` to float32), then rows are blended vertically.
 */
export function resizeBilinear(
  src: Float32Array,
  srcH: number,
  srcW: number,
  channels: number,
  dstH: number,
  dstW: number,
  mapping: ResizeMapping,
  target: ResizeTarget = {},
): Float32Array {
  if (srcH < 1 || srcW < 1 || dstH < 1 || dstW < 1) throw new RangeError(`resize ${srcH}×${srcW} → ${dstH}×${dstW}: sizes must be ≥ 1`);
  if (src.length < srcH * srcW * channels) throw new RangeError('source buffer smaller than srcH × srcW × channels');
  const rowPixels = target.outRowPixels ?? dstW;
  const st = target.strides ?? { rowStride: rowPixels * channels, pixelStride: channels, channelOffsets: Array.from({ length: channels }, (_, c) => c) };
  if (st.channelOffsets.length !== channels) throw new RangeError('channelOffsets must have one entry per channel');
  const lastIndex = (dstH - 1) * st.rowStride + (dstW - 1) * st.pixelStride + Math.max(...st.channelOffsets);
  const out = target.out ?? new Float32Array(target.strides ? lastIndex + 1 : dstH * rowPixels * channels);
  if (rowPixels < dstW || out.length <= lastIndex) throw new RangeError('destination buffer too small');

  const xs = axisWeights(srcW, dstW, mapping);
  const ys = axisWeights(srcH, dstH, mapping);
  const rowLen = dstW * channels;
  // Per output element (x, c): source offsets within a row and the lerp.
  const xl = new Int32Array(rowLen);
  const xu = new Int32Array(rowLen);
  const xw = new Float32Array(rowLen);
  // Destination offset of element k within an output row.
  const xo = new Int32Array(rowLen);
  const contiguous = st.pixelStride === channels && st.channelOffsets.every((o, c) => o === c);
  for (let x = 0; x < dstW; x++) {
    for (let c = 0; c < channels; c++) {
      const k = x * channels + c;
      xl[k] = xs.lower[x]! * channels + c;
      xu[k] = xs.upper[x]! * channels + c;
      xw[k] = xs.lerp[x]!;
      xo[k] = x * st.pixelStride + st.channelOffsets[c]!;
    }
  }

  const rows = [new Float32Array(rowLen), new Float32Array(rowLen)];
  const rowOf = [-1, -1];
  /** Row `sy` interpolated horizontally; evicts the cached row that is not `keep`. */
  const horizontal = (sy: number, keep: number): Float32Array => {
    if (rowOf[0] === sy) return rows[0]!;
    if (rowOf[1] === sy) return rows[1]!;
    const slot = rowOf[0] === keep ? 1 : 0;
    const buf = rows[slot]!;
    const base = sy * srcW * channels;
    for (let k = 0; k < rowLen; k++) {
      const a = src[base + xl[k]!]!;
      const b = src[base + xu[k]!]!;
      buf[k] = f(a + f(f(b - a) * xw[k]!));
    }
    rowOf[slot] = sy;
    return buf;
  };

  for (let y = 0; y < dstH; y++) {
    const top = horizontal(ys.lower[y]!, -1);
    const bottom = horizontal(ys.upper[y]!, ys.lower[y]!);
    const wy = ys.lerp[y]!;
    const o = y * st.rowStride;
    if (contiguous) {
      for (let k = 0; k < rowLen; k++) {
        const t = top[k]!;
        out[o + k] = t + f(f(bottom[k]! - t) * wy);
      }
    } else {
      for (let k = 0; k < rowLen; k++) {
        const t = top[k]!;
        out[o + xo[k]!] = t + f(f(bottom[k]! - t) * wy);
      }
    }
  }
  return out;
}
