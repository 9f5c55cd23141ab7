import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEventBatch } from '../../shared/api.js';
import type { JobEvent } from '../../shared/events.js';
import { ExportRequestSchema, type ExportRequest } from '../../shared/request.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { JobManager } from './job-manager.js';
import { ReaderClient } from './reader.js';
import { forkWorkerFactory, type SpawnOptions, type WorkerFactory } from './worker-process.js';

let root: string;
let S: SampleLayout;
let spawned: SpawnOptions[];
let jobs: JobManager;
let batches: JobEventBatch[];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 16 });
  const fork = forkWorkerFactory(undefined, { stdio: 'ignore' });
  spawned = [];
  const spawn: WorkerFactory = (o) => {
    spawned.push(o);
    return fork(o);
  };
  jobs = new JobManager({ spawn, killGraceMs: 1000 });
  batches = [];
  jobs.subscribe((b) => batches.push(b));
});
afterAll(async () => {
  await jobs?.dispose();
  await fs.rm(root, { recursive: true, force: true });
});

async function outDir(name: string): Promise<string> {
  const d = path.join(root, name);
  await fs.mkdir(d, { recursive: true });
  return d;
}

function requestFor(dir: string): ExportRequest {
  return ExportRequestSchema.parse({
    model: S.tlt,
    key: SAMPLE_KEY,
    spec: S.spec,
    gpu: 'cpu',
    outputs: { etlt: path.join(dir, 'model.etlt'), dsConfig: true, report: path.join(dir, 'report.json') },
  });
}

const eventsOf = (jobId: string): JobEvent[] => batches.filter((b) => b.jobId === jobId).flatMap((b) => b.events);

describe('JobManager (forked workers, real exports)', () => {
  it('runs an export in a fresh worker and streams stage, progress, artifact and result events', async () => {
    const dir = await outDir('ok');
    const id = jobs.start(requestFor(dir));
    const outcome = await jobs.wait(id);
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    const ev = eventsOf(id);
    const stages = ev.filter((e) => e.type === 'stage');
    expect(stages.filter((e) => e.status === 'started').map((e) => e.stage)).toEqual(expect.arrayContaining(['validate', 'model', 'inspect', 'write', 'deepstream']));
    expect(ev.some((e) => e.type === 'progress')).toBe(true);
    const artifacts = ev.filter((e) => e.type === 'artifact');
    const files = (await fs.readdir(dir)).sort();
    expect(files).toEqual(['labels.txt', 'model.etlt', 'model.onnx', 'nvinfer_config.txt', 'report.json']);
    expect(artifacts.map((a) => path.basename(a.path)).sort()).toEqual(files);
    expect(ev.at(-1)?.type).toBe('result');
    // The key never appears in any event.
    expect(JSON.stringify(ev)).not.toContain(SAMPLE_KEY);
    // The worker got the CPU environment for gpu: 'cpu'.
    expect(spawned.at(-1)?.env.CUDA_VISIBLE_DEVICES).toBe('');
    expect(jobs.info(id)?.status).toBe('done');
  });

  it('cancel mid-job kills the worker, removes every temp/lock/partial file and reports E_CANCELLED', async () => {
    const dir = await outDir('cancel');
    // Test hook: the worker blocks when the deepstream stage starts, after the .etlt and .onnx are staged.
    const id = jobs.start(requestFor(dir), { extraEnv: { EXPORT_STUDIO_TEST_HOOKS: '1', EXPORT_STUDIO_TEST_HOLD_AT: 'deepstream' } });
    await waitFor(() => eventsOf(id).some((e) => e.type === 'stage' && e.stage === 'deepstream' && e.status === 'started'));
    const staged = await fs.readdir(dir);
    expect(staged.some((n) => n.endsWith('.tmp'))).toBe(true);
    expect(staged.some((n) => n.endsWith('-lock'))).toBe(true);
    const outcome = await jobs.cancel(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
    expect(await fs.readdir(dir)).toEqual([]);
    const last = eventsOf(id).at(-1);
    expect(last).toMatchObject({ type: 'error', error: { code: 'E_CANCELLED' } });
    expect(jobs.info(id)?.status).toBe('cancelled');
  });

  it('cancel during a real INT8 calibration (no test hook) stops the worker and leaves the folder empty', async () => {
    const dir = await outDir('cancel-int8');
    // 16 distinct images take seconds to calibrate; the cancel arrives within milliseconds of the stage start.
    const images = (await fs.readdir(S.calImages)).map((n) => path.join(S.calImages, n));
    const req = ExportRequestSchema.parse({
      ...requestFor(dir),
      precision: 'int8',
      calibration: { source: 'images', images, batches: images.length, batchSize: 1 },
      outputs: { etlt: path.join(dir, 'model.etlt'), cache: path.join(dir, 'cal.bin'), dsConfig: true },
    });
    const id = jobs.start(req);
    await waitFor(() => eventsOf(id).some((e) => e.type === 'stage' && e.stage === 'calibrate' && e.status === 'started'));
    const outcome = await jobs.cancel(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  describe('a cancel that lands while the outputs are being committed', () => {
    // Its own manager: a grace period longer than the commit hold, as the default 3 s is longer than a real commit.
    let slow: JobManager;
    let seen: JobEventBatch[];
    beforeAll(() => {
      slow = new JobManager({ spawn: forkWorkerFactory(undefined, { stdio: 'ignore' }), killGraceMs: 15_000 });
      seen = [];
      slow.subscribe((b) => seen.push(b));
    });
    afterAll(async () => {
      await slow?.dispose();
    });
    const seenOf = (jobId: string): JobEvent[] => seen.filter((b) => b.jobId === jobId).flatMap((b) => b.events);
    const FILES = ['labels.txt', 'model.etlt', 'model.onnx', 'nvinfer_config.txt', 'report.json'];
    const exists = (f: string) => fs.stat(f).then(() => true, () => false);

    it('after every file was placed: the job ends as done with its artifacts and says the cancel came too late', async () => {
      const dir = await outDir('cancel-after-commit');
      // Test hook: the commit pauses (asynchronously) once all five files are in place.
      const id = slow.start(requestFor(dir), { extraEnv: { EXPORT_STUDIO_TEST_HOOKS: '1', EXPORT_STUDIO_TEST_COMMIT_HOLD_AFTER: '5', EXPORT_STUDIO_TEST_COMMIT_HOLD_MS: '1500' } });
      const t0 = Date.now();
      for (;;) {
        if ((await Promise.all(FILES.map((f) => exists(path.join(dir, f))))).every(Boolean)) break;
        if (Date.now() - t0 > 60_000) throw new Error('the commit never placed the files');
        await new Promise((r) => setTimeout(r, 10));
      }
      const outcome = await slow.cancel(id);
      expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
      if (!outcome.ok) return;
      expect(outcome.report.artifacts.map((a) => path.basename(a.path)).sort()).toEqual(FILES);
      expect(outcome.report.warnings.some((w) => w.includes('Cancel arrived while the outputs were being committed'))).toBe(true);
      expect(slow.info(id)?.status).toBe('done');
      expect(slow.snapshot(id)?.status).toBe('done');
      // Exactly the committed files: no temp, lock or journal left, and each matches its announced hash.
      expect((await fs.readdir(dir)).sort()).toEqual(FILES);
      const ev = seenOf(id);
      expect(ev.some((e) => e.type === 'error')).toBe(false);
      expect(ev.filter((e) => e.type === 'artifact').map((a) => path.basename(a.path)).sort()).toEqual(FILES);
      expect(ev.some((e) => e.type === 'result')).toBe(true);
      expect(ev.some((e) => e.type === 'log' && e.text.includes('Cancel came too late to undo the commit'))).toBe(true);
      const final = seen.filter((b) => b.jobId === id && b.state).at(-1);
      expect(final?.state?.status).toBe('done');
    });

    it('a commit that fails after the cancel is rolled back: cancelled, nothing left', async () => {
      const dir = await outDir('cancel-commit-fails');
      // Pause after 2 of 5 files were placed, then an injected I/O error on the third: all rolled back.
      const id = slow.start(requestFor(dir), {
        extraEnv: { EXPORT_STUDIO_TEST_HOOKS: '1', EXPORT_STUDIO_TEST_COMMIT_HOLD_AFTER: '2', EXPORT_STUDIO_TEST_COMMIT_HOLD_MS: '1500', EXPORT_STUDIO_TEST_COMMIT_FAIL_AFTER: '3' },
      });
      const t0 = Date.now();
      while ((await fs.readdir(dir)).filter((n) => !n.startsWith('.')).length < 2) {
        if (Date.now() - t0 > 60_000) throw new Error('the commit never placed the files');
        await new Promise((r) => setTimeout(r, 10));
      }
      const outcome = await slow.cancel(id);
      expect(outcome).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
      expect(slow.info(id)?.status).toBe('cancelled');
      expect(await fs.readdir(dir)).toEqual([]);
      expect(seenOf(id).some((e) => e.type === 'artifact')).toBe(false);
    });
  });

  it('a worker that dies mid-job becomes E_WORKER_CRASHED, is cleaned up, and the next job succeeds', async () => {
    const dir = await outDir('crash');
    const id = jobs.start(requestFor(dir), { extraEnv: { EXPORT_STUDIO_TEST_HOOKS: '1', EXPORT_STUDIO_TEST_CRASH_AT: 'deepstream' } });
    const outcome = await jobs.wait(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'E_WORKER_CRASHED', details: { signal: 'SIGKILL' } } });
    expect(eventsOf(id).at(-1)).toMatchObject({ type: 'error', error: { code: 'E_WORKER_CRASHED' } });
    expect(await fs.readdir(dir)).toEqual([]);
    expect(jobs.info(id)?.status).toBe('crashed');

    const again = jobs.start(requestFor(dir));
    expect((await jobs.wait(again)).ok).toBe(true);
    expect(await fs.readdir(dir)).toContain('model.etlt');
  });

  it('the crash hook is inert without EXPORT_STUDIO_TEST_HOOKS=1', async () => {
    const dir = await outDir('nohooks');
    const id = jobs.start(requestFor(dir), { extraEnv: { EXPORT_STUDIO_TEST_CRASH_AT: 'validate' } });
    expect((await jobs.wait(id)).ok).toBe(true);
  });

  it('passes the chosen GPU to the worker environment', async () => {
    const dir = await outDir('gpu');
    // GPU 1 on a CPU-only machine: the job still runs on CPU; we check the environment it got.
    const id = jobs.start({ ...requestFor(dir), gpu: 1 });
    await jobs.wait(id);
    expect(spawned.at(-1)?.env).toMatchObject({ CUDA_VISIBLE_DEVICES: '1', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' });
  });

  it('unknown job ids are refused', async () => {
    await expect(jobs.cancel('nope')).rejects.toMatchObject({ code: 'E_REQUEST_INVALID' });
  });
});

describe('ReaderClient', () => {
  it('answers calls from a forked reader and restarts it after a crash', async () => {
    const reader = new ReaderClient({ spawn: forkWorkerFactory(undefined, { stdio: 'ignore' }) });
    try {
      const spec = await reader.call('parseSpec', { path: S.spec });
      expect(spec.numClasses).toBe(5);
      const pid = reader.pid;
      expect(pid).toBeTypeOf('number');
      // A slow call in flight when the process dies fails with E_WORKER_CRASHED …
      const pending = reader.call('inspectModel', { path: S.tlt, key: SAMPLE_KEY });
      process.kill(pid as number, 'SIGKILL');
      await expect(pending).rejects.toMatchObject({ code: 'E_WORKER_CRASHED' });
      // … and the next call starts a fresh process.
      const again = await reader.call('listImages', { dir: S.images });
      expect(again.images.length).toBeGreaterThan(0);
      expect(reader.pid).not.toBe(pid);
      expect(reader.starts).toBe(2);
    } finally {
      await reader.dispose();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
