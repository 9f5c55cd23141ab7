import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEventBatch } from '../../shared/api.js';
import type { JobEvent } from '../../shared/events.js';
import { ExportRequestSchema, type ExportRequest } from '../../shared/request.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { JobManager } from '../../electron/host/job-manager.js';
import { forkWorkerFactory } from '../../electron/host/worker-process.js';
import { hashFile } from '../../electron/pipeline/io/outputs.js';
import { readModel } from '../../electron/pipeline/model/index.js';
import { entries, PRECIOUS } from './helpers.js';

/**
 * Issue 11, point 2 (host side): a job's worker that dies after its commit completed but before
 * its result reached the host is reported as what is on disk — done, with every committed file and
 * its hash — never "cancelled/crashed, nothing was written". A worker that dies in the middle of
 * its commit is rolled back by the journal's rule, and the error says so. Each moment is reached
 * with a fault-injection hook in a real forked worker running a real export; a cancel arriving in
 * the same window (held there until the SIGKILL) is covered too.
 */

let root: string;
let S: SampleLayout;
let jobs: JobManager;
const batches: JobEventBatch[] = [];
const eventsOf = (id: string): JobEvent[] => batches.filter((b) => b.jobId === id).flatMap((b) => b.events);
const FILES = ['labels.txt', 'model.etlt', 'model.onnx', 'nvinfer_config.txt', 'report.json'];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'faults-after-commit-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 2 });
  // A short grace: a cancel held in the commit window ends with the SIGKILL while the worker holds.
  jobs = new JobManager({ spawn: forkWorkerFactory(undefined, { stdio: 'ignore' }), killGraceMs: 400, cpuSlots: 8 });
  jobs.subscribe((b) => batches.push(b));
});
afterAll(async () => {
  await jobs?.dispose();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

async function prepared(name: string): Promise<{ dir: string; request: ExportRequest }> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  // An earlier export the user still needs: replaced only by a commit that completes.
  await fs.writeFile(path.join(dir, 'model.etlt'), PRECIOUS);
  const request = ExportRequestSchema.parse({
    model: S.tlt,
    key: SAMPLE_KEY,
    spec: S.spec,
    gpu: 'cpu',
    overwrite: true,
    outputs: { etlt: path.join(dir, 'model.etlt'), dsConfig: true, report: path.join(dir, 'report.json') },
  });
  return { dir, request };
}

const hooks = (env: Record<string, string>) => ({ extraEnv: { EXPORT_STUDIO_TEST_HOOKS: '1', ...env } });

/** Done, with exactly the committed files on disk, each matching its reported hash, and nothing of ours left. */
async function expectCommitted(id: string, dir: string, say: RegExp): Promise<void> {
  const outcome = await jobs.wait(id);
  expect(outcome.ok, JSON.stringify(outcome).slice(0, 600)).toBe(true);
  if (!outcome.ok) return;
  expect(jobs.info(id)?.status).toBe('done');
  expect(await entries(dir)).toEqual(FILES);
  const reported = outcome.report.artifacts;
  expect(reported.map((a) => path.basename(a.path)).sort()).toEqual(FILES);
  for (const a of reported) expect(await hashFile(a.path)).toEqual({ bytes: a.bytes, sha256: a.sha256 });
  // The new .etlt replaced the old one and opens with the key.
  expect(await fs.readFile(path.join(dir, 'model.etlt'), 'utf8').catch(() => '')).not.toBe(PRECIOUS);
  expect((await readModel(path.join(dir, 'model.etlt'), SAMPLE_KEY)).onnx.length).toBeGreaterThan(1000);
  const ev = eventsOf(id);
  expect(ev.some((e) => e.type === 'error')).toBe(false);
  expect(ev.at(-1)?.type).toBe('result');
  expect(JSON.stringify(ev)).not.toMatch(/[Nn]othing was written/);
  expect(ev.filter((e) => e.type === 'artifact').map((e) => path.basename((e as { path: string }).path)).sort()).toEqual(FILES);
  expect(ev.some((e) => e.type === 'log' && say.test(e.text)), ev.filter((e) => e.type === 'log').map((e) => (e as { text: string }).text).join('\n')).toBe(true);
  expect(jobs.snapshot(id)?.report?.artifacts.length).toBe(FILES.length);
  expect(JSON.stringify(ev)).not.toContain(SAMPLE_KEY);
}

/** The folder exactly as before the job: the old model.etlt alone, byte for byte. */
async function expectRolledBack(dir: string): Promise<void> {
  expect(await entries(dir)).toEqual(['model.etlt']);
  expect(await fs.readFile(path.join(dir, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
}

/** The next run to the same outputs works (no lock, journal or temp in the way). */
async function expectNextRunWorks(dir: string, request: ExportRequest): Promise<void> {
  const again = jobs.start(request);
  const o = await jobs.wait(again);
  expect(o.ok, JSON.stringify(o).slice(0, 400)).toBe(true);
  expect(await entries(dir)).toEqual(FILES);
}

describe('a worker that dies after its commit completed, before its result reached the host', () => {
  const CRASHES: [string, Record<string, string>][] = [
    ['SIGKILL right after the journal was marked committed (backups and temps still there)', { EXPORT_STUDIO_TEST_COMMIT_KILL_AFTER: 'committed' }],
    ['SIGKILL when the commit returned (cleaned up, before any artifact event)', { EXPORT_STUDIO_TEST_COMMIT_KILL_AFTER: 'released' }],
    ['SIGKILL when the result is emitted (artifact events not sent)', { EXPORT_STUDIO_TEST_CRASH_AT: 'result' }],
    ['SIGKILL after every event was sent, before done', { EXPORT_STUDIO_TEST_CRASH_AT: 'done' }],
  ];
  it.concurrent.each(CRASHES)('%s → done with every file and its hash, nothing of ours left, the next run works', async (_name, env) => {
    const { dir, request } = await prepared(`crash-${Object.values(env)[0]}`);
    const id = jobs.start(request, hooks(env));
    await expectCommitted(id, dir, /after its 5 output\(s\) were committed and before it reported/);
    await expectNextRunWorks(dir, request);
  }, 120_000);

  it('a cancel that lands in that window (the worker held after the commit, then SIGKILLed) → done, "Cancel came too late"', async () => {
    const { dir, request } = await prepared('cancel-committed');
    const id = jobs.start(request, hooks({ EXPORT_STUDIO_TEST_COMMIT_HOLD_AFTER: 'committed', EXPORT_STUDIO_TEST_COMMIT_HOLD_MS: '20000' }));
    // The journal marked committed is the moment: wait for the files, then cancel while the worker holds.
    const t0 = Date.now();
    while (!(await entries(dir)).includes('labels.txt')) {
      if (Date.now() - t0 > 90_000) throw new Error('the commit never placed the files');
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 300));
    await jobs.cancel(id);
    await expectCommitted(id, dir, /Cancel came too late to undo the commit/);
    await expectNextRunWorks(dir, request);
  }, 120_000);
});

describe('a worker that dies in the middle of its commit', () => {
  it.concurrent.each(['1', '3'])('SIGKILL after %s placement(s) → E_WORKER_CRASHED saying the commit was rolled back; the old file back, the next run works', async (n) => {
    const { dir, request } = await prepared(`mid-${n}`);
    const id = jobs.start(request, hooks({ EXPORT_STUDIO_TEST_COMMIT_KILL_AFTER: n }));
    const outcome = await jobs.wait(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'E_WORKER_CRASHED', details: { signal: 'SIGKILL', commit: 'rolled-back', filesRestored: 5 } } });
    if (outcome.ok) return;
    expect(outcome.error.message).toMatch(/in the middle of its commit; the commit was rolled back/);
    expect(outcome.error.hint).not.toMatch(/[Nn]othing was written/);
    expect(jobs.info(id)?.status).toBe('crashed');
    expect(eventsOf(id).some((e) => e.type === 'artifact')).toBe(false);
    await expectRolledBack(dir);
    await expectNextRunWorks(dir, request);
  }, 120_000);

  it('a cancel held mid-commit until the SIGKILL → E_CANCELLED, rolled back, the old file back', async () => {
    const { dir, request } = await prepared('cancel-mid');
    const id = jobs.start(request, hooks({ EXPORT_STUDIO_TEST_COMMIT_HOLD_AFTER: '2', EXPORT_STUDIO_TEST_COMMIT_HOLD_MS: '20000' }));
    const t0 = Date.now();
    while (!(await entries(dir)).some((n) => n.endsWith('.journal'))) {
      if (Date.now() - t0 > 90_000) throw new Error('the commit never started');
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 300));
    const outcome = await jobs.cancel(id);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'E_CANCELLED', details: { commit: 'rolled-back' } } });
    expect(jobs.info(id)?.status).toBe('cancelled');
    await expectRolledBack(dir);
    await expectNextRunWorks(dir, request);
  }, 120_000);
});

describe('a committed journal without a report (a worker that is not runExport)', () => {
  it('ends the job as crashed, listing every committed file with its sha256 (also as artifacts), never "nothing was written"', async () => {
    // A stand-in worker: speaks the protocol, commits two files with kept journals but no record, then dies.
    const bundle = path.join(root, 'outputs-bundle.mjs');
    await build({ entryPoints: [new URL('../../electron/pipeline/io/outputs.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
    const entry = path.join(root, 'bare-worker.mjs');
    await fs.writeFile(
      entry,
      `import { OutputSet, keepCommittedJournals } from ${JSON.stringify(bundle)};
       keepCommittedJournals(true);
       process.on('message', async (m) => {
         if (m.type !== 'start') return;
         const s = new OutputSet({ overwrite: true });
         await s.write(m.request.outputs.etlt, 'sealed bytes');
         await s.write(m.request.outputs.report, '{}');
         await s.commit();
         process.kill(process.pid, 'SIGKILL');
       });
       process.send({ type: 'ready', pid: process.pid });`,
    );
    const bare = new JobManager({ spawn: forkWorkerFactory(entry, { stdio: 'ignore' }), killGraceMs: 400 });
    const seen: JobEventBatch[] = [];
    bare.subscribe((b) => seen.push(b));
    try {
      const { dir, request } = await prepared('bare');
      const id = bare.start(request);
      const outcome = await bare.wait(id);
      expect(outcome).toMatchObject({ ok: false, error: { code: 'E_WORKER_CRASHED', details: { signal: 'SIGKILL', commit: 'committed', filesOnDisk: 2 } } });
      if (outcome.ok) return;
      const etlt = path.join(dir, 'model.etlt');
      const { sha256 } = await hashFile(etlt);
      expect(outcome.error.message).toContain(`${etlt} sha256 ${sha256}`);
      expect(JSON.stringify(outcome.error)).not.toMatch(/[Nn]othing was written/);
      const ev = seen.filter((b) => b.jobId === id).flatMap((b) => b.events);
      expect(ev.filter((e) => e.type === 'artifact').map((e) => [(e as { role: string }).role, path.basename((e as { path: string }).path), (e as { sha256: string }).sha256])).toEqual([
        ['etlt', 'model.etlt', sha256],
        ['report', 'report.json', (await hashFile(path.join(dir, 'report.json'))).sha256],
      ]);
      expect(bare.snapshot(id)?.artifacts.length).toBe(2);
      // The journal and locks are settled: the files stay, nothing of ours left.
      expect(await entries(dir)).toEqual(['model.etlt', 'report.json']);
      expect(await fs.readFile(etlt, 'utf8')).toBe('sealed bytes');
    } finally {
      await bare.dispose();
    }
  }, 60_000);
});

