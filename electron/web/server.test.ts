import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { JobEventBatch, Result } from '../../shared/api.js';
import { WEB_METHODS, type WebMethod } from '../../shared/web-protocol.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { createHost, type Host } from '../host/compose.js';
import { forkWorkerFactory } from '../host/worker-process.js';
import { startWebServer, type WebServer } from './server.js';

let root: string;
let S: SampleLayout;
let host: Host;
let web: WebServer;
let rendererDir: string;

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'web-')));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 4 });
  rendererDir = path.join(root, 'renderer');
  await fs.mkdir(path.join(rendererDir, 'assets'), { recursive: true });
  await fs.writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>');
  await fs.writeFile(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  await fs.writeFile(path.join(root, 'secret.txt'), 'do not serve');
  host = createHost({ mode: 'web', configDir: path.join(root, 'config'), roots: [root], spawnWorker: forkWorkerFactory(undefined, { stdio: 'ignore' }) });
  web = await startWebServer({ port: 0, rendererDir, api: host.api });
});
afterAll(async () => {
  await web?.close();
  await host?.dispose();
  await fs.rm(root, { recursive: true, force: true });
});

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(method: string, pathname: string, headers: Record<string, string> = {}, body?: string, hostHeader?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: web.port, method, path: pathname, headers: { host: hostHeader ?? `127.0.0.1:${web.port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const auth = () => ({ 'x-studio-token': web.token });
async function api<T>(method: WebMethod, args: unknown[]): Promise<Result<T>> {
  const r = await request('POST', `/api/${method}`, { ...auth(), 'content-type': 'application/json' }, JSON.stringify({ args }));
  return JSON.parse(r.body.toString()) as Result<T>;
}

function wsOpen(query: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket } | { status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${web.port}/ws${query}`, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('error', () => resolve({ status: -1 }));
  });
}

describe('web mode security', () => {
  it('listens on 127.0.0.1 only and prints a URL carrying a 32-byte token', () => {
    const addr = web.server.address() as AddressInfo;
    expect(addr.address).toBe('127.0.0.1');
    expect(Buffer.from(web.token, 'base64url')).toHaveLength(32);
    expect(web.url).toBe(`http://127.0.0.1:${web.port}/?token=${web.token}`);
  });

  it('answers 401 without the token or with a wrong one, on every route', async () => {
    for (const [method, p] of [['GET', '/'], ['POST', '/api/info'], ['GET', '/thumb/x'], ['GET', '/assets/app.js']] as const) {
      expect((await request(method, p)).status, `${method} ${p}`).toBe(401);
      expect((await request(method, `${p}${p.includes('?') ? '&' : '?'}token=wrong`, { 'x-studio-token': 'wrong' })).status, `${method} ${p} wrong`).toBe(401);
    }
    // /api takes the header only, not the query.
    expect((await request('POST', `/api/info?token=${web.token}`, { 'content-type': 'application/json' }, '{"args":[]}')).status).toBe(401);
    expect(await wsOpen('')).toEqual({ status: 401 });
    expect(await wsOpen('?token=wrong')).toEqual({ status: 401 });
  });

  it('answers 403 to a foreign Host (DNS rebinding) and a foreign Origin, even with the token', async () => {
    expect((await request('GET', `/?token=${web.token}`, {}, undefined, `evil.example:${web.port}`)).status).toBe(403);
    expect((await request('GET', `/?token=${web.token}`, {}, undefined, `127.0.0.1:1`)).status).toBe(403);
    expect((await request('POST', '/api/info', { ...auth(), 'content-type': 'application/json', origin: 'http://evil.example' }, '{"args":[]}')).status).toBe(403);
    expect((await request('POST', '/api/info', { ...auth(), 'content-type': 'application/json', origin: `http://localhost:${web.port}` }, '{"args":[]}')).status).toBe(200);
    expect(await wsOpen(`?token=${web.token}`, { origin: 'http://evil.example' })).toEqual({ status: 403 });
  });

  it('serves the renderer with a strict CSP, nosniff and a token cookie for its assets', async () => {
    const r = await request('GET', `/?token=${web.token}`);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('/assets/app.js');
    const csp = r.headers['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${web.port} ws://localhost:${web.port}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    const cookie = String(r.headers['set-cookie']?.[0] ?? '');
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    // The page's own asset request carries only the cookie.
    const asset = await request('GET', '/assets/app.js', { cookie: cookie.split(';')[0] as string });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
  });

  it('does not serve files outside the renderer folder', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%2f%2e%2e%2fsecret.txt']) {
      const r = await request('GET', `${p}${p.includes('?') ? '&' : '?'}token=${web.token}`);
      expect(r.body.toString(), p).not.toContain('do not serve');
      expect([403, 404], p).toContain(r.status);
    }
  });

  it('answers every API method given an invalid payload with E_REQUEST_INVALID', async () => {
    const bad: Record<WebMethod, unknown[]> = {
      info: [1],
      gpus: ['x'],
      pickPath: ['nonsense-kind'],
      browse: [42, 'model'],
      inspectModel: [''],
      parseSpec: [{}],
      listImages: [],
      previewTensor: ['id', null, { preset: 'nope' }, 'stretch'],
      commandFor: [{ model: 'm.onnx' }],
      planOutputs: [{ model: 'm.onnx', key: 'k' }],
      startExport: [{ model: 'm.onnx', key: 'k', outputs: {} }],
      cancelJob: [7],
      listJobs: ['all'],
      clearJobs: [[42]],
      getSettings: [true],
      setSettings: [{ key: 'secret' }],
      recentFiles: [null],
      addRecentFile: [{ path: '/x', kind: 'weird' }],
      storeKey: ['/m.onnx'],
      loadKey: [],
      openFolder: [''],
      preflight: [{ model: 'm.onnx' }],
      makeDir: [''],
    };
    for (const m of WEB_METHODS) {
      const r = await api(m, bad[m]);
      expect(r, m).toMatchObject({ ok: false, error: { code: 'E_REQUEST_INVALID' } });
    }
    const notArgs = await request('POST', '/api/info', { ...auth(), 'content-type': 'application/json' }, '{"args":"x"}');
    expect(JSON.parse(notArgs.body.toString())).toMatchObject({ ok: false, error: { code: 'E_REQUEST_INVALID' } });
    const notJson = await request('POST', '/api/info', { ...auth(), 'content-type': 'application/json' }, '{');
    expect(JSON.parse(notJson.body.toString())).toMatchObject({ ok: false, error: { code: 'E_REQUEST_INVALID' } });
    expect((await request('POST', '/api/thumbnailUrl', { ...auth(), 'content-type': 'application/json' }, '{"args":[]}')).status).toBe(404);
  });
});

describe('web mode API', () => {
  it('info, settings and browse work over HTTP; pickPath is null and browse refuses /etc', async () => {
    expect(await api('info', [])).toMatchObject({ ok: true, value: { mode: 'web', canStoreKeys: false } });
    expect(await api('pickPath', ['model'])).toEqual({ ok: true, value: null });
    expect(await api('setSettings', [{ theme: 'dark' }])).toMatchObject({ ok: true, value: { theme: 'dark' } });
    expect(await api('getSettings', [])).toMatchObject({ ok: true, value: { theme: 'dark' } });
    const listing = await api<{ entries: { name: string }[] }>('browse', [S.dir, 'model']);
    expect(listing.ok && listing.value.entries.map((e) => e.name)).toEqual(expect.arrayContaining(['model.onnx', 'model.tlt']));
    expect(await api('browse', ['/etc', 'any'])).toMatchObject({ ok: false, error: { code: 'E_FILE_UNREADABLE' } });
    expect(await api('storeKey', [S.tlt, 'k'])).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
    expect(await api('loadKey', [S.tlt])).toEqual({ ok: true, value: null });
  });

  it('serves thumbnails by opaque id only', async () => {
    const file = path.join(S.images, 'extra.png');
    await sharp({ create: { width: 300, height: 150, channels: 3, background: '#3366cc' } }).png().toFile(file);
    const l = await api<{ images: { id: string; name: string }[] }>('listImages', [S.images]);
    if (!l.ok) throw new Error(JSON.stringify(l));
    const img = l.value.images.find((i) => i.name === 'extra.png');
    expect(img).toBeDefined();
    const r = await request('GET', `/thumb/${img!.id}?size=64&token=${web.token}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('image/jpeg');
    const meta = await sharp(r.body).metadata();
    expect([meta.width, meta.height]).toEqual([64, 32]);
    // A path is not an id.
    expect((await request('GET', `/thumb/${encodeURIComponent(file)}?token=${web.token}`)).status).toBe(404);
    const prev = await api<{ width: number }>('previewTensor', [img!.id, S.spec, null, 'keep-aspect-pad']);
    expect(prev).toMatchObject({ ok: true, value: { width: 512, height: 320 } });
  });

  it('inspects a model with its key, and shows the command with the key masked', async () => {
    expect(await api('inspectModel', [S.tlt, SAMPLE_KEY])).toMatchObject({ ok: true, value: { format: 'tlt' } });
    expect(await api('inspectModel', [S.tlt, 'wrong'])).toMatchObject({ ok: false, error: { code: 'E_WRONG_KEY_OR_CORRUPT' } });
    const cmd = await api<string>('commandFor', [{ model: S.tlt, key: SAMPLE_KEY, spec: S.spec, outputs: { etlt: '/out/m.etlt' } }]);
    expect(cmd.ok && cmd.value).toContain('-k "$EXPORT_STUDIO_KEY"');
    expect(JSON.stringify(cmd)).not.toContain(SAMPLE_KEY);
  });

  it('runs an export and pushes its events to every WebSocket client', async () => {
    const a = await wsOpen(`?token=${web.token}`);
    const b = await wsOpen(`?token=${web.token}`);
    if (!('ws' in a) || !('ws' in b)) throw new Error('websocket refused');
    const got: JobEventBatch[][] = [[], []];
    a.ws.on('message', (d) => got[0]!.push((JSON.parse(String(d)) as { batch: JobEventBatch }).batch));
    b.ws.on('message', (d) => got[1]!.push((JSON.parse(String(d)) as { batch: JobEventBatch }).batch));
    const out = path.join(root, 'out');
    await fs.mkdir(out);
    const started = await api<{ jobId: string }>('startExport', [{ model: S.tlt, key: SAMPLE_KEY, spec: S.spec, gpu: 'cpu', outputs: { etlt: path.join(out, 'm.etlt') } }]);
    if (!started.ok) throw new Error(JSON.stringify(started));
    const { jobId } = started.value;
    const outcome = await host.jobs.wait(jobId);
    expect(outcome.ok).toBe(true);
    const hasResult = (batches: JobEventBatch[]) => batches.some((x) => x.jobId === jobId && x.events.some((e) => e.type === 'result'));
    for (let i = 0; i < 500 && !got.every(hasResult); i++) await new Promise((r) => setTimeout(r, 10));
    for (const batches of got) {
      const events = batches.filter((x) => x.jobId === jobId).flatMap((x) => x.events);
      expect(events.some((e) => e.type === 'stage')).toBe(true);
      expect(events.some((e) => e.type === 'artifact')).toBe(true);
      expect(events.at(-1)?.type).toBe('result');
    }
    expect(await api('cancelJob', ['no-such-job'])).toMatchObject({ ok: false, error: { code: 'E_REQUEST_INVALID' } });
    a.ws.close();
    b.ws.close();

    // A page that connects afterwards (a reload, a second tab, a reconnect) first gets every job's
    // snapshot from the registry: the finished job with its stages, artifacts and report, no key.
    // (Listening from before 'open': the snapshot may arrive in the same packet as the handshake.)
    const late = new WebSocket(`ws://127.0.0.1:${web.port}/ws?token=${web.token}`);
    const first = await new Promise<JobEventBatch>((resolve, reject) => {
      late.once('message', (d) => resolve((JSON.parse(String(d)) as { batch: JobEventBatch }).batch));
      late.once('error', reject);
    });
    late.close();
    expect(first.jobId).toBe(jobId);
    expect(first.snapshot).toMatchObject({ jobId, status: 'done', request: { model: S.tlt }, error: null });
    expect(first.snapshot?.stages.find((st) => st.id === 'write')?.status).toBe('done');
    expect(first.snapshot?.artifacts.map((x) => path.basename(x.path))).toContain('m.etlt');
    expect(first.snapshot?.report?.seconds).toBeGreaterThan(0);
    // The live batches carry increasing seq numbers; the snapshot holds up to the last one.
    const seqs = got[0]!.filter((x) => x.jobId === jobId).map((x) => x.seq ?? 0);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(first.snapshot?.seq).toBe(Math.max(...seqs));
    expect(JSON.stringify(first)).not.toContain(SAMPLE_KEY);
    const listed = await api<unknown[]>('listJobs', []);
    expect(listed.ok && listed.value.length).toBe(1);
  });
});

describe('startExport refuses outputs being written elsewhere', () => {
  it('a live lock of another process on a planned output → E_OUTPUT_LOCKED at once, nothing queued', async () => {
    const out = path.join(root, 'locked');
    await fs.mkdir(out);
    // Another export-studio process (here: any live process) holds the lock of model.onnx.
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await fs.writeFile(path.join(out, '.model.onnx.export-studio-lock'), String(other.pid));
      const before = host.jobs.list().length;
      const r = await api('startExport', [{ model: S.tlt, key: SAMPLE_KEY, spec: S.spec, gpu: 'cpu', outputs: { etlt: path.join(out, 'model.etlt'), dsConfig: true } }]);
      expect(r).toMatchObject({ ok: false, error: { code: 'E_OUTPUT_LOCKED', file: path.join(out, 'model.onnx'), details: { pid: other.pid } } });
      expect(host.jobs.list().length).toBe(before);
    } finally {
      const gone = new Promise((r) => other.once('exit', r));
      other.kill('SIGKILL');
      await gone;
    }
    // A dead owner's lock is stale: the export starts (and the pipeline sweeps the lock).
    const done = await api<{ jobId: string }>('startExport', [{ model: S.tlt, key: SAMPLE_KEY, spec: S.spec, gpu: 'cpu', outputs: { etlt: path.join(out, 'model.etlt'), dsConfig: true } }]);
    if (!done.ok) throw new Error(JSON.stringify(done));
    expect((await host.jobs.wait(done.value.jobId)).ok).toBe(true);
  });
});

describe('renderer not built', () => {
  it('serves a token-protected page telling how to build', async () => {
    const s = await startWebServer({ port: 0, rendererDir: path.join(root, 'nope'), api: host.api });
    try {
      const ok = await new Promise<Res>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: s.port, path: `/?token=${s.token}` }, (res) => {
          const c: Buffer[] = [];
          res.on('data', (x: Buffer) => c.push(x));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(c) }));
        }).on('error', reject);
      });
      expect(ok.status).toBe(200);
      expect(ok.body.toString()).toContain('renderer not built: run');
      const denied = await new Promise<number>((resolve) => http.get({ host: '127.0.0.1', port: s.port, path: '/' }, (res) => resolve(res.statusCode ?? 0)));
      expect(denied).toBe(401);
    } finally {
      await s.close();
    }
  });
});
