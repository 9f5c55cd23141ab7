import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEventBatch } from '../../shared/api.js';
import { cli } from './cli-run.js';
import { createHost, type Host } from '../../electron/host/compose.js';
import { forkWorkerFactory } from '../../electron/host/worker-process.js';
import { sealFile } from '../../electron/pipeline/model/index.js';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';

/**
 * The canary key: a model sealed with a recognisable key is exported through every door, and the
 * key must not appear in anything shown or persisted — except nvinfer_config.txt with --ds_embed_key,
 * which asks for it. (Web token/Origin/Host checks: electron/web/server.test.ts; IPC sender and
 * payload checks: electron/main/security.test.ts.)
 */

const CANARY = 'CANARY-9f1e-key-Zq7';
let root: string;
let S: SampleLayout;
let sealed: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'canary-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 4, valImages: 2, calImages: 4 });
  sealed = path.join(root, 'canary.tlt');
  await sealFile(S.onnx, sealed, CANARY, { format: 'tlt', overwrite: false });
});
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});


/** Every readable file under dir except the sealed models, which hold the key only as ciphertext. */
async function filesWithCanary(dir: string): Promise<string[]> {
  const hits: string[] = [];
  for (const f of (await fs.readdir(dir, { recursive: true })) as string[]) {
    const p = path.join(dir, f);
    if ((await fs.stat(p)).isDirectory() || /\.(e?tlt)$/.test(p)) continue;
    if ((await fs.readFile(p)).includes(CANARY)) hits.push(f);
  }
  return hits;
}

async function outDir(name: string): Promise<string> {
  const d = path.join(root, name);
  await fs.mkdir(d, { recursive: true });
  return d;
}

const base = (out: string) => ['mask_rcnn', 'export', '-m', sealed, '-k', CANARY, '-o', path.join(out, 'm.etlt'), '--gen_ds_config', '--cpu', '-v'];

describe('canary key: CLI', () => {
  it('a successful INT8 export: stdout/stderr, log, report, status.json, cache provenance/report and DS config are clean', async () => {
    const out = await outDir('ok');
    const r = await cli([
      ...base(out), '-e', S.spec, '--data_type', 'int8', '--batches', '1', '--batch_size', '2', '--cal_cache_file', path.join(out, 'cal.bin'),
      '--log_file', path.join(out, 'x.log'), '--report_file', path.join(out, 'report.json'), '--results_dir', path.join(out, 'results'),
      // The check runs (its report is scanned too); the 2 validation images of this tiny sample show the FP32 model no object.
      '--allow_below_target',
    ]);
    expect(r.code, r.all).toBe(0);
    expect(r.all).not.toContain(CANARY);
    const names = ((await fs.readdir(out, { recursive: true })) as string[]).sort();
    expect(names).toEqual(expect.arrayContaining(['x.log', 'report.json', 'results/status.json', 'cal.bin.json', 'cal.calibration.json', 'nvinfer_config.txt']));
    expect(await filesWithCanary(out)).toEqual([]);
    expect(await fs.readFile(path.join(out, 'x.log'), 'utf8')).toContain('-k "$EXPORT_STUDIO_KEY"');
  });

  it('with --ds_embed_key the key is in nvinfer_config.txt and nowhere else', async () => {
    const out = await outDir('embed');
    const r = await cli([...base(out), '-e', S.spec, '--ds_embed_key', '--log_file', path.join(out, 'x.log'), '--report_file', path.join(out, 'report.json')]);
    expect(r.code, r.all).toBe(0);
    expect(r.all).not.toContain(CANARY);
    expect(await filesWithCanary(out)).toEqual(['nvinfer_config.txt']);
    expect(await fs.readFile(path.join(out, 'nvinfer_config.txt'), 'utf8')).toMatch(new RegExp(`^tlt-model-key=${CANARY}$`, 'm'));
  });

  it('a run that fails after the key was accepted (spec vs model), and a spec that quotes the key, leak nothing', async () => {
    const out = await outDir('fail');
    const mismatch = path.join(out, 'mismatch.txt');
    await fs.writeFile(mismatch, (await fs.readFile(S.spec, 'utf8')).replace(/image_size: "[^"]*"/, 'image_size: "(640, 640)"'));
    const a = await cli([...base(out), '-e', mismatch, '--log_file', path.join(out, 'a.log'), '--results_dir', path.join(out, 'results')]);
    expect(a.code).toBe(5);
    expect(a.all).toMatch(/E_MODEL_SPEC_MISMATCH/);
    // A user pastes the key into the spec by mistake: the error excerpt quotes that line.
    const quoting = path.join(out, 'quoting.txt');
    await fs.writeFile(quoting, (await fs.readFile(S.spec, 'utf8')).replace('seed: 123', `seed: 123\nmodel_key: "${CANARY}"`));
    const b = await cli([...base(out), '-e', quoting, '--log_file', path.join(out, 'b.log')]);
    expect(b.code).toBe(5);
    expect(b.all).toMatch(/E_SPEC_UNKNOWN_FIELD/);
    expect(a.all + b.all).not.toContain(CANARY);
    const hits = (await filesWithCanary(out)).filter((f) => f !== 'quoting.txt');
    expect(hits).toEqual([]);
  });

  it('a wrong key is not echoed either (it may be a near miss of the real one)', async () => {
    const out = await outDir('wrong');
    const wrong = `${CANARY}-typo`;
    const r = await cli(['mask_rcnn', 'export', '-m', sealed, '-k', wrong, '-e', S.spec, '-o', path.join(out, 'm.etlt'), '--log_file', path.join(out, 'x.log')]);
    expect(r.code).toBe(4);
    expect(r.all).not.toContain(wrong);
    expect((await fs.readFile(path.join(out, 'x.log'))).includes(wrong)).toBe(false);
  });
});

describe('canary key: host (JobManager events, job registry, settings and recents store, API answers)', () => {
  let host: Host;
  let configDir: string;
  const batches: JobEventBatch[] = [];
  beforeAll(async () => {
    configDir = await outDir('config');
    host = createHost({ mode: 'web', configDir, roots: [root], spawnWorker: forkWorkerFactory(undefined, { stdio: 'ignore' }) });
    host.api.onJobEvents((b) => batches.push(b));
  });
  afterAll(async () => {
    await host?.dispose();
  });

  it('events, persisted settings/recents and every API answer are clean', async () => {
    const out = await outDir('host');
    const request = { model: sealed, key: CANARY, spec: S.spec, gpu: 'cpu' as const, outputs: { etlt: path.join(out, 'm.etlt'), dsConfig: true, report: path.join(out, 'report.json') } };
    const answers: unknown[] = [];
    answers.push(await host.api.inspectModel(sealed, CANARY));
    answers.push(await host.api.commandFor(request));
    answers.push(await host.api.addRecentFile({ path: sealed, kind: 'model' }));
    answers.push(await host.api.setSettings({ lastOutputDir: out, lastGpu: 'cpu' }));
    // A settings patch that smuggles the key is refused, not stored.
    const smuggle = await host.api.setSettings({ lastOutputDir: out, key: CANARY } as never);
    answers.push(smuggle);
    expect(smuggle.ok).toBe(false);
    const started = await host.api.startExport(request);
    if (!started.ok) throw new Error(JSON.stringify(started));
    const outcome = await host.jobs.wait(started.value.jobId);
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    answers.push(outcome, await host.api.recentFiles(), await host.api.getSettings());
    // A failing job with the right key (spec mismatch) too.
    const mismatch = path.join(out, 'mismatch.txt');
    await fs.writeFile(mismatch, (await fs.readFile(S.spec, 'utf8')).replace(/image_size: "[^"]*"/, 'image_size: "(640, 640)"'));
    const failing = await host.api.startExport({ ...request, spec: mismatch, outputs: { etlt: path.join(out, 'm2.etlt') } });
    if (!failing.ok) throw new Error(JSON.stringify(failing));
    const failed = await host.jobs.wait(failing.value.jobId);
    expect(failed).toMatchObject({ ok: false, error: { code: 'E_MODEL_SPEC_MISMATCH' } });
    answers.push(failed);
    // The job registry a reloaded page or a second tab reattaches from (and web mode replays).
    const registry = await host.api.listJobs();
    expect(registry.ok && registry.value.length).toBe(2);
    answers.push(registry);

    expect((answers[1] as { ok: boolean; value: string }).value).toContain('-k "$EXPORT_STUDIO_KEY"');
    expect(JSON.stringify(answers)).not.toContain(CANARY);
    expect(batches.length).toBeGreaterThan(0);
    expect(JSON.stringify(batches)).not.toContain(CANARY);
    expect(await filesWithCanary(configDir)).toEqual([]);
    expect(await filesWithCanary(out)).toEqual([]);
  });
});
