/**
 * Held-out images for the fidelity check: never an image the calibration used.
 *
 * - spec loader: the spec's validation_file_pattern when set, else training records outside the
 *   calibration selection (another seed; selected ids excluded);
 * - image folder / image list: the other images of the folder(s) (not selected, reserve included);
 * - tensorfile / cache: the spec's validation_file_pattern, else none ("no held-out data").
 * Image sources fall back to validation_file_pattern when their folder has nothing left.
 */
import path from 'node:path';
import type { Calibration } from '../../../shared/request.js';
import { createImageDirSource, createImageListSource, listImages } from '../data/image-dir.js';
import { calibrationImageFolders } from '../data/image-list.js';
import { createSpecLoaderSource } from '../data/spec-loader.js';
import { expandFilePattern } from '../data/glob.js';
import { preprocessImage, type PreprocessFn } from '../data/preprocess.js';
import { shuffled } from '../data/sampling.js';
import type { ResolvedPreprocessing, Sample, SampleSource } from '../data/types.js';

export interface HeldOutSpec {
  /** Directory of the spec file (patterns are relative to it). */
  dir: string;
  trainingPattern?: string;
  validationPattern?: string;
}

export interface HeldOutRequest {
  calibration: Pick<Calibration, 'source' | 'seed' | 'batches' | 'batchSize' | 'imageDir' | 'images'>;
  spec?: HeldOutSpec;
  images: number;
  pp: ResolvedPreprocessing;
  /** Ids the calibration selected (reserve included); computed from the request when absent. */
  calibrationIds?: readonly string[];
  preprocess?: PreprocessFn;
  signal?: AbortSignal;
}

export type HeldOut = { source: SampleSource; description: string } | { source?: undefined; reason: string };

/** A different but fixed seed for held-out draws from the calibration pool. */
export const heldOutSeed = (seed: number): number => (seed ^ 0x5f3759df) >>> 0;

/**
 * The calibration selection for this request, rebuilt with the calibration's own source and seed
 * (selection is decided before any decoding, so this costs a directory listing or a TFRecord index).
 */
export async function calibrationSelection(req: Pick<HeldOutRequest, 'calibration' | 'spec' | 'pp' | 'signal'>): Promise<readonly string[]> {
  const c = req.calibration;
  const count = c.batches * c.batchSize;
  if (c.source === 'spec-loader' && req.spec?.trainingPattern) {
    const src = await createSpecLoaderSource({ pattern: req.spec.trainingPattern, specDir: req.spec.dir, count, seed: c.seed, preprocessing: req.pp, preprocess: async () => new Float32Array(0), ...(req.signal ? { signal: req.signal } : {}) });
    return src.selection;
  }
  if (c.source === 'image-dir' && c.imageDir) return (await createImageDirSource({ dir: c.imageDir, count, seed: c.seed, pp: req.pp })).selection;
  if (c.source === 'images' && c.images?.length) return c.images.map((f) => path.resolve(f));
  return [];
}

export async function selectHeldOut(req: HeldOutRequest): Promise<HeldOut> {
  const c = req.calibration;
  const exclude = new Set(req.calibrationIds ?? (await calibrationSelection(req)));
  const fromValidation = async (): Promise<HeldOut | undefined> => {
    const pattern = req.spec?.validationPattern;
    if (!pattern || !req.spec) return undefined;
    return specRecords(req, pattern, req.spec.dir, exclude, req.calibration.seed, 'validation_file_pattern');
  };
  if (c.source === 'spec-loader') {
    const v = await fromValidation();
    if (v) return v;
    if (!req.spec?.trainingPattern) return { reason: 'no held-out data: the spec has no validation_file_pattern or training_file_pattern' };
    return specRecords(req, req.spec.trainingPattern, req.spec.dir, exclude, heldOutSeed(c.seed), 'training records not used for calibration');
  }
  if (c.source === 'image-dir' || c.source === 'images') {
    const dirs = calibrationImageFolders(c);
    const files: string[] = [];
    for (const d of dirs) files.push(...(await listImages(d).catch(() => [])));
    const unused = files.filter((f) => !exclude.has(f));
    if (unused.length > 0) {
      // Seeded pick, then name order, like the calibration folder source.
      const picked = shuffled(unused, heldOutSeed(c.seed)).slice(0, req.images + Math.max(4, Math.ceil(req.images / 10)));
      const main = picked.slice(0, req.images).sort(byCodeUnit);
      const rest = picked.slice(req.images);
      const source = createImageListSource({ files: [...main, ...rest], count: Math.min(req.images, main.length), pp: req.pp, ...(req.preprocess ? { preprocess: req.preprocess } : {}) });
      return { source, description: `${main.length} image(s) of ${dirs.map((d) => path.resolve(d)).join(', ')} not used for calibration (${unused.length} available)` };
    }
    return (await fromValidation()) ?? { reason: `no held-out data: every image in ${dirs.join(', ')} was used for calibration and the spec has no validation_file_pattern` };
  }
  return (await fromValidation()) ?? { reason: `no held-out data: calibration source '${c.source}' has no image pool to hold out from, and no spec validation_file_pattern is set` };
}

async function specRecords(req: HeldOutRequest, pattern: string, specDir: string, exclude: ReadonlySet<string>, seed: number, what: string): Promise<HeldOut> {
  const files = new Set(await expandFilePattern(pattern, specDir));
  // Only excluded ids from these files can be drawn; draw that many extra so enough remain.
  let overlap = 0;
  for (const id of exclude) if (files.has(id.slice(0, id.lastIndexOf('#')))) overlap++;
  const src = await createSpecLoaderSource({
    pattern,
    specDir,
    count: req.images + overlap,
    seed,
    preprocessing: req.pp,
    preprocess: (bytes, id) => preprocessImage(bytes, req.pp, id),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  const source = excluding(src, exclude, req.images);
  if (source.selection.length === 0) return { reason: `no held-out data: every record of ${pattern} was used for calibration` };
  return { source, description: `${what}: ${src.description}` };
}

/** `src` without the excluded ids, stopping after `limit` samples. */
export function excluding(src: SampleSource, exclude: ReadonlySet<string>, limit: number): SampleSource {
  const selection = src.selection.filter((id) => !exclude.has(id));
  return {
    description: src.description,
    requested: Math.min(limit, selection.length),
    planned: selection.length,
    selection,
    skipped: src.skipped,
    async *samples(signal?: AbortSignal): AsyncGenerator<Sample> {
      if (limit <= 0) return;
      let n = 0;
      for await (const s of src.samples(signal)) {
        if (exclude.has(s.id)) continue;
        yield s;
        if (++n >= limit) return;
      }
    },
  };
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
