import path from 'node:path';
import { isStudioError, StudioError } from '../../../shared/errors.js';
import { mapOrdered } from './batcher.js';
import { throwIfAborted } from '../cancel.js';
import { preprocessInThread, type PreprocessFn } from './preprocess.js';
import { sampleIndices } from './sampling.js';
import type { ResolvedPreprocessing, Sample, SampleSource } from './types.js';
import { IMAGE_EXTENSIONS, NOISE_HINT, listImages } from './image-list.js';

export { IMAGE_EXTENSIONS, listImages };

/** Extensions taken from an image folder (compared case-insensitively). TAO takes jpg/jpeg/png, case-sensitive. */


export interface ImageSourceOptions {
  pp: ResolvedPreprocessing;
  /** Preprocess one image; defaults to the in-thread path. Pass a worker pool's `preprocess` to parallelize. */
  preprocess?: PreprocessFn;
  /** Images preprocessed concurrently, ahead of the consumer (default 2; with a worker pool ≈ batchSize × (depth + 1)). */
  concurrency?: number;
}

export interface SkippedImage {
  id: string;
  reason: string;
  message: string;
}

export interface ImageSource extends SampleSource {
  /** Every skipped image with its reason, in order (the `skipped` map counts them). */
  readonly skippedImages: readonly SkippedImage[];
  /** Warnings for the log (duplicates removed, …). */
  readonly warnings: readonly string[];
}

/** Why an image is skipped, or undefined when the error must stop the job. */
function skipReason(e: unknown): string | undefined {
  if (!isStudioError(e)) return undefined;
  if (e.code === 'E_IMAGE_DECODE') return 'undecodable';
  if (e.code === 'E_IMAGE_TOO_LARGE') return 'too large';
  if (e.code === 'E_FILE_NOT_FOUND') return 'missing';
  if (e.code === 'E_FILE_UNREADABLE') return 'unreadable';
  return undefined;
}

interface Plan {
  description: string;
  requested: number;
  /** Used first, in this order. */
  main: string[];
  /** Used in this order only to replace skipped images. */
  reserve: string[];
  warnings: string[];
}

function makeSource(plan: Plan, opts: ImageSourceOptions): ImageSource {
  const skipped = new Map<string, number>();
  const skippedImages: SkippedImage[] = [];
  const preprocess = opts.preprocess ?? preprocessInThread;
  const all = [...plan.main, ...plan.reserve];
  return {
    description: plan.description,
    requested: plan.requested,
    planned: all.length,
    selection: all,
    skipped,
    skippedImages,
    warnings: plan.warnings,
    async *samples(signal?: AbortSignal): AsyncGenerator<Sample> {
      skipped.clear();
      skippedImages.length = 0;
      let produced = 0;
      if (plan.requested === 0) return;
      const results = mapOrdered(all, opts.concurrency ?? 2, (file) => preprocess({ path: file }, opts.pp, file), signal);
      try {
        for await (const r of results) {
          throwIfAborted(signal);
          if (r.ok) {
            yield { id: r.item, data: r.value };
            if (++produced >= plan.requested) return;
            continue;
          }
          const reason = skipReason(r.error);
          if (reason === undefined) throw r.error;
          skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
          skippedImages.push({ id: r.item, reason, message: (r.error as Error).message });
        }
      } finally {
        await results.return(undefined);
      }
    },
  };
}


/** Spare images selected beyond `count` to replace undecodable ones: 10 %, at least 4. */
export function reserveFor(count: number): number {
  return Math.max(4, Math.ceil(count / 10));
}

/**
 * Images from the top level of a folder, sorted by name. With more images than `count`, a
 * seeded random subset (plus a small seeded reserve for skipped images) is used; the main subset
 * is yielded in name order, then reserve images as needed. Fewer images than `count` is not an
 * error here: the caller decides (E_CAL_TOO_FEW_SAMPLES / acceptFewer).
 */
export async function createImageDirSource(options: ImageSourceOptions & { dir: string; count: number; seed: number }): Promise<ImageSource> {
  const files = await listImages(options.dir);
  const { count, seed } = options;
  let main: string[];
  let reserve: string[];
  if (files.length <= count) {
    main = files;
    reserve = [];
  } else {
    const picked = sampleIndices(files.length, count + reserve_(count, files.length), seed);
    main = picked.slice(0, count).sort((a, b) => a - b).map((i) => files[i]!);
    reserve = picked.slice(count).map((i) => files[i]!);
  }
  const description = `image folder ${path.resolve(options.dir)}: ${files.length} images, using ${main.length}${files.length > count ? ` (seed ${seed})` : ''}`;
  return makeSource({ description, requested: count, main, reserve, warnings: [] }, options);
}

function reserve_(count: number, total: number): number {
  return Math.min(total - count, reserveFor(count));
}

/**
 * Exactly the given files, in the given order (what the app's picker sends). Duplicates are
 * removed with a warning. With `count`, the first `count` usable images are used and later ones
 * replace skipped ones; by default all are used.
 */
export function createImageListSource(options: ImageSourceOptions & { files: readonly string[]; count?: number }): ImageSource {
  if (options.files.length === 0) {
    throw new StudioError('E_IMAGE_DIR', 'The calibration image list is empty', `Pick at least one image. ${NOISE_HINT}`);
  }
  const seen = new Set<string>();
  const unique: string[] = [];
  let dupes = 0;
  for (const f of options.files) {
    const abs = path.resolve(f);
    if (seen.has(abs)) dupes++;
    else {
      seen.add(abs);
      unique.push(abs);
    }
  }
  const warnings = dupes > 0 ? [`${dupes} duplicate image path${dupes === 1 ? '' : 's'} removed from the calibration list`] : [];
  const requested = options.count ?? unique.length;
  const description = `image list: ${unique.length} images${requested < unique.length ? `, using the first ${requested}` : ''}`;
  return makeSource({ description, requested, main: unique.slice(0, requested), reserve: unique.slice(requested), warnings }, options);
}
