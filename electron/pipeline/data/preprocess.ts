import { StudioError } from '../../../shared/errors.js';
import type { Preprocessing } from '../../../shared/request.js';
import { decodeImage, type DecodedImage } from './decode.js';
import { PRESETS } from './presets.js';
import { resizeBilinear, type ResizeMapping } from './resize.js';
import type { ResolvedPreprocessing } from './types.js';
import { readRegularFile } from '../io/inputs.js';

/** Largest image file read for calibration or preview. */
export const IMAGE_FILE_MAX_BYTES = 256 * 2 ** 20;

/**
 * TAO Mask R-CNN trains with TF 1.15, where `tf.image.resize` is the v1 `resize_images`:
 * `resize_bilinear(align_corners=False)` with `half_pixel_centers=False`, i.e. the asymmetric
 * mapping in = out · (in_size / out_size). See docs/FORMATS.md for the sources.
 */
export const TAO_RESIZE_MAPPING: ResizeMapping = 'asymmetric';

export interface PreprocessingContext {
  /** `image_size` from the experiment spec, [height, width]. */
  specImageSize?: [number, number];
  /** The model input's dims as ONNX reports them (numbers, symbolic names or null). */
  modelInputShape?: readonly (number | string | null)[];
}

type Dim = number | string | null;
const isStatic = (d: Dim | undefined): d is number => typeof d === 'number' && d > 0;

interface ModelGeometry {
  layout?: 'nchw' | 'nhwc';
  size?: [number, number];
  text: string;
}

/** What the model input's shape says about layout and size (rank 4 with batch, or rank 3 without). */
function geometryFromModel(shape: readonly Dim[]): ModelGeometry {
  const text = `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
  if (shape.length !== 4 && shape.length !== 3) {
    throw new StudioError('E_PREPROCESSING', `Model input ${text} has rank ${shape.length}; an image input has rank 4 (N, C, H, W or N, H, W, C) or 3 without batch`, 'Calibrate from images only for image models; for other inputs use a tensorfile.');
  }
  const o = shape.length - 3;
  const first = shape[o];
  const last = shape[o + 2];
  let layout: 'nchw' | 'nhwc' | undefined;
  if (first === 3 && last !== 3) layout = 'nchw';
  else if (last === 3 && first !== 3) layout = 'nhwc';
  else if (isStatic(first) && isStatic(last) && first !== 3 && last !== 3) {
    throw new StudioError('E_PREPROCESSING', `Model input ${text} has no 3-channel axis`, 'Only 3-channel (RGB/BGR) image inputs can be fed from images; use a tensorfile for other inputs.');
  }
  const [h, w] = layout === 'nhwc' ? [shape[o], shape[o + 1]] : [shape[o + 1], shape[o + 2]];
  const out: ModelGeometry = { text };
  if (layout) out.layout = layout;
  if (layout && isStatic(h) && isStatic(w)) out.size = [h, w];
  return out;
}

/**
 * Decide every preprocessing value. Precedence: explicit request fields > the model's input shape
 * (layout, static H/W) > the spec's image_size > the preset. Conflicts with the model are errors,
 * since the model would reject or misread the tensor.
 */
export function resolvePreprocessing(req: Preprocessing | undefined, ctx: PreprocessingContext = {}): ResolvedPreprocessing {
  const presetName = req?.preset ?? 'tao-maskrcnn';
  const preset = PRESETS[presetName];
  const origin: string[] = [`preset ${presetName}`];
  const model = ctx.modelInputShape ? geometryFromModel(ctx.modelInputShape) : undefined;

  let layout = preset.layout;
  if (req?.layout) {
    if (model?.layout && model.layout !== req.layout) {
      throw new StudioError('E_PREPROCESSING', `Layout ${req.layout.toUpperCase()} was requested but the model input ${model.text} is ${model.layout.toUpperCase()}`, `Remove the layout setting or set it to ${model.layout}.`);
    }
    layout = req.layout;
    origin.push(`layout ${layout} (explicit)`);
  } else if (model?.layout) {
    layout = model.layout;
    origin.push(`layout ${layout} from model input ${model.text}`);
  }

  let size: [number, number] | undefined;
  if (req?.size) {
    if (model?.size && (model.size[0] !== req.size[0] || model.size[1] !== req.size[1])) {
      throw new StudioError('E_PREPROCESSING', `Size ${req.size[0]}×${req.size[1]} was requested but the model input ${model.text} is ${model.size[0]}×${model.size[1]}`, 'Remove the size setting; the model fixes its input size.');
    }
    size = [req.size[0], req.size[1]];
    origin.push(`size ${size[0]}×${size[1]} (explicit)`);
  } else if (model?.size) {
    if (ctx.specImageSize && (ctx.specImageSize[0] !== model.size[0] || ctx.specImageSize[1] !== model.size[1])) {
      throw new StudioError('E_MODEL_SPEC_MISMATCH', `The spec's image_size (${ctx.specImageSize[0]}, ${ctx.specImageSize[1]}) differs from the model input ${model.text}`, 'Use the experiment spec the model was trained and exported with.');
    }
    size = model.size;
    origin.push(`size ${size[0]}×${size[1]} from model input ${model.text}`);
  } else if (ctx.specImageSize) {
    size = [ctx.specImageSize[0], ctx.specImageSize[1]];
    origin.push(`size from spec image_size (${size[0]}, ${size[1]})`);
  }
  if (!size) {
    const where = model ? `The model input ${model.text} has dynamic height/width` : 'The model input shape is unknown';
    throw new StudioError('E_PREPROCESSING', `${where} and no input size was given`, 'Pass --input_size HEIGHTxWIDTH (e.g. --input_size 832x1344), or the experiment spec (-e) so its image_size is used.');
  }
  if (!Number.isInteger(size[0]) || !Number.isInteger(size[1]) || size[0] < 1 || size[1] < 1) {
    throw new StudioError('E_PREPROCESSING', `Invalid input size ${size[0]}×${size[1]}`, 'Height and width must be positive integers.');
  }

  const order = req?.order ?? preset.order;
  if (req?.order) origin.push(`order ${order} (explicit)`);
  // Preset mean/scale are in the preset's channel order: a model in the other order gets them
  // reversed, so channel B keeps B's mean (explicit values are already in model order).
  const swap = order !== preset.order;
  const fromPreset = (v: readonly [number, number, number]): [number, number, number] => (swap ? [v[2], v[1], v[0]] : [v[0], v[1], v[2]]);
  const mean = req?.mean ? triple(req.mean) : fromPreset(preset.mean);
  const scale = req?.scale ? triple(req.scale) : fromPreset(preset.scale);
  if (req?.mean) origin.push('mean (explicit)');
  if (req?.scale) origin.push('scale (explicit)');
  const resize = req?.resize ?? preset.resize;
  if (req?.resize) origin.push(`resize ${resize} (explicit)`);
  return { height: size[0], width: size[1], mean: [...mean], scale: [...scale], order, layout, resize, origin: origin.join('; ') };
}

function triple(v: readonly number[]): [number, number, number] {
  if (v.length !== 3) throw new StudioError('E_PREPROCESSING', `Expected 3 values (one per channel), got ${v.length}`, 'Give mean and scale as three numbers in the model channel order.');
  return [v[0]!, v[1]!, v[2]!];
}

/** Per-sample dims for a batch built from `pp`: [3, H, W] or [H, W, 3]. */
export function sampleDims(pp: Pick<ResolvedPreprocessing, 'height' | 'width' | 'layout'>): [number, number, number] {
  return pp.layout === 'nchw' ? [3, pp.height, pp.width] : [pp.height, pp.width, 3];
}

export interface KeepAspectGeometry {
  /** Size of the resized image placed at the top-left. */
  scaledHeight: number;
  scaledWidth: number;
  /** min(H/h, W/w), float32 as TF computes it. */
  scale: number;
}

/**
 * TAO resize_and_pad: scale = min(H/h, W/w) in float32; scaled = int32(scale · h) — truncation,
 * as TF's cast does, not rounding. Clamped to ≥ 1 so thin images still get a pixel.
 */
export function keepAspectGeometry(h: number, w: number, H: number, W: number): KeepAspectGeometry {
  const f = Math.fround;
  const scale = Math.min(f(H / h), f(W / w));
  const scaledHeight = Math.min(H, Math.max(1, Math.floor(f(scale * h))));
  const scaledWidth = Math.min(W, Math.max(1, Math.floor(f(scale * w))));
  return { scaledHeight, scaledWidth, scale };
}

/**
 * The model tensor for one decoded image, in TAO's order of operations
 * (dataloader_utils.preprocess_image → preprocess_ops.normalize_image, then resize_and_pad):
 *   1. normalize every pixel: (x − mean[c]) · scale[c]
 *   2. keep-aspect-pad: bilinear resize to scaled size, top-left, the rest stays 0 (= the mean);
 *      stretch: bilinear resize straight to H×W (geometry of TAO's --cal_image_dir path)
 *   3. channel order (RGB/BGR) and layout (NCHW/NHWC).
 * `decoded.data` is normalized in place.
 */
export function preprocessDecoded(decoded: DecodedImage, pp: ResolvedPreprocessing, mapping: ResizeMapping = TAO_RESIZE_MAPPING): Float32Array {
  const { width: w, height: h, data } = decoded;
  const H = pp.height;
  const W = pp.width;
  // Model channel k holds image channel src[k] (image data is RGB).
  const src = pp.order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  const m = [0, 0, 0];
  const s = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    m[src[k]!] = pp.mean[k]!;
    s[src[k]!] = pp.scale[k]!;
  }
  const n = w * h * 3;
  const [m0, m1, m2] = m as [number, number, number];
  const [s0, s1, s2] = s as [number, number, number];
  for (let i = 0; i < n; i += 3) {
    data[i] = (data[i]! - m0) * s0;
    data[i + 1] = (data[i + 1]! - m1) * s1;
    data[i + 2] = (data[i + 2]! - m2) * s2;
  }

  // Resize straight into the model layout: model channel k (image channel src[k]) is plane k in
  // NCHW, offset k in NHWC. The padding stays 0, which in normalized space is the mean.
  const out = new Float32Array(H * W * 3);
  const channelOffsets = [0, 0, 0];
  for (let k = 0; k < 3; k++) channelOffsets[src[k]!] = pp.layout === 'nchw' ? k * H * W : k;
  const strides = pp.layout === 'nchw' ? { rowStride: W, pixelStride: 1, channelOffsets } : { rowStride: W * 3, pixelStride: 3, channelOffsets };
  const g = pp.resize === 'keep-aspect-pad' ? keepAspectGeometry(h, w, H, W) : { scaledHeight: H, scaledWidth: W };
  resizeBilinear(data, h, w, 3, g.scaledHeight, g.scaledWidth, mapping, { out, strides });
  return out;
}

/** Decode and preprocess one encoded image (JPEG, PNG, …). */
export async function preprocessImage(bytes: Uint8Array, pp: ResolvedPreprocessing, id: string, mapping: ResizeMapping = TAO_RESIZE_MAPPING): Promise<Float32Array> {
  return preprocessDecoded(await decodeImage(bytes, id), pp, mapping);
}

/** An image to preprocess: a file, or encoded bytes (e.g. a TFRecord's image/encoded). */
export type ImageInput = { path: string } | { bytes: Uint8Array };

/** Preprocesses one image; the in-thread version below, or a worker pool's (loader.ts). */
export type PreprocessFn = (input: ImageInput, pp: ResolvedPreprocessing, id: string) => Promise<Float32Array>;

/** Read a file, mapping file-system errors to StudioErrors that name it. */
export async function readImageFile(file: string): Promise<Uint8Array> {
  try {
    return await readRegularFile(file, IMAGE_FILE_MAX_BYTES, 'Image');
  } catch (e) {
    if (e instanceof StudioError && e.code !== 'E_FILE_NOT_FOUND') throw e;
    const code = ((e as StudioError).cause as NodeJS.ErrnoException | undefined)?.code ?? (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StudioError('E_FILE_NOT_FOUND', `Image not found: ${file}`, 'Check the path; the file may have been moved or deleted.', { file }, { cause: e });
    throw new StudioError('E_FILE_UNREADABLE', `Cannot read image ${file}: ${(e as Error).message}`, 'Check the file permissions.', { file }, { cause: e });
  }
}

/** Preprocess in the calling thread (sharp decodes off-thread; the resize runs here). */
export const preprocessInThread: PreprocessFn = async (input, pp, id) => {
  const bytes = 'bytes' in input ? input.bytes : await readImageFile(input.path);
  return preprocessImage(bytes, pp, id);
};
