import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as Esbuild from 'esbuild';
import { StudioError } from '../../../shared/errors.js';
import { batchSamples, raceAbort } from './batcher.js';
import { cancelledError } from '../cancel.js';
import type { WorkerReply, WorkerRequest } from './loader-protocol.js';
import type { ImageInput, PreprocessFn } from './preprocess.js';
import type { Batch, ResolvedPreprocessing, SampleSource } from './types.js';

// ---------------------------------------------------------------------------------------------
// Where the worker script is
// ---------------------------------------------------------------------------------------------

let sourceModeWorker: Promise<URL> | undefined;

/**
 * Bundled (import.meta.url ends in .js): `loader-worker.js` next to this bundle. Running from
 * TypeScript sources (vitest): bundle loader-worker.ts with esbuild (a dev dependency, only
 * loaded here) into node_modules/.cache, where the worker can still resolve `sharp`.
 */
export function defaultWorkerUrl(): Promise<URL> {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return Promise.resolve(new URL('./loader-worker.js', here));
  sourceModeWorker ??= buildWorkerFromSource(fileURLToPath(new URL('./loader-worker.ts', here)));
  return sourceModeWorker;
}

async function buildWorkerFromSource(entry: string): Promise<URL> {
  // A computed specifier, so bundling the app does not pull esbuild (a dev dependency) in.
  const name = 'esbuild';
  // eslint-disable-next-line studio/layers -- deliberately computed (see above); dev-only, from TypeScript sources
  const esbuild = (await import(/* @vite-ignore */ name)) as typeof Esbuild;
  const result = await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['sharp'], write: false, logLevel: 'silent' });
  const text = result.outputFiles[0]!.text;
  let dir = path.dirname(entry);
  while (!existsSync(path.join(dir, 'node_modules', 'sharp')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const cache = path.join(dir, 'node_modules', '.cache', 'export-studio');
  await fs.mkdir(cache, { recursive: true });
  const file = path.join(cache, `loader-worker-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, file);
  }
  return new URL(`file://${file}`);
}

// ---------------------------------------------------------------------------------------------
// Worker pool
// ---------------------------------------------------------------------------------------------

export interface PreprocessPool {
  readonly size: number;
  /** Preprocess in a worker; same contract as preprocessInThread. */
  readonly preprocess: PreprocessFn;
  /** Workers not yet exited. */
  readonly liveWorkers: number;
  /** Terminate every worker; pending calls reject with E_CANCELLED. Resolves when all have exited. */
  close(): Promise<void>;
}

export interface PoolOptions {
  /** Worker threads; default max(1, cores − 1). */
  size?: number;
  /** Aborting closes the pool. */
  signal?: AbortSignal;
  /** Override the worker script (tests, unusual bundles). */
  workerUrl?: URL;
}

interface Task {
  resolve: (data: Float32Array) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** Requests posted to this worker and not answered yet, by seq. */
  tasks: Map<number, Task>;
  exited: Promise<void>;
  alive: boolean;
}

export function defaultPoolSize(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

export async function createPreprocessPool(options: PoolOptions = {}): Promise<PreprocessPool> {
  const size = Math.max(1, Math.floor(options.size ?? defaultPoolSize()));
  // sharp must be loaded by the main thread before any worker loads it (lovell/sharp#2263).
  await import('sharp');
  const url = options.workerUrl ?? (await defaultWorkerUrl());
  const slots: Slot[] = [];
  let seq = 0;
  let failure: StudioError | undefined;

  const fail = (err: StudioError) => {
    if (failure) return;
    failure = err;
    for (const s of slots) {
      for (const t of s.tasks.values()) t.reject(err);
      s.tasks.clear();
      if (s.alive) void s.worker.terminate();
    }
  };

  for (let i = 0; i < size; i++) {
    const worker = new Worker(url, { name: `export-studio-preprocess-${i}` });
    const slot: Slot = { worker, tasks: new Map(), alive: true, exited: Promise.resolve() };
    slot.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        slot.alive = false;
        if (!failure) {
          fail(new StudioError('E_WORKER_CRASHED', `Image preprocessing worker ${i} exited unexpectedly (code ${code})`, 'Retry; if it happens again, run with fewer workers or report the images being processed.'));
        }
        resolve();
      });
    });
    worker.on('error', (e) => {
      fail(new StudioError('E_WORKER_CRASHED', `Image preprocessing worker ${i} failed: ${e.message}`, 'Retry; if it happens again, report it with the log.', {}, { cause: e }));
    });
    worker.on('message', (reply: WorkerReply) => {
      const t = slot.tasks.get(reply.seq);
      if (!t) return;
      slot.tasks.delete(reply.seq);
      if (slot.tasks.size === 0) worker.unref();
      if (reply.ok) t.resolve(reply.data);
      else t.reject(StudioError.fromData(reply.error));
    });
    // Idle workers must not keep the process alive; busy ones do (ref while tasks are pending).
    worker.unref();
    slots.push(slot);
  }

  const close = async () => {
    fail(cancelledError());
    await Promise.all(slots.map((s) => s.exited));
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  if (options.signal?.aborted) await close();

  const preprocess: PreprocessFn = (input: ImageInput, pp: ResolvedPreprocessing, id: string) => {
    if (failure) return Promise.reject(failure);
    return new Promise<Float32Array>((resolve, reject) => {
      // Copy bytes into an exact-size buffer: transferring a view would detach (or clone) its whole backing buffer.
      const transfer: ArrayBuffer[] = [];
      let msgInput: ImageInput = input;
      if ('bytes' in input) {
        const copy = new Uint8Array(input.bytes); // a copy even for a Node Buffer (whose slice() is a view)
        transfer.push(copy.buffer as ArrayBuffer);
        msgInput = { bytes: copy };
      }
      // Post at once to the least-loaded worker: requests queue inside the worker, so it keeps
      // working while this thread is blocked.
      let slot = slots[0]!;
      for (const c of slots) if (c.tasks.size < slot.tasks.size) slot = c;
      const s = ++seq;
      slot.tasks.set(s, { resolve, reject });
      slot.worker.ref();
      const request: WorkerRequest = { seq: s, input: msgInput, pp, id };
      slot.worker.postMessage(request, transfer);
    });
  };

  return {
    size,
    preprocess,
    get liveWorkers() {
      return slots.filter((s) => s.alive).length;
    },
    close,
  };
}

// ---------------------------------------------------------------------------------------------
// Prefetching batches ahead of the consumer
// ---------------------------------------------------------------------------------------------

export interface PrefetchStats {
  batches: number;
  samples: number;
  /** Total time the consumer waited in next() for a batch. ≈ firstWaitMs means inference never waited after start-up. */
  waitMs: number;
  /** The part of waitMs spent waiting for the first batch (pipeline fill; unavoidable). */
  firstWaitMs: number;
  /** Total time the producer spent assembling batches (not counting time blocked on a full queue). */
  produceMs: number;
}

export interface PrefetchOptions {
  /** Per-sample dims, e.g. sampleDims(pp) = [3, H, W]. */
  sampleDims: readonly number[];
  /** Batches kept ready ahead of the consumer (default 2). */
  depth?: number;
  signal?: AbortSignal;
  /** Drop a last batch shorter than batchSize (fixed-batch engines). Default: keep it. */
  dropPartial?: boolean;
}

export interface PrefetchedBatches extends AsyncIterable<Batch> {
  readonly stats: PrefetchStats;
}

/**
 * Batches from `source`, produced concurrently with the consumer: up to `depth` batches are
 * kept ready, so while the consumer runs inference on one batch the next ones are decoded (in
 * the pool's workers when the source uses one). Order is the source's order.
 */
export function prefetchBatches(source: SampleSource, batchSize: number, options: PrefetchOptions): PrefetchedBatches {
  const depth = Math.max(1, Math.floor(options.depth ?? 2));
  const stats: PrefetchStats = { batches: 0, samples: 0, waitMs: 0, firstWaitMs: 0, produceMs: 0 };
  const { signal } = options;

  return {
    stats,
    [Symbol.asyncIterator](): AsyncIterator<Batch> {
      const ready: Batch[] = [];
      let done = false;
      let error: unknown;
      let stopped = false;
      let wakeConsumer: (() => void) | undefined;
      let wakeProducer: (() => void) | undefined;
      const notifyConsumer = () => {
        wakeConsumer?.();
        wakeConsumer = undefined;
      };

      const producer = (async () => {
        const batches = batchSamples(source.samples(signal), batchSize, options.sampleDims, { dropPartial: options.dropPartial ?? false });
        try {
          let t0 = performance.now();
          for await (const b of batches) {
            stats.produceMs += performance.now() - t0;
            ready.push(b);
            notifyConsumer();
            while (ready.length >= depth && !stopped) await new Promise<void>((r) => (wakeProducer = r));
            if (stopped) break;
            t0 = performance.now();
          }
        } catch (e) {
          error = e;
        } finally {
          done = true;
          notifyConsumer();
        }
      })();

      const stop = async () => {
        stopped = true;
        wakeProducer?.();
        await producer;
      };

      return {
        async next(): Promise<IteratorResult<Batch>> {
          const t0 = performance.now();
          // One macrotask turn, so worker replies queued while the consumer held the thread
          // (a synchronous inference call) reach the producer even when a batch is ready.
          await new Promise<void>((r) => setImmediate(r));
          try {
            while (ready.length === 0 && !done) {
              await raceAbort(new Promise<void>((r) => (wakeConsumer = r)), signal);
            }
          } catch (e) {
            await stop();
            throw e;
          } finally {
            const waited = performance.now() - t0;
            stats.waitMs += waited;
            if (stats.batches === 0) stats.firstWaitMs += waited;
          }
          if (signal?.aborted) {
            await stop();
            throw cancelledError();
          }
          const b = ready.shift();
          if (b) {
            stats.batches++;
            stats.samples += b.count;
            wakeProducer?.();
            wakeProducer = undefined;
            return { value: b, done: false };
          }
          if (error !== undefined) throw error;
          return { value: undefined, done: true };
        },
        async return(): Promise<IteratorResult<Batch>> {
          await stop();
          return { value: undefined, done: true };
        },
      };
    },
  };
}
