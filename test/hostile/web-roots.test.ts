import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, type Host } from '../../electron/host/compose.js';
import { forkWorkerFactory } from '../../electron/host/worker-process.js';
import { startWebServer, type WebServer } from '../../electron/web/server.js';
import { cookieName } from '../../electron/web/security.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import type { Result } from '../../shared/api.js';
import { ExportRequestSchema } from '../../shared/request.js';
import { cli, listing } from './cli-run.js';

/**
 * Issue 11, web-mode roots: every path-taking API call enforces the browse roots after resolving
 * `..` and symlinks, answers the same for missing and existing files outside them, and never
 * echoes a line of a file outside them. The session cookie comes only from a verified query token.
 */

let root: string;
let outside: string;
let host: Host;
let web: WebServer;
let S: SampleLayout;
const SECRET_LINE = 'root:$6$outside-secret-hash:19000:0:99999:7:::';

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-roots-'));
  // Outside every default root (home, cwd, tmp): /var/tmp.
  outside = await fs.mkdtemp('/var/tmp/es-outside-');
  await fs.writeFile(path.join(outside, 'shadow'), SECRET_LINE + '\n');
  await fs.writeFile(path.join(outside, 'existing.log'), 'not yours\n');
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 2 });
  await fs.copyFile(S.tlt, path.join(outside, 'model.tlt'));
  await fs.mkdir(path.join(outside, 'imgs'));
  for (const n of await fs.readdir(S.calImages)) await fs.copyFile(path.join(S.calImages, n), path.join(outside, 'imgs', n));
  const rendererDir = path.join(root, 'renderer');
  await fs.mkdir(rendererDir, { recursive: true });
  await fs.writeFile(path.join(rendererDir, 'index.html'), '<!doctype html>');
  host = createHost({ mode: 'web', configDir: path.join(root, 'config'), spawnWorker: forkWorkerFactory(undefined, { stdio: 'ignore' }) });
  web = await startWebServer({ port: 0, rendererDir, api: host.api });
});
afterAll(async () => {
  await web?.close();
  await host?.dispose();
  if (root) await fs.rm(root, { recursive: true, force: true });
  if (outside) await fs.rm(outside, { recursive: true, force: true });
});

function refusedOutside<T>(r: Result<T>, what: string): void {
  expect(r.ok, what).toBe(false);
  if (r.ok) return;
  expect(r.error.code, what).toBe('E_FILE_UNREADABLE');
  expect(r.error.details?.reason, what).toBe('outside-roots');
  expect(JSON.stringify(r.error), what).not.toContain('outside-secret-hash');
}

describe('web mode: roots on every path-taking call', () => {
  it('parseSpec, inspectModel, listImages, openFolder refuse paths outside the roots: direct, via .., via a symlink, missing or not', async () => {
    const linkToShadow = path.join(root, 'spec-link.txt');
    await fs.symlink(path.join(outside, 'shadow'), linkToShadow);
    const linkToDir = path.join(root, 'imgs-link');
    await fs.symlink(path.join(outside, 'imgs'), linkToDir);
    const dotdot = path.join(root, '..', '..', outside.slice(1), 'shadow');
    for (const p of [path.join(outside, 'shadow'), dotdot, linkToShadow, path.join(outside, 'missing.txt'), '/etc/shadow', '/etc/passwd']) {
      refusedOutside(await host.api.parseSpec(p), `parseSpec ${p}`);
      refusedOutside(await host.api.inspectModel(p, SAMPLE_KEY), `inspectModel ${p}`);
    }
    refusedOutside(await host.api.inspectModel(path.join(outside, 'model.tlt'), SAMPLE_KEY), 'inspectModel of a real model outside');
    for (const d of [path.join(outside, 'imgs'), linkToDir, '/etc', path.join(outside, 'nope')]) {
      refusedOutside(await host.api.listImages(d), `listImages ${d}`);
      refusedOutside(await host.api.openFolder(d), `openFolder ${d}`);
    }
    // Inside the roots the same calls work.
    expect((await host.api.parseSpec(S.spec)).ok).toBe(true);
    expect((await host.api.inspectModel(S.tlt, SAMPLE_KEY)).ok).toBe(true);
  }, 60_000);

  it('previewTensor refuses a spec outside the roots; a listed image that became a link out of them gets no thumbnail', async () => {
    const dir = path.join(root, 'imgs');
    await fs.mkdir(dir);
    const names = (await fs.readdir(S.calImages)).sort();
    for (const n of names) await fs.copyFile(path.join(S.calImages, n), path.join(dir, n));
    const listed = await host.api.listImages(dir);
    expect(listed.ok).toBe(true);
    if (!listed.ok) return;
    const [first, second] = listed.value.images;
    if (!first || !second) throw new Error('no images');
    refusedOutside(await host.api.previewTensor(first.id, path.join(outside, 'shadow'), null, 'keep-aspect-pad'), 'previewTensor spec outside');
    expect(await host.api.thumbnail(second.id, 128)).not.toBeNull();
    await fs.rm(second.path);
    await fs.symlink(path.join(outside, 'imgs', names[1] as string), second.path);
    const other = await host.api.listImages(root); // a fresh listing does not matter: the old id now points outside
    expect(other.ok).toBe(true);
    expect(await host.api.thumbnail(second.id, 256)).toBeNull();
    refusedOutside(await host.api.previewTensor(second.id, null, null, 'keep-aspect-pad'), 'previewTensor of an image turned link');
  }, 60_000);

  it('startExport refuses every request path outside the roots (log file included); nothing outside is created or touched', async () => {
    const out = path.join(root, 'out');
    await fs.mkdir(out, { recursive: true });
    const base = { model: S.tlt, key: SAMPLE_KEY, spec: S.spec, gpu: 'cpu' as const, outputs: { etlt: path.join(out, 'm.etlt') } };
    const before = (await fs.readdir(outside)).sort();
    const variants = [
      { ...base, outputs: { ...base.outputs, logFile: path.join(outside, 'existing.log') } },
      { ...base, outputs: { ...base.outputs, logFile: path.join(outside, 'new.log') } },
      { ...base, outputs: { ...base.outputs, logFile: '/etc/export.log' } },
      { ...base, outputs: { ...base.outputs, report: path.join(outside, 'r.json') } },
      { ...base, outputs: { etlt: path.join(outside, 'm.etlt') } },
      { ...base, outputs: { ...base.outputs, resultsDir: path.join(outside, 'results') } },
      { ...base, model: path.join(outside, 'model.tlt') },
      { ...base, spec: path.join(outside, 'shadow') },
    ];
    for (const v of variants) refusedOutside(await host.api.startExport(v), `startExport ${JSON.stringify(v.outputs)} ${v.model} ${v.spec}`);
    expect((await fs.readdir(outside)).sort()).toEqual(before);
    expect(await fs.readFile(path.join(outside, 'existing.log'), 'utf8')).toBe('not yours\n');
    expect(await fs.readdir(out)).toEqual([]);
  }, 60_000);
});

describe('web mode: the data a spec names is checked against the roots too', () => {
  /** A spec inside the roots (beside the sample's data) with one data field replaced. */
  async function specNaming(name: string, field: 'training_file_pattern' | 'validation_file_pattern' | 'val_json_file', value: string): Promise<string> {
    const text = (await fs.readFile(S.spec, 'utf8')).replace(new RegExp(`${field}: "[^"]*"`), `${field}: ${JSON.stringify(value)}`);
    const file = path.join(S.dir, `spec-${name}.txt`);
    await fs.writeFile(file, text);
    return file;
  }
  function refusedField<T>(r: Result<T>, field: string, what: string): void {
    refusedOutside(r, what);
    if (!r.ok) expect(r.error.details?.field, what).toBe(field);
  }

  it('parseSpec, previewTensor, preflight, startExport and the job itself refuse patterns and val_json_file outside: absolute, .., a linked folder; nothing read, written or left; good specs still work', async () => {
    await fs.writeFile(path.join(outside, 'train-0.tfrecord'), SECRET_LINE + '\n');
    const linkedData = path.join(S.dir, 'linked-data');
    await fs.symlink(outside, linkedData);
    const up = path.relative(S.dir, '/');
    const members: [string, 'training_file_pattern' | 'validation_file_pattern' | 'val_json_file', string][] = [
      ['etc-star', 'training_file_pattern', '/etc/*'],
      ['shadow', 'training_file_pattern', '/etc/shadow'],
      ['dotdot', 'training_file_pattern', `${up}/etc/*`],
      ['outside-abs', 'training_file_pattern', path.join(outside, 'train-*.tfrecord')],
      ['outside-dotdot', 'training_file_pattern', path.join(up, outside.slice(1), 'train-*')],
      ['linked', 'training_file_pattern', 'linked-data/train-*.tfrecord'],
      ['val-pattern', 'validation_file_pattern', path.join(outside, '*')],
      ['val-json-passwd', 'val_json_file', '/etc/passwd'],
      ['val-json-outside', 'val_json_file', path.join(outside, 'shadow')],
      ['val-json-dotdot', 'val_json_file', path.join(up, outside.slice(1), 'shadow')],
      ['val-json-linked', 'val_json_file', 'linked-data/shadow'],
    ];
    const imgDir = path.join(root, 'spec-imgs');
    await fs.mkdir(imgDir, { recursive: true });
    for (const n of (await fs.readdir(S.calImages)).sort()) await fs.copyFile(path.join(S.calImages, n), path.join(imgDir, n));
    const listed = await host.api.listImages(imgDir);
    if (!listed.ok) throw new Error(listed.error.message);
    const image = listed.value.images[0];
    if (!image) throw new Error('no image');
    const outsideBefore = (await fs.readdir(outside)).sort();
    for (const [name, field, value] of members) {
      const spec = await specNaming(name, field, value);
      const out = path.join(root, `spec-out-${name}`);
      await fs.mkdir(out, { recursive: true });
      const request = { model: S.tlt, key: SAMPLE_KEY, spec, gpu: 'cpu' as const, outputs: { etlt: path.join(out, 'm.etlt'), dsConfig: true, report: path.join(out, 'r.json') } };
      refusedField(await host.api.parseSpec(spec), field, `parseSpec ${name}`);
      refusedField(await host.api.previewTensor(image.id, spec, null, 'keep-aspect-pad'), field, `previewTensor ${name}`);
      refusedField(await host.api.preflight(request), field, `preflight ${name}`);
      refusedField(await host.api.startExport(request), field, `startExport ${name}`);
      // The job's worker checks again at its spec stage (a spec edited after startExport's check):
      // a job queued with the roots but without the API's check is refused there, before any data is read.
      const jobId = host.jobs.start(ExportRequestSchema.parse(request), { roots: [await fs.realpath(os.homedir()), await fs.realpath(process.cwd()), await fs.realpath(os.tmpdir())] });
      const outcome = await host.jobs.wait(jobId);
      expect(outcome.ok, `export ${name}`).toBe(false);
      if (!outcome.ok) {
        expect(outcome.error.code, `export ${name}`).toBe('E_FILE_UNREADABLE');
        expect(outcome.error.details?.reason, `export ${name}`).toBe('outside-roots');
        expect(outcome.error.details?.field, `export ${name}`).toBe(field);
        expect(JSON.stringify(outcome.error)).not.toContain('outside-secret-hash');
      }
      const ev = JSON.stringify(host.jobs.snapshot(jobId));
      expect(ev).not.toContain('outside-secret-hash');
      // Nothing half-written, no temp or lock.
      expect(await listing(out), name).toEqual([]);
    }
    expect((await fs.readdir(outside)).sort()).toEqual(outsideBefore);
    expect(await fs.readFile(path.join(outside, 'shadow'), 'utf8')).toBe(SECRET_LINE + '\n');
    // A wildcard that reaches a link out of the roots skips it (as a system folder) — never read.
    const viaWildcard = await specNaming('wild-through-link', 'training_file_pattern', '*/train-*.tfrecord');
    const r = await host.api.parseSpec(viaWildcard);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (r.ok) {
      expect(r.value.trainingFiles.length).toBeGreaterThan(0);
      expect(r.value.trainingFiles.every((f) => !f.path.startsWith(linkedData) && !f.path.startsWith(outside))).toBe(true);
    }
    // The next runs work: the sample's own spec through every door, and an export.
    expect((await host.api.parseSpec(S.spec)).ok).toBe(true);
    expect((await host.api.previewTensor(image.id, S.spec, null, 'keep-aspect-pad')).ok).toBe(true);
    const good = path.join(root, 'spec-out-good');
    await fs.mkdir(good);
    const req = { model: S.tlt, key: SAMPLE_KEY, spec: S.spec, gpu: 'cpu' as const, outputs: { etlt: path.join(good, 'm.etlt'), dsConfig: true } };
    expect((await host.api.preflight(req)).ok).toBe(true);
    const ok = await host.api.startExport(req);
    if (!ok.ok) throw new Error(ok.error.message);
    expect((await host.jobs.wait(ok.value.jobId)).ok).toBe(true);
    expect(await listing(good)).toEqual(['labels.txt', 'm.etlt', 'm.onnx', 'nvinfer_config.txt']);
    await fs.rm(linkedData);
  }, 240_000);

  it('the CLI is not restricted by roots: a spec whose val_json_file lies outside them exports with its labels', async () => {
    await fs.copyFile(S.valJson, path.join(outside, 'instances_val.json'));
    const spec = await specNaming('cli-outside-json', 'val_json_file', path.join(outside, 'instances_val.json'));
    const out = path.join(root, 'cli-out');
    await fs.mkdir(out);
    const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', SAMPLE_KEY, '-e', spec, '-o', path.join(out, 'm.etlt'), '--gen_ds_config', '--cpu']);
    expect(r.code, r.all).toBe(0);
    const labels = await fs.readFile(path.join(out, 'labels.txt'), 'utf8');
    expect(labels).not.toMatch(/class_1/);
  }, 120_000);
});

function get(pathname: string, headers: Record<string, string>): Promise<{ status: number; setCookie: string[] | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: web.port, path: pathname, headers: { host: `127.0.0.1:${web.port}`, ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] }));
      })
      .on('error', reject);
  });
}

describe('web mode: the session cookie comes only from a verified token', () => {
  it('a wrong ?token= with a valid cookie (or header) is served, but never becomes the cookie', async () => {
    const cookie = `${cookieName(web.port)}=${web.token}`;
    for (const wrong of ['attacker-chosen', web.token.slice(0, -1) + (web.token.endsWith('a') ? 'b' : 'a'), '']) {
      const r = await get(`/?token=${encodeURIComponent(wrong)}`, { cookie });
      expect(r.status).toBe(200);
      expect(r.setCookie ?? []).toEqual([]);
      const h = await get(`/?token=${encodeURIComponent(wrong)}`, { 'x-studio-token': web.token });
      expect(h.status).toBe(200);
      expect(h.setCookie ?? []).toEqual([]);
    }
    const ok = await get(`/?token=${web.token}`, {});
    expect(ok.status).toBe(200);
    expect(ok.setCookie?.[0]).toContain(`${cookieName(web.port)}=${web.token}`);
  });
});
