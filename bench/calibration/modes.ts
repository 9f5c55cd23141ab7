import fs from 'node:fs';
import os from 'node:os';
import ort from 'onnxruntime-node';
import { runCalibration } from '../../electron/pipeline/calibrate/engine.js';
import { createImageListSource } from '../../electron/pipeline/data/image-dir.js';
import { createPreprocessPool, prefetchBatches } from '../../electron/pipeline/data/loader.js';
import type { Batch, ResolvedPreprocessing } from '../../electron/pipeline/data/types.js';
import { createSession, type ProviderChoice } from '../../electron/pipeline/runtime/index.js';
import { readBatches, type DatasetInfo } from './dataset.js';
import { runNaive } from './naive.js';

/**
 * What one child process measures. Each mode runs alone in a fresh process so its peak RSS
 * (VmHWM) is its own. `*-loader` modes decode the photos through the real data loader
 * (worker-thread preprocessing + prefetch) instead of reading preprocessed samples.
 */
export const MODES = ['plain', 'naive', 'entropy', 'entropy-exact', 'minmax', 'percentile', 'plain-loader', 'entropy-loader'] as const;
export type Mode = (typeof MODES)[number];

export interface ModeConfig {
  mode: Mode;
  modelFile: string;
  inputName: string;
  dataset: DatasetInfo;
  count: number;
  batchSize: number;
  provider: ProviderChoice;
  /** For the *-loader modes: `count` distinct image paths and the preprocessing. */
  photos?: string[];
  pp?: ResolvedPreprocessing;
  naiveCapMb: number;
  naiveOptimization: 'disabled' | 'all';
  threads?: number;
}

export interface ModeResult {
  mode: Mode;
  ok: boolean;
  /** Wall time from model bytes in memory to the result (session creation included). */
  seconds: number;
  /** User + system CPU time of the whole child (all threads): steadier than wall time on a shared machine. */
  cpuSeconds: number;
  samples: number;
  /** Peak resident set (VmHWM) of the child, MiB. */
  peakRssMb: number;
  /** Time inside ONNX Runtime's run() (all runs, summed), seconds. */
  ortSeconds: number;
  /**
   * Time between the end of one run() and the start of the next: waiting for data plus JS work
   * between runs. (A consumer that asks for batch k+1 before running batch k makes the loader's
   * own "waited in next()" figure include inference time, so it is not used.)
   */
  gapSeconds: number;
  runs: number;
  /** Provider that actually ran ('cpu', 'webgpu', 'cuda:0'), and the fallback notice if any. */
  provider: string;
  notice?: string;
  /** Mode-specific detail for the table: tensors calibrated, runs, stored MB, … */
  detail: string;
  error?: string;
  loadavg: number[];
}

/** Peak RSS in MiB: VmHWM from /proc where there is one, else getrusage's maxrss. */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

function workerUrl(): URL | undefined {
  // The bench bundle lives in out/bench/; `node scripts/build.mjs` puts the loader worker in out/pipeline/data/.
  for (const rel of ['./loader-worker.js', '../pipeline/data/loader-worker.js']) {
    const u = new URL(rel, import.meta.url);
    if (u.protocol === 'file:' && fs.existsSync(u)) return u;
  }
  return undefined;
}

interface Feed {
  batches: AsyncIterable<Batch>;
  close(): Promise<void>;
}

export interface RunTimes {
  runs: number;
  ortSeconds: number;
  gapSeconds: number;
}

/**
 * Times every InferenceSession.run() in this process (the engine's too) by wrapping the shared
 * prototype method: run() holds the JS thread for the whole native inference, so the time from
 * its call to its resolution is the inference, and the gaps between runs are everything else.
 */
export function instrumentRuns(): { times: RunTimes; restore: () => void } {
  const t: RunTimes = { runs: 0, ortSeconds: 0, gapSeconds: 0 };
  // Typed as a factory; at run time it is the class whose prototype every session shares.
  const proto = (ort.InferenceSession as unknown as { prototype: { run: (...a: unknown[]) => Promise<unknown> } }).prototype;
  const original = proto.run;
  let lastEnd: number | undefined;
  proto.run = async function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now();
    if (lastEnd !== undefined) t.gapSeconds += (t0 - lastEnd) / 1000;
    try {
      return await original.apply(this, args);
    } finally {
      lastEnd = performance.now();
      t.ortSeconds += (lastEnd - t0) / 1000;
      t.runs++;
    }
  };
  return {
    times: t,
    restore: () => {
      proto.run = original;
    },
  };
}

async function makeFeed(cfg: ModeConfig, fromLoader: boolean): Promise<Feed> {
  if (!fromLoader) {
    return { batches: readBatches(cfg.dataset, cfg.count, cfg.batchSize), close: async () => undefined };
  }
  if (!cfg.photos || !cfg.pp) throw new Error(`${cfg.mode} needs photos and preprocessing`);
  const url = workerUrl();
  const pool = await createPreprocessPool(url ? { workerUrl: url } : {});
  // `photos` holds `count` distinct paths (the parent links repeated photos under new names: the list source drops duplicate paths).
  const source = createImageListSource({ files: cfg.photos.slice(0, cfg.count), pp: cfg.pp, preprocess: pool.preprocess, concurrency: pool.size + 1 });
  const pre = prefetchBatches(source, cfg.batchSize, { sampleDims: cfg.dataset.sampleDims });
  return { batches: pre, close: () => pool.close() };
}

async function runPlain(cfg: ModeConfig, bytes: Uint8Array, feed: Feed): Promise<Pick<ModeResult, 'samples' | 'provider' | 'notice' | 'detail'>> {
  const s = await createSession(bytes, { provider: cfg.provider, optimization: 'all', ...(cfg.threads ? { threads: cfg.threads } : {}) });
  try {
    let samples = 0;
    for await (const b of feed.batches) {
      const out = await s.session.run({ [cfg.inputName]: new ort.Tensor('float32', b.data, b.dims) });
      for (const t of Object.values(out)) t.dispose();
      samples += b.count;
    }
    return { samples, provider: s.provider, ...(s.notice ? { notice: s.notice } : {}), detail: '' };
  } finally {
    await s.release();
  }
}

async function runEngine(
  cfg: ModeConfig,
  bytes: Uint8Array,
  feed: Feed,
  algorithm: 'entropy' | 'minmax' | 'percentile',
  histogram?: 'sampled' | 'exact',
): Promise<Pick<ModeResult, 'samples' | 'provider' | 'notice' | 'detail'>> {
  const r = await runCalibration({
    ...(histogram ? { histogram } : {}),
    model: bytes,
    inputName: cfg.inputName,
    batches: feed.batches,
    totalBatches: Math.ceil(cfg.count / cfg.batchSize),
    algorithm,
    percentile: 99.99,
    provider: cfg.provider,
    ...(cfg.threads ? { threads: cfg.threads } : {}),
  });
  const detail = `${r.tensors.length} tensors, ${r.uncalibrated.length} uncalibrated, ${r.runs} runs, ${r.method} statistics, setup ${r.setupSeconds.toFixed(2)} s, runs ${r.timing.inference.toFixed(2)} s, JS statistics ${r.timing.statistics.toFixed(2)} s, thresholds ${r.timing.thresholds.toFixed(2)} s`;
  return { samples: r.samples, provider: r.provider, ...(r.notice ? { notice: r.notice } : {}), detail };
}

async function runNaiveMode(cfg: ModeConfig, bytes: Uint8Array, feed: Feed): Promise<Pick<ModeResult, 'samples' | 'provider' | 'detail' | 'error'>> {
  const r = await runNaive(bytes, feed.batches, cfg.count, { inputName: cfg.inputName, graphOptimizationLevel: cfg.naiveOptimization, capMb: cfg.naiveCapMb });
  const detail = `${r.tensors} tensors, stored ${r.storedMb.toFixed(0)} MiB`;
  if (r.capped) {
    return {
      samples: r.capped.afterSamples,
      provider: 'cpu',
      detail,
      error: `stopped after ${r.capped.afterSamples} images at the ${cfg.naiveCapMb} MiB store cap; all ${cfg.count} would store ~${r.capped.projectedMb.toFixed(0)} MiB`,
    };
  }
  return { samples: cfg.count, provider: 'cpu', detail };
}

/** Runs one mode in this process and reports it; never throws (errors go into the result). */
export async function runMode(cfg: ModeConfig): Promise<ModeResult> {
  const { times } = instrumentRuns();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const cpuSeconds = () => {
    const u = process.cpuUsage(cpu0);
    return (u.user + u.system) / 1e6;
  };
  const base = { mode: cfg.mode, samples: 0, provider: describe(cfg.provider), detail: '' };
  let feed: Feed | undefined;
  try {
    const bytes = fs.readFileSync(cfg.modelFile);
    feed = await makeFeed(cfg, cfg.mode.endsWith('-loader'));
    let part: Pick<ModeResult, 'samples' | 'provider' | 'detail'> & { notice?: string; error?: string };
    switch (cfg.mode) {
      case 'plain':
      case 'plain-loader':
        part = await runPlain(cfg, bytes, feed);
        break;
      case 'naive':
        part = await runNaiveMode(cfg, bytes, feed);
        break;
      case 'entropy':
      case 'entropy-loader':
        part = await runEngine(cfg, bytes, feed, 'entropy');
        break;
      case 'entropy-exact':
        part = await runEngine(cfg, bytes, feed, 'entropy', 'exact');
        break;
      case 'minmax':
      case 'percentile':
        part = await runEngine(cfg, bytes, feed, cfg.mode);
        break;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { ...base, ...part, ...times, ok: part.error === undefined, seconds, cpuSeconds: cpuSeconds(), peakRssMb: peakRssMb(), loadavg: os.loadavg() };
  } catch (e) {
    const msg = e instanceof Error ? `${e.message}${'hint' in e && typeof e.hint === 'string' ? ` (${e.hint})` : ''}` : String(e);
    return { ...base, ...times, ok: false, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds(), peakRssMb: peakRssMb(), error: msg, loadavg: os.loadavg() };
  } finally {
    await feed?.close();
  }
}

function describe(p: ProviderChoice): string {
  return typeof p === 'object' ? `cuda:${p.gpu}` : p;
}
