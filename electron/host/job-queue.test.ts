// The job queue across GPUs with real forked workers and real exports of the sample model. The
// machine has no GPU: the "GPUs" are indices in the queue (the worker gets CUDA_VISIBLE_DEVICES
// and runs on the CPU), which is exactly what the queue decides on.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEventBatch } from '../../shared/api.js';
import { ExportRequestSchema, type ExportRequest } from '../../shared/request.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { JobManager } from './job-manager.js';
import { forkWorkerFactory, type WorkerFactory } from './worker-process.js';

let root: string;
let S: SampleLayout;
/** Devices whose worker process is alive right now, and every overlap seen at a spawn. */
const live = new Map<string, number>();
const overlaps: string[] = [];
let maxCpu = 0;
let spawnCount = 0;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 4 });
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** A fork factory that watches which device each live worker process holds. */
function watchingFactory(): WorkerFactory {
  const fork = forkWorkerFactory(undefined, { stdio: 'ignore' });
  return (o) => {
    spawnCount++;
    const dev = o.env.CUDA_VISIBLE_DEVICES === '' ? 'cpu' : `gpu${o.env.CUDA_VISIBLE_DEVICES}`;
    const n = live.get(dev) ?? 0;
    if (dev !== 'cpu' && n > 0) overlaps.push(`${dev} already held when ${o.name} spawned`);
    live.set(dev, n + 1);
    if (dev === 'cpu') maxCpu = Math.max(maxCpu, n + 1);
    const w = fork(o);
    w.onExit(() => live.set(dev, (live.get(dev) ?? 1) - 1));
    return w;
  };
}

async function outDir(name: string): Promise<string> {
  const d = path.join(root, name);
  await fs.mkdir(d, { recursive: true });
  return d;
}

function requestFor(dir: string, gpu: number | 'cpu'): ExportRequest {
  return ExportRequestSchema.parse({ model: S.tlt, key: SAMPLE_KEY, spec: S.spec, gpu, outputs: { etlt: path.join(dir, 'model.etlt'), dsConfig: true } });
}

const hold = (ms: number) => ({ EXPORT_STUDIO_TEST_HOOKS: '1', EXPORT_STUDIO_TEST_HOLD_AT: 'deepstream', EXPORT_STUDIO_TEST_HOLD_MS: String(ms) });

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('JobManager queue (real workers, injected GPU indices)', () => {
  it('runs jobs one per GPU: six jobs over a pool of two GPUs never share one, and both GPUs work', async () => {
    overlaps.length = 0;
    const jobs = new JobManager({ spawn: watchingFactory(), killGraceMs: 1000 });
    const states: JobEventBatch[] = [];
    jobs.subscribe((b) => b.state && states.push(b));
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(jobs.start(requestFor(await outDir(`pool-${i}`), 0), { gpuPool: [0, 1] }));
      // Two more that ask for GPU 1 by index: they wait their turn behind the pool's jobs there.
      for (let i = 0; i < 2; i++) ids.push(jobs.start(requestFor(await outDir(`fixed-${i}`), 1)));
      // At once: two started (one per GPU), four queued, each queued one says whom it waits for.
      const now = jobs.list();
      expect(now.filter((j) => j.status === 'starting').map((j) => j.gpu).sort()).toEqual([0, 1]);
      expect(now.filter((j) => j.status === 'queued')).toHaveLength(4);
      for (const j of now.filter((x) => x.status === 'queued')) expect(j.waitingFor?.length, j.jobId).toBeGreaterThan(0);
      const outcomes = await Promise.all(ids.map((id) => jobs.wait(id)));
      for (const o of outcomes) expect(o.ok, JSON.stringify(o)).toBe(true);
      expect(overlaps).toEqual([]);
      const gpus = jobs.list().map((j) => j.gpu);
      expect(new Set(gpus)).toEqual(new Set([0, 1]));
      // The pool GPU a job got is the one in its request (and in its report's command).
      for (const j of jobs.list()) expect(j.request.gpu).toBe(j.gpu);
      // Never two running on one GPU, checked on the state stream too: replay the transitions.
      const holder = new Map<number | 'cpu', string>();
      for (const b of states) {
        const g = b.state?.gpu;
        if (g === null || g === undefined) continue;
        if (b.state?.status === 'starting') {
          expect(holder.get(g), `GPU ${g} taken by ${holder.get(g)} when ${b.jobId} started`).toBeUndefined();
          holder.set(g, b.jobId);
        } else if (['done', 'failed', 'cancelled', 'crashed'].includes(b.state?.status ?? '') && holder.get(g) === b.jobId) holder.delete(g);
      }
    } finally {
      await jobs.dispose();
    }
  });

  it('cancelling one job leaves the others running; the freed GPU goes to the next queued job', async () => {
    overlaps.length = 0;
    const jobs = new JobManager({ spawn: watchingFactory(), killGraceMs: 1000 });
    const events: JobEventBatch[] = [];
    jobs.subscribe((b) => events.push(b));
    const started = (id: string) => events.some((b) => b.jobId === id && b.events.some((e) => e.type === 'stage' && e.stage === 'deepstream' && e.status === 'started'));
    try {
      const dA = await outDir('cancel-a');
      const dB = await outDir('cancel-b');
      const dC = await outDir('cancel-c');
      const a = jobs.start(requestFor(dA, 0), { extraEnv: hold(60_000) });
      const b = jobs.start(requestFor(dB, 1), { extraEnv: hold(4_000) });
      const c = jobs.start(requestFor(dC, 0));
      await waitFor(() => started(a) && started(b), 'A and B to reach deepstream');
      expect(jobs.info(c)?.status).toBe('queued');
      expect(jobs.snapshot(c)?.waitingFor).toEqual([a]);
      const pidB = jobs.info(b)?.pid;
      expect(pidB).toBeTypeOf('number');

      expect(await jobs.cancel(a)).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
      expect(await fs.readdir(dA)).toEqual([]);
      // B is untouched: same process, still running, and it finishes with its outputs.
      expect(jobs.info(b)?.status).toBe('running');
      expect(() => process.kill(pidB as number, 0)).not.toThrow();
      expect(events.filter((x) => x.jobId === b).some((x) => x.events.some((e) => e.type === 'error'))).toBe(false);
      // C got GPU 0 as soon as A's worker was gone.
      await waitFor(() => ['starting', 'running', 'done'].includes(jobs.info(c)?.status ?? ''), 'C to start');
      expect(jobs.info(c)?.gpu).toBe(0);
      const [ob, oc] = await Promise.all([jobs.wait(b), jobs.wait(c)]);
      expect(ob.ok && oc.ok, JSON.stringify([ob, oc])).toBe(true);
      expect((await fs.readdir(dB)).sort()).toEqual(['labels.txt', 'model.etlt', 'model.onnx', 'nvinfer_config.txt']);
      expect(overlaps).toEqual([]);
    } finally {
      await jobs.dispose();
    }
  });

  it('cancelling a queued job ends it at once without a worker, and the queue goes on', async () => {
    const jobs = new JobManager({ spawn: watchingFactory(), killGraceMs: 1000 });
    try {
      const a = jobs.start(requestFor(await outDir('q-a'), 2), { extraEnv: hold(1_500) });
      const b = jobs.start(requestFor(await outDir('q-b'), 2));
      const c = jobs.start(requestFor(await outDir('q-c'), 2));
      const before = spawnCount;
      expect(await jobs.cancel(b)).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
      expect(jobs.snapshot(b)).toMatchObject({ status: 'cancelled', startedAt: null, error: { code: 'E_CANCELLED' } });
      expect((await jobs.wait(a)).ok).toBe(true);
      expect((await jobs.wait(c)).ok).toBe(true);
      expect(spawnCount - before).toBe(1); // only C spawned after the cancel (A was already running)
    } finally {
      await jobs.dispose();
    }
  });

  it('limits CPU jobs to cpuSlots at once', async () => {
    maxCpu = 0;
    const jobs = new JobManager({ spawn: watchingFactory(), killGraceMs: 1000, cpuSlots: 2 });
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(jobs.start(requestFor(await outDir(`cpu-${i}`), 'cpu'), { extraEnv: hold(800) }));
      expect(jobs.list().map((j) => j.status)).toEqual(['starting', 'starting', 'queued']);
      for (const o of await Promise.all(ids.map((id) => jobs.wait(id)))) expect(o.ok).toBe(true);
      expect(maxCpu).toBe(2);
    } finally {
      await jobs.dispose();
    }
  });

  it('refuses at start a job whose outputs another live job writes, naming that job; nothing is queued', async () => {
    const jobs = new JobManager({ spawn: watchingFactory(), killGraceMs: 1000 });
    try {
      const dir = await outDir('busy');
      const a = jobs.start(requestFor(dir, 0), { extraEnv: hold(60_000) });
      const t0 = Date.now();
      let err: unknown;
      try {
        // Same folder, different GPU and another output name: nvinfer_config.txt and labels.txt collide.
        jobs.start(ExportRequestSchema.parse({ ...requestFor(dir, 1), outputs: { etlt: path.join(dir, 'other.etlt'), dsConfig: true } }));
      } catch (e) {
        err = e;
      }
      expect(Date.now() - t0).toBeLessThan(500);
      expect(err).toMatchObject({ code: 'E_OUTPUT_LOCKED', location: { file: path.join(dir, 'nvinfer_config.txt') } });
      expect((err as Error).message).toContain(a.slice(0, 8));
      expect(jobs.list()).toHaveLength(1);
      // Another folder is fine while A runs; the same one is fine once A has ended.
      const other = jobs.start(requestFor(await outDir('busy-other'), 1));
      await jobs.cancel(a);
      const again = jobs.start(requestFor(dir, 0));
      expect((await jobs.wait(again)).ok).toBe(true);
      expect((await jobs.wait(other)).ok).toBe(true);
    } finally {
      await jobs.dispose();
    }
  });

  it('keeps a snapshot per job without the key: request, stages, log tail, artifacts, report; clear forgets finished ones', async () => {
    const jobs = new JobManager({ spawn: watchingFactory(), killGraceMs: 1000 });
    try {
      const running = jobs.start(requestFor(await outDir('snap-run'), 0), { extraEnv: hold(60_000) });
      const id = jobs.start(requestFor(await outDir('snap'), 1));
      expect((await jobs.wait(id)).ok).toBe(true);
      const snap = jobs.snapshot(id);
      expect(snap).toMatchObject({ status: 'done', gpu: 1, request: { model: S.tlt, precision: 'fp32' }, error: null });
      expect(snap?.request).not.toHaveProperty('key');
      expect(snap?.stages.find((s) => s.id === 'write')?.status).toBe('done');
      expect(snap?.stages.find((s) => s.id === 'calibrate')?.status).toBe('skipped');
      expect(snap?.log.length).toBeGreaterThan(0);
      expect(snap?.artifacts.map((a) => path.basename(a.path)).sort()).toEqual(['labels.txt', 'model.etlt', 'model.onnx', 'nvinfer_config.txt']);
      expect(snap?.report?.artifacts.length).toBe(4);
      expect(JSON.stringify(jobs.list())).not.toContain(SAMPLE_KEY);
      expect(jobs.clear(null)).toBe(1);
      expect(jobs.list().map((j) => j.jobId)).toEqual([running]);
    } finally {
      await jobs.dispose();
    }
  });
});
