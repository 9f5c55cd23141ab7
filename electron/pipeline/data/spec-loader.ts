import { StudioError, isStudioError } from '../../../shared/errors.js';
import { decodeExample, readTaoExample } from './example.js';
import { expandFilePattern } from './glob.js';
import { sampleIndices } from './sampling.js';
import { indexTfRecordFile, readTfRecords, type TfRecordIndex, type TfRecordRef } from './tfrecord.js';
import type { ResolvedPreprocessing, Sample, SampleSource } from './types.js';
import { cancelledError } from '../cancel.js';

/**
 * Calibration samples drawn from the training TFRecords named by the spec's
 * data_config.training_file_pattern (TAO's "training data loader" option, which TAO itself does
 * not implement for Mask R-CNN).
 *
 * 1. Expand the pattern (glob.ts), index every file by its headers (tfrecord.ts).
 * 2. Draw `count + reserve` record positions uniformly from the whole dataset with the seed
 *    (sampling.ts); the first `count` are the selection, the rest a reserve in sampled order.
 * 3. `samples()` reads the selection in file order (one pass per file), decodes each Example,
 *    preprocesses image/encoded with the injected function, and yields samples in that order.
 *    Unusable records are skipped and counted by reason; for each skip the next reserve records
 *    are read, in rounds, until `count` samples are out or the reserve is spent.
 *
 * No augmentation: TAO training flips images at random (augment_input_data); calibration must see
 * the images as inference will, so nothing is flipped.
 */

export interface SpecLoaderOptions {
  /** data_config.training_file_pattern. */
  pattern: string;
  /** The spec file's directory: relative patterns are resolved against it. */
  specDir: string;
  /** Samples wanted (batches × batchSize). */
  count: number;
  seed: number;
  preprocessing: ResolvedPreprocessing;
  /** Decodes and preprocesses one image; throws StudioError E_IMAGE_DECODE for an unusable image. */
  preprocess: (bytes: Uint8Array, id: string) => Promise<Float32Array>;
  /** Reserve as a fraction of `count` (default 0.1, rounded up). */
  oversample?: number;
  /** preprocess calls kept in flight (default 4); output order does not depend on it. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called for every skipped record, for the caller's log. */
  onSkip?: (id: string, reason: SkipReason, error: unknown) => void;
}

export const SKIP_REASONS = {
  crc: 'corrupted record (CRC)',
  truncatedRecord: 'truncated record',
  truncatedTail: 'truncated file tail',
  example: 'bad tf.train.Example',
  noImage: 'no image/encoded',
  image: 'undecodable image',
  tooLarge: 'image too large',
} as const;
export type SkipReason = (typeof SKIP_REASONS)[keyof typeof SKIP_REASONS];

interface Pick {
  file: number;
  ref: TfRecordRef;
  id: string;
}

/** "1 234 567" */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

const cancelled = (): StudioError => cancelledError('Reading the TFRecords');

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Applies `fn` with up to `limit` calls in flight and yields results in input order. */
async function* orderedMap<T, R>(source: AsyncIterable<T>, limit: number, fn: (t: T) => Promise<R>): AsyncGenerator<R> {
  const window: Promise<Settled<R>>[] = [];
  const it = source[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      while (!done && window.length < limit) {
        const r = await it.next();
        if (r.done) done = true;
        else
          window.push(
            fn(r.value).then(
              (value): Settled<R> => ({ ok: true, value }),
              (error: unknown): Settled<R> => ({ ok: false, error }),
            ),
          );
      }
      const head = window.shift();
      if (!head) return;
      const s = await head;
      if (!s.ok) throw s.error;
      yield s.value;
    }
  } finally {
    await it.return?.();
    await Promise.allSettled(window);
  }
}

export async function createSpecLoaderSource(opts: SpecLoaderOptions): Promise<SampleSource> {
  const { count, seed, preprocessing } = opts;
  if (!Number.isSafeInteger(count) || count < 0) throw new StudioError('E_USAGE', `calibration sample count must be a non-negative integer, got ${count}`, 'Use batches ≥ 1 and batch size ≥ 1.');
  const files = await expandFilePattern(opts.pattern, opts.specDir);
  const indexes: TfRecordIndex[] = await mapLimit(files, 4, (f) => {
    if (opts.signal?.aborted) throw cancelled();
    return indexTfRecordFile(f, { tail: 'skip', signal: opts.signal });
  });
  const truncatedTails = indexes.filter((ix) => ix.truncatedAt !== null).length;

  // Global record number → (file, record): prefix sums over the files in sorted order.
  const starts: number[] = [];
  let total = 0;
  for (const ix of indexes) {
    starts.push(total);
    total += ix.records.length;
  }
  const locate = (g: number): Pick => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= g) lo = mid;
      else hi = mid - 1;
    }
    const ix = indexes[lo] as TfRecordIndex;
    const ref = ix.records[g - (starts[lo] as number)] as TfRecordRef;
    return { file: lo, ref, id: `${ix.file}#${ref.index}` };
  };

  const reserveCount = Math.ceil(count * (opts.oversample ?? 0.1));
  const drawn = sampleIndices(total, count + reserveCount, seed);
  const primary = drawn
    .slice(0, count)
    .sort((a, b) => a - b)
    .map(locate);
  const reserve = drawn.slice(count).map(locate);
  const selection = [...primary, ...reserve].map((p) => p.id);

  const expected = preprocessing.height * preprocessing.width * 3;
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const skipped = new Map<string, number>();
  const resetSkipped = (): void => {
    skipped.clear();
    if (truncatedTails > 0) skipped.set(SKIP_REASONS.truncatedTail, truncatedTails);
  };
  resetSkipped();

  type Outcome = { sample: Sample } | { skip: SkipReason; id: string; error: unknown };

  /** Records of `picks` read in file order, each with its data or read error. */
  async function* readPicks(picks: readonly Pick[], signal: AbortSignal | undefined): AsyncGenerator<{ pick: Pick; data?: Uint8Array; error?: StudioError }> {
    const sorted = [...picks].sort((a, b) => a.file - b.file || a.ref.index - b.ref.index);
    for (let i = 0; i < sorted.length; ) {
      const file = (sorted[i] as Pick).file;
      const group: Pick[] = [];
      while (i < sorted.length && (sorted[i] as Pick).file === file) group.push(sorted[i++] as Pick);
      const byIndex = new Map(group.map((p) => [p.ref.index, p]));
      for await (const r of readTfRecords(indexes[file] as TfRecordIndex, group.map((p) => p.ref), { signal })) {
        const pick = byIndex.get(r.ref.index) as Pick;
        yield r.error ? { pick, error: r.error } : { pick, data: r.data };
      }
    }
  }

  async function process(item: { pick: Pick; data?: Uint8Array; error?: StudioError }): Promise<Outcome> {
    const { pick, data, error } = item;
    const id = pick.id;
    if (error || !data) return { skip: error?.code === 'E_TFRECORD_CRC' ? SKIP_REASONS.crc : SKIP_REASONS.truncatedRecord, id, error };
    let tao;
    try {
      tao = readTaoExample(decodeExample(data, { file: indexes[pick.file]?.file, dataOffset: pick.ref.offset + 12 }));
    } catch (e) {
      if (isStudioError(e) && e.code === 'E_TFRECORD_EXAMPLE') return { skip: SKIP_REASONS.example, id, error: e };
      throw e;
    }
    if (!tao.ok) return { skip: SKIP_REASONS.noImage, id, error: tao.detail };
    let values: Float32Array;
    try {
      values = await opts.preprocess(tao.example.encoded, id);
    } catch (e) {
      if (isStudioError(e) && e.code === 'E_IMAGE_DECODE') return { skip: SKIP_REASONS.image, id, error: e };
      // Refused from its header (more pixels than the decode limit): skipped like an undecodable one.
      if (isStudioError(e) && e.code === 'E_IMAGE_TOO_LARGE') return { skip: SKIP_REASONS.tooLarge, id, error: e };
      throw e;
    }
    if (values.length !== expected) {
      throw new StudioError('E_PREPROCESSING', `preprocessing returned ${values.length} values for ${id}, expected ${expected} (${preprocessing.height}×${preprocessing.width}×3)`, 'This is a bug in the preprocessing setup; please report it.', {}, { details: { origin: preprocessing.origin } });
    }
    return { sample: { id, data: values } };
  }

  async function* samples(signal?: AbortSignal): AsyncGenerator<Sample> {
    resetSkipped();
    const signals = [opts.signal, signal].filter((s): s is AbortSignal => s !== undefined);
    const sig = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    let produced = 0;
    let reserveAt = 0;
    let round: readonly Pick[] = primary;
    while (round.length > 0) {
      for await (const out of orderedMap(readPicks(round, sig), concurrency, process)) {
        if (sig?.aborted) throw cancelled();
        if ('sample' in out) {
          produced++;
          yield out.sample;
        } else {
          skipped.set(out.skip, (skipped.get(out.skip) ?? 0) + 1);
          opts.onSkip?.(out.id, out.skip, out.error);
        }
      }
      const need = Math.min(count - produced, reserve.length - reserveAt);
      round = need > 0 ? reserve.slice(reserveAt, reserveAt + need) : [];
      reserveAt += round.length;
    }
  }

  const compressed = indexes.filter((ix) => ix.compression !== 'none').length;
  const description =
    `spec loader: ${grouped(files.length)} file${files.length === 1 ? '' : 's'}` +
    (compressed > 0 ? ` (${compressed} compressed)` : '') +
    `, ${grouped(total)} records, sampled ${grouped(primary.length)} (seed ${seed})` +
    (reserve.length > 0 ? ` + ${grouped(reserve.length)} in reserve` : '');

  return {
    description,
    requested: count,
    planned: drawn.length,
    selection,
    samples,
    skipped,
  };
}
