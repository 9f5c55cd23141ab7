import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHost, type Host } from '../../electron/host/compose.js';
import { forkWorkerFactory } from '../../electron/host/worker-process.js';
import { startWebServer, type WebServer } from '../../electron/web/server.js';
import { cookieName } from '../../electron/web/security.js';

/**
 * What electron/web/server.test.ts does not already cover (it covers: loopback only, 401 without
 * or with a wrong token on every route, 403 for a foreign Host or Origin on a page/API request,
 * a foreign Origin on a WebSocket with the token in the query, the token header only for /api).
 * Added here: the cookie path of the WebSocket, CSRF-style posts and an Origin of "null".
 */

let root: string;
let host: Host;
let web: WebServer;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-web-'));
  const rendererDir = path.join(root, 'renderer');
  await fs.mkdir(rendererDir, { recursive: true });
  await fs.writeFile(path.join(rendererDir, 'index.html'), '<!doctype html>');
  host = createHost({ mode: 'web', configDir: path.join(root, 'config'), roots: [root], spawnWorker: forkWorkerFactory(undefined, { stdio: 'ignore' }) });
  web = await startWebServer({ port: 0, rendererDir, api: host.api });
});
afterAll(async () => {
  await web?.close();
  await host?.dispose();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

function post(pathname: string, headers: Record<string, string>, body = '{"args":[]}'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: web.port, method: 'POST', path: pathname, headers: { host: `127.0.0.1:${web.port}`, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function ws(query: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const sock = new WebSocket(`ws://127.0.0.1:${web.port}/ws${query}`, { headers });
    sock.once('open', () => {
      sock.close();
      resolve(101);
    });
    sock.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    sock.once('error', () => resolve(-1));
  });
}

const cookie = () => `${cookieName(web.port)}=${web.token}`;

describe('web mode: hostile requests', () => {
  it('a WebSocket with the token cookie only is accepted from the page, refused from a foreign Origin or Host', async () => {
    expect(await ws('', { cookie: cookie(), origin: `http://127.0.0.1:${web.port}` })).toBe(101);
    expect(await ws('', { cookie: cookie(), origin: 'http://evil.example' })).toBe(403);
    expect(await ws('', { cookie: cookie(), origin: 'null' })).toBe(403);
    expect(await ws(`?token=${web.token}`, { host: `evil.example:${web.port}` })).toBe(403);
    expect(await ws('', { cookie: `${cookieName(web.port)}=wrong` })).toBe(401);
  });

  it('/api refuses the cookie alone (a cross-site form post carries cookies, never the header)', async () => {
    expect(await post('/api/info', { cookie: cookie(), 'content-type': 'application/json' })).toBe(401);
    expect(await post('/api/getSettings', { cookie: cookie(), 'content-type': 'text/plain' })).toBe(401);
  });

  it('/api with a valid token but a foreign or "null" Origin is refused; the page Origin passes', async () => {
    const h = { 'x-studio-token': web.token, 'content-type': 'application/json' };
    expect(await post('/api/info', { ...h, origin: 'https://evil.example' })).toBe(403);
    expect(await post('/api/info', { ...h, origin: 'null' })).toBe(403);
    expect(await post('/api/info', { ...h, origin: `http://127.0.0.1:${web.port}` })).toBe(200);
  });

  it('/api with a valid token refuses a non-JSON body type', async () => {
    const status = await post('/api/info', { 'x-studio-token': web.token, 'content-type': 'text/plain' });
    expect(status).toBeGreaterThanOrEqual(400);
  });
});
