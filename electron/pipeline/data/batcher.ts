import { StudioError } from '../../../shared/errors.js';
import type { Batch, Sample } from './types.js';
import { cancelledError, throwIfAborted } from '../cancel.js';


/** `p`, or a rejection with E_CANCELLED as soon as `signal` aborts. */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(cancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export type Settled<T, R> = { item: T; ok: true; value: R } | { item: T; ok: false; error: unknown };

/**
 * Run `fn` over `items` with up to `concurrency` calls in flight, yielding results **in input
 * order**. Items are pulled lazily, so a consumer that stops early leaves at most `concurrency`
 * extra calls started (their results are dropped; their rejections are caught).
 */
export async function* mapOrdered<T, R>(
  items: Iterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<R>,
  signal?: AbortSignal,
): AsyncGenerator<Settled<T, R>> {
  const it = items[Symbol.iterator]();
  const window: Promise<Settled<T, R>>[] = [];
  const fill = () => {
    while (window.length < Math.max(1, concurrency)) {
      const next = it.next();
      if (next.done) return;
      const item = next.value;
      window.push(
        fn(item).then(
          (value): Settled<T, R> => ({ item, ok: true, value }),
          (error: unknown): Settled<T, R> => ({ item, ok: false, error }),
        ),
      );
    }
  };
  fill();
  while (window.length > 0) {
    throwIfAborted(signal);
    const head = await raceAbort(window.shift()!, signal);
    throwIfAborted(signal);
    fill();
    yield head;
  }
}

/** [count, ...sampleDims] batches of consecutive samples; the last one may be short unless dropped. */
export async function* batchSamples(
  samples: AsyncIterable<Sample>,
  batchSize: number,
  sampleDims: readonly number[],
  options: { dropPartial?: boolean } = {},
): AsyncGenerator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const per = sampleDims.reduce((a, b) => a * b, 1);
  let pending: Sample[] = [];
  const make = (group: Sample[]): Batch => {
    const data = new Float32Array(group.length * per);
    group.forEach((s, i) => {
      if (s.data.length !== per) {
        throw new StudioError('E_INTERNAL', `Sample ${s.id} has ${s.data.length} values, expected ${per} (${sampleDims.join('×')})`, 'This is a bug; please report it.');
      }
      data.set(s.data, i * per);
    });
    return { ids: group.map((s) => s.id), count: group.length, dims: [group.length, ...sampleDims], data };
  };
  for await (const s of samples) {
    pending.push(s);
    if (pending.length === batchSize) {
      const group = pending;
      pending = [];
      yield make(group);
    }
  }
  if (pending.length > 0 && !options.dropPartial) yield make(pending);
}
