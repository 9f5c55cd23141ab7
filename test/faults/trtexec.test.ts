import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { ExportRequestSchema, type ExportRequest } from '../../shared/request.js';
import { isStudioError, type StudioError } from '../../shared/errors.js';
import { runExport } from '../../electron/pipeline/run.js';
import { ENGINE_TEMP_PREFIX } from '../../electron/pipeline/engine-step.js';
import { JobManager } from '../../electron/host/job-manager.js';
import { forkWorkerFactory } from '../../electron/host/worker-process.js';
import { PRECIOUS, entries, waitFor } from './helpers.js';

/**
 * Issue 11, point 3: a stand-in trtexec that ignores SIGTERM (and starts a grandchild that ignores
 * it too) is killed with the job — in-process cancel, JobManager cancel, and a worker SIGKILLed
 * mid-build — and the decrypted-model temp folder is removed every time.
 */

let root: string;
let S: SampleLayout;
let bin: string;
let pids: string;
const savedPath = process.env.PATH;

const STANDIN = `#!/bin/sh
trap '' TERM
echo $$ > "$STANDIN_PIDS/trtexec.pid"
sh -c 'echo $$ > "$STANDIN_PIDS/child.pid"; while :; do sleep 1; done' &
while :; do sleep 1; done
`;

function dead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    // A zombie (reparented to an init that does not reap) is dead too.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

async function standinPids(): Promise<number[]> {
  await waitFor(async () => (await fs.readdir(pids)).length === 2, 60_000);
  return Promise.all(['trtexec.pid', 'child.pid'].map(async (f) => Number((await fs.readFile(path.join(pids, f), 'utf8')).trim())));
}

async function engineTemps(): Promise<string[]> {
  return (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith(ENGINE_TEMP_PREFIX));
}

async function request(name: string): Promise<{ dir: string; r: ExportRequest }> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'model.etlt'), PRECIOUS);
  await fs.rm(pids, { recursive: true, force: true });
  await fs.mkdir(pids);
  const r = ExportRequestSchema.parse({
    model: S.tlt,
    key: SAMPLE_KEY,
    spec: S.spec,
    gpu: 'cpu',
    overwrite: true,
    outputs: { etlt: path.join(dir, 'model.etlt'), engine: path.join(dir, 'model.engine'), report: path.join(dir, 'report.json') },
  });
  return { dir, r };
}

async function expectAllGone(dir: string, ps: number[], tempsBefore: string[]): Promise<void> {
  await waitFor(() => ps.every(dead), 10_000);
  for (const p of ps) expect(dead(p), `pid ${p} still alive`).toBe(true);
  expect((await engineTemps()).filter((t) => !tempsBefore.includes(t))).toEqual([]);
  expect(await entries(dir)).toEqual(['model.etlt']);
  expect(await fs.readFile(path.join(dir, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'faults-trt-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 2 });
  bin = path.join(root, 'bin');
  pids = path.join(root, 'pids');
  await fs.mkdir(bin);
  await fs.writeFile(path.join(bin, 'trtexec'), STANDIN, { mode: 0o755 });
  process.env.PATH = `${bin}${path.delimiter}${savedPath ?? ''}`;
  process.env.STANDIN_PIDS = pids;
});
afterAll(async () => {
  process.env.PATH = savedPath;
  delete process.env.STANDIN_PIDS;
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe('trtexec is killed with the job, its temps removed', () => {
  it('in-process cancel (the CLI): SIGTERM ignored → SIGKILL to the process group; E_CANCELLED; no temp, no output', async () => {
    const before = await engineTemps();
    const { dir, r } = await request('inproc');
    const ac = new AbortController();
    const run = runExport(r, () => undefined, ac.signal).then(() => null, (e: unknown) => e);
    const ps = await standinPids();
    expect((await engineTemps()).length).toBeGreaterThan(before.length); // the decrypted model really was there
    const t0 = Date.now();
    ac.abort();
    const err = (await run) as StudioError;
    expect(isStudioError(err) && err.code).toBe('E_CANCELLED');
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expectAllGone(dir, ps, before);
    // The next run works (same outputs, no lock left): here it fails only because the stand-in never ends.
    const again = await request('inproc');
    const ac2 = new AbortController();
    const run2 = runExport(again.r, () => undefined, ac2.signal).then(() => null, (e: unknown) => e);
    const ps2 = await standinPids();
    ac2.abort();
    expect(((await run2) as StudioError).code).toBe('E_CANCELLED');
    await expectAllGone(again.dir, ps2, before);
  }, 60_000);

  it('JobManager cancel (web mode / app): the worker dies, the trtexec group with it, temps removed', async () => {
    const jobs = new JobManager({ spawn: forkWorkerFactory(undefined, { stdio: 'ignore' }), killGraceMs: 3000 });
    try {
      const before = await engineTemps();
      const { dir, r } = await request('jobs-cancel');
      const id = jobs.start(r);
      const ps = await standinPids();
      await jobs.cancel(id);
      const outcome = await jobs.wait(id);
      expect(outcome.ok ? 'ok' : outcome.error.code).toBe('E_CANCELLED');
      await expectAllGone(dir, ps, before);
    } finally {
      await jobs.dispose();
    }
  }, 90_000);

  it('a worker SIGKILLed while trtexec runs: the host sweep kills the recorded group and removes the decrypted model', async () => {
    const jobs = new JobManager({ spawn: forkWorkerFactory(undefined, { stdio: 'ignore' }), killGraceMs: 3000 });
    try {
      const before = await engineTemps();
      const { dir, r } = await request('jobs-kill');
      const id = jobs.start(r);
      const ps = await standinPids();
      const pid = jobs.info(id)?.pid;
      expect(pid).toBeGreaterThan(0);
      process.kill(pid as number, 'SIGKILL');
      const outcome = await jobs.wait(id);
      expect(outcome.ok ? 'ok' : outcome.error.code).toBe('E_WORKER_CRASHED');
      await expectAllGone(dir, ps, before);
    } finally {
      await jobs.dispose();
    }
  }, 90_000);
});
