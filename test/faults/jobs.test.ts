import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEventBatch } from '../../shared/api.js';
import type { JobEvent } from '../../shared/events.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { JobManager } from '../../electron/host/job-manager.js';
import { forkWorkerFactory } from '../../electron/host/worker-process.js';
import { EXPORT_STAGES, PRECIOUS, entries, int8Request, waitFor } from './helpers.js';

/**
 * Faults (a) and (b): the worker is killed (SIGKILL, the crash hook) or the job is cancelled
 * (held at the stage by the hold hook, then cancelled) at every stage the export passes through.
 * After the JobManager's cleanup the folder holds exactly what it held before, byte for byte.
 */

let root: string;
let S: SampleLayout;
let jobs: JobManager;
const batches: JobEventBatch[] = [];
const eventsOf = (id: string): JobEvent[] => batches.filter((b) => b.jobId === id).flatMap((b) => b.events);

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'faults-jobs-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 4 });
  // it.concurrent: every CPU job runs at once (the queue's CPU limit is what job-queue.test.ts checks).
  jobs = new JobManager({ spawn: forkWorkerFactory(undefined, { stdio: 'ignore' }), killGraceMs: 500, cpuSlots: 64 });
  jobs.subscribe((b) => batches.push(b));
});
afterAll(async () => {
  await jobs?.dispose();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

async function preparedDir(name: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'model.etlt'), PRECIOUS);
  return dir;
}

async function expectUntouched(dir: string): Promise<void> {
  expect(await entries(dir)).toEqual(['model.etlt']);
  expect(await fs.readFile(path.join(dir, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
}

describe('the sample INT8 export as a JobManager job', () => {
  it('passes through every stage the fault matrix covers (and succeeds without faults)', async () => {
    const dir = await preparedDir('baseline');
    const id = jobs.start(await int8Request(S, dir));
    const outcome = await jobs.wait(id);
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    const started = eventsOf(id).flatMap((e) => (e.type === 'stage' && e.status === 'started' ? [e.stage] : []));
    for (const s of EXPORT_STAGES) expect(started).toContain(s);
    expect(await entries(dir)).toEqual(['cal.bin', 'cal.bin.json', 'cal.calibration.json', 'labels.txt', 'model.etlt', 'model.onnx', 'model.qdq.onnx', 'nvinfer_config.txt', 'report.json']);
    expect((await fs.readFile(path.join(dir, 'model.etlt'))).length).toBeGreaterThan(1000);
  });
});

describe('(a) the worker killed at every stage', () => {
  // Concurrent: each job is its own process, and the wall time halves on two cores.
  it.concurrent.each(EXPORT_STAGES)('SIGKILL at %s → E_WORKER_CRASHED, no temp/lock/partial file, the old file intact', async (stage) => {
    const dir = await preparedDir(`crash-${stage}`);
    const id = jobs.start(await int8Request(S, dir), { extraEnv: { EXPORT_STUDIO_TEST_HOOKS: '1', EXPORT_STUDIO_TEST_CRASH_AT: stage } });
    const outcome = await jobs.wait(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'E_WORKER_CRASHED', details: { signal: 'SIGKILL' } } });
    const ev = eventsOf(id);
    expect(ev.some((e) => e.type === 'stage' && e.stage === stage && e.status === 'started')).toBe(true);
    expect(ev.at(-1)).toMatchObject({ type: 'error', error: { code: 'E_WORKER_CRASHED' } });
    expect(JSON.stringify(ev)).not.toContain(SAMPLE_KEY);
    await expectUntouched(dir);
  });
});

describe('(b) cancel at every stage', () => {
  it.concurrent.each(EXPORT_STAGES)('cancel while held at %s → E_CANCELLED, nothing left, the old file intact', async (stage) => {
    const dir = await preparedDir(`cancel-${stage}`);
    const id = jobs.start(await int8Request(S, dir), { extraEnv: { EXPORT_STUDIO_TEST_HOOKS: '1', EXPORT_STUDIO_TEST_HOLD_AT: stage } });
    // The late stages come after a real calibration and fidelity check: on a loaded 2-core box,
    // with other jobs of this suite running at the same time, that can take well over 30 s.
    await waitFor(() => eventsOf(id).some((e) => e.type === 'stage' && e.stage === stage && e.status === 'started'), 150_000);
    if (stage === 'write' || stage === 'deepstream' || stage === 'report') {
      // Outputs are staged by then: the cancel has real temp and lock files to remove.
      expect((await entries(dir)).some((n) => n.endsWith('.tmp'))).toBe(true);
    }
    const outcome = await jobs.cancel(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
    expect(jobs.info(id)?.status).toBe('cancelled');
    await expectUntouched(dir);
  }, 200_000);
});
