import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { SpecSummary, TensorPreview } from '../../shared/api.js';
import { StudioError } from '../../shared/errors.js';
import type { ModelSummary } from '../../shared/report.js';
import { quickKeyCheck, readModel } from '../pipeline/model/index.js';
import { decodeModel, inspectModel as summarize, validateModelGraph } from '../pipeline/onnx/index.js';
import { loadSpec } from '../pipeline/spec/index.js';
import { checkSpecDataRoots, expandFilePattern } from '../pipeline/data/glob.js';
import { checkInsideRoots } from '../pipeline/io/roots.js';
import { indexTfRecordFile } from '../pipeline/data/tfrecord.js';
import { decodeImage, MAX_DECODE_PIXELS, tooManyPixels } from '../pipeline/data/decode.js';
import { IMAGE_EXTENSIONS } from '../pipeline/data/image-dir.js';
import { keepAspectGeometry, preprocessDecoded, readImageFile, resolvePreprocessing } from '../pipeline/data/preprocess.js';
import { decodeBmp, isBmp } from '../pipeline/data/bmp.js';
import { preflightRequest } from '../pipeline/preflight.js';

import type { ReaderCalls, ReaderMethod } from './protocol.js';

// The reader lives for the whole session: libvips' operation cache would keep the pixels of the
// last large decode/preview alive after the reply. Results are cached by ThumbnailService instead.
sharp.cache(false);

/** Largest tensor preview (H × W): 4096² is 200 MB of float32 in the reader, freed after the reply. */
export const MAX_PREVIEW_PIXELS = 4096 * 4096;

/**
 * The wizard's heavy reads. They run in the reader worker process, never in Electron's main or
 * the web server's process: a 300 MB model decrypt or a folder of 20 MP photos must not freeze
 * the UI or the HTTP server.
 */

type Args<M extends ReaderMethod> = ReaderCalls[M]['args'];
type Res<M extends ReaderMethod> = ReaderCalls[M]['result'];

export async function inspectModelRead({ path: file, key }: Args<'inspectModel'>): Promise<ModelSummary> {
  // The quick check fails a wrong key in milliseconds, before the whole file is read.
  await quickKeyCheck(file, key);
  const m = await readModel(file, key);
  validateModelGraph(decodeModel(m.onnx), file);
  return summarize(m.onnx, {
    format: m.format,
    ...(m.etltInputName ? { etltInputName: m.etltInputName } : {}),
    fileBytes: m.fileBytes,
    sha256: m.sha256,
    modelPath: file,
  });
}

/** Files indexed concurrently when counting TFRecord records. */
const INDEX_CONCURRENCY = 4;

export async function parseSpecRead({ path: file, roots }: Args<'parseSpec'>): Promise<SpecSummary> {
  const abs = path.resolve(file);
  if (roots) await checkInsideRoots(abs, roots);
  const { spec, warnings } = await loadSpec(abs);
  const dc = spec.experiment.data_config;
  const specDir = path.dirname(abs);
  // Web mode: the data the spec names, before any of it is looked at.
  if (roots) await checkSpecDataRoots(dc, specDir, roots);
  const out: SpecSummary = {
    path: abs,
    imageSize: spec.imageSize ?? [0, 0],
    numClasses: spec.numClasses,
    trainingFilePattern: dc.training_file_pattern,
    validationFilePattern: dc.validation_file_pattern,
    valJsonFile: dc.val_json_file,
    trainingFiles: [],
    valJsonFound: false,
    warnings: warnings.map((w) => ({ message: w.message, line: w.line, column: w.column })),
  };
  if (dc.val_json_file) {
    out.valJsonFound = await fs.stat(path.resolve(specDir, dc.val_json_file)).then((s) => s.isFile(), () => false);
  }
  if (dc.training_file_pattern.trim() !== '') {
    let files: string[] = [];
    try {
      files = await expandFilePattern(dc.training_file_pattern, specDir, { roots: roots ?? null });
    } catch (e) {
      // A pattern that matches nothing is a warning here: the wizard may still calibrate from images.
      const msg = e instanceof StudioError ? `${e.message} (${e.hint})` : String(e);
      const at = spec.set['data_config.training_file_pattern'];
      out.warnings.push({ message: msg, line: at?.line ?? 0, column: at?.column ?? 0 });
    }
    const counts: { path: string; records: number }[] = new Array(files.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < files.length; i = next++) {
        const f = files[i] as string;
        try {
          const index = await indexTfRecordFile(f, { tail: 'skip' });
          counts[i] = { path: f, records: index.records.length };
        } catch (e) {
          counts[i] = { path: f, records: 0 };
          out.warnings.push({ message: e instanceof Error ? e.message : String(e), line: 0, column: 0 });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(INDEX_CONCURRENCY, files.length) }, worker));
    out.trainingFiles = counts;
  }
  return out;
}

export async function listImagesRead({ dir }: Args<'listImages'>): Promise<Res<'listImages'>> {
  const abs = path.resolve(dir);
  let entries: Dirent[];
  try {
    entries = await fs.readdir(abs, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StudioError('E_IMAGE_DIR', `Image folder not found: ${abs}`, 'Choose an existing folder of images.', { file: abs });
    if (code === 'ENOTDIR') throw new StudioError('E_IMAGE_DIR', `Not a folder: ${abs}`, 'Choose the folder that holds the images, not an image file.', { file: abs });
    throw new StudioError('E_FILE_UNREADABLE', `Cannot read folder ${abs}: ${(e as Error).message}`, 'Check the folder permissions.', { file: abs });
  }
  const exts = new Set(IMAGE_EXTENSIONS);
  const names = entries
    .filter((d) => (d.isFile() || d.isSymbolicLink()) && !d.name.startsWith('.') && exts.has(path.extname(d.name).toLowerCase()))
    .map((d) => d.name)
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const images: Res<'listImages'>['images'] = [];
  for (const name of names) {
    const full = path.join(abs, name);
    const st = await fs.stat(full).catch(() => null);
    if (st?.isFile()) images.push({ name, path: full, bytes: st.size });
  }
  return { dir: abs, images };
}

/** A display thumbnail (EXIF-rotated for the eye, unlike the tensor path), at most size×size. */
export async function thumbnailRead({ path: file, size }: Args<'thumbnail'>): Promise<Res<'thumbnail'>> {
  const bytes = await readImageFile(file);
  let img: Sharp;
  if (isBmp(bytes)) {
    const bmp = decodeBmp(bytes);
    img = sharp(Buffer.from(bmp.data.buffer, bmp.data.byteOffset, bmp.data.byteLength), { raw: { width: bmp.width, height: bmp.height, channels: 3 } });
  } else {
    // The size from the header first: a 14000×14000 image is refused with its own code, not decoded.
    const meta = await sharp(bytes, { failOn: 'error', limitInputPixels: false }).metadata().catch(() => null);
    if (meta && (meta.width ?? 0) * (meta.height ?? 0) > MAX_DECODE_PIXELS) throw tooManyPixels(file, meta.width ?? 0, meta.height ?? 0);
    img = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_DECODE_PIXELS }).rotate();
  }
  try {
    const { data, info } = await img
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#808080' })
      .jpeg({ quality: 78, mozjpeg: false })
      .toBuffer({ resolveWithObject: true });
    return { jpeg: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (e) {
    throw new StudioError('E_IMAGE_DECODE', `Cannot decode image ${file}: ${(e as Error).message}`, 'The file is truncated, corrupt or not an image.', { file }, { cause: e });
  }
}

/**
 * The tensor the model will see for one image, made visible: preprocess exactly as calibration
 * does, then undo the normalisation ((x / scale) + mean per channel, back to RGB) so padding and
 * resize are shown as the network gets them. Stats are over the normalised tensor.
 */
export async function previewTensorRead({ path: file, specPath, preprocessing, resize, roots }: Args<'previewTensor'>): Promise<TensorPreview> {
  let specImageSize: [number, number] | undefined;
  if (roots) {
    await checkInsideRoots(file, roots);
    if (specPath) await checkInsideRoots(specPath, roots);
  }
  if (specPath) {
    const { spec } = await loadSpec(specPath);
    // Web mode: a spec whose data lies outside the roots is refused here as everywhere else.
    if (roots) await checkSpecDataRoots(spec.experiment.data_config, path.dirname(path.resolve(specPath)), roots);
    specImageSize = spec.imageSize;
  }
  const pp = resolvePreprocessing({ ...(preprocessing ?? { preset: 'tao-maskrcnn' }), resize }, specImageSize ? { specImageSize } : {});
  // Checked before decoding: the tensor, its RGB copy and the PNG grow with H×W, not with the image.
  if (pp.height * pp.width > MAX_PREVIEW_PIXELS) {
    throw new StudioError('E_IMAGE_TOO_LARGE', `A ${pp.height}×${pp.width} tensor preview is more than the ${MAX_PREVIEW_PIXELS}-pixel limit`, 'Preview at the model input size (at most 4096×4096); the export itself is not limited by this.', {}, { details: { height: pp.height, width: pp.width, limit: MAX_PREVIEW_PIXELS } });
  }
  const decoded = await decodeImage(await readImageFile(file), file);
  const { width: w, height: h } = decoded;
  const H = pp.height;
  const W = pp.width;
  const content = pp.resize === 'keep-aspect-pad' ? (() => {
    const g = keepAspectGeometry(h, w, H, W);
    return { width: g.scaledWidth, height: g.scaledHeight };
  })() : { width: W, height: H };
  const tensor = preprocessDecoded(decoded, pp);

  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < tensor.length; i++) {
    const v = tensor[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const rgb = denormalise(tensor, pp.height, pp.width, pp.mean, pp.scale, pp.order, pp.layout);
  const png = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
  return {
    png: `data:image/png;base64,${png.toString('base64')}`,
    width: W,
    height: H,
    content,
    stats: { min, max, mean: tensor.length ? sum / tensor.length : 0 },
    preprocessing: { mean: [...pp.mean], scale: [...pp.scale], order: pp.order, layout: pp.layout, resize: pp.resize, origin: pp.origin },
  };
}

/** Model tensor (channel order and layout of the model) → interleaved RGB bytes. */
export function denormalise(
  t: Float32Array,
  H: number,
  W: number,
  mean: readonly number[],
  scale: readonly number[],
  order: 'rgb' | 'bgr',
  layout: 'nchw' | 'nhwc',
): Buffer {
  const plane = H * W;
  const out = Buffer.alloc(plane * 3);
  // Model channel k holds image channel dst[k].
  const dst = order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  for (let k = 0; k < 3; k++) {
    const m = mean[k] as number;
    const s = scale[k] as number;
    const d = dst[k] as number;
    for (let i = 0; i < plane; i++) {
      const v = layout === 'nchw' ? (t[k * plane + i] as number) : (t[i * 3 + k] as number);
      const px = Math.round(v / s + m);
      out[i * 3 + d] = px < 0 ? 0 : px > 255 ? 255 : px;
    }
  }
  return out;
}

/** Web mode: the spec inside the roots, then the data it names (from its text; nothing of the data is read). */
export async function checkSpecRootsRead({ spec, roots }: Args<'checkSpecRoots'>): Promise<null> {
  const specPath = path.resolve(spec);
  await checkInsideRoots(specPath, roots);
  await checkSpecDataRoots((await loadSpec(specPath)).spec.experiment.data_config, path.dirname(specPath), roots);
  return null;
}

type Handler<M extends ReaderMethod> = (args: Args<M>) => Promise<Res<M>>;

export const READERS: { [M in ReaderMethod]: Handler<M> } = {
  inspectModel: inspectModelRead,
  parseSpec: parseSpecRead,
  listImages: listImagesRead,
  thumbnail: thumbnailRead,
  previewTensor: previewTensorRead,
  preflight: async ({ request, roots }) => {
    if (roots && request.spec) await checkSpecRootsRead({ spec: request.spec, roots });
    return preflightRequest(request);
  },
  checkSpecRoots: checkSpecRootsRead,
};
