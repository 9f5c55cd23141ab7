import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { thumbnailUrl } from '../../shared/ipc-channels.js';
import { APP_CSP } from './csp.js';
import { parseThumbnailUrl, resolveAppFile } from './origins.js';
import { createAppProtocolHandler, createThumbnailProtocolHandler } from './protocols.js';

let base: string;
let root: string;

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'studio-proto-'));
  root = path.join(base, 'renderer');
  await fs.mkdir(path.join(root, 'assets'), { recursive: true });
  await fs.writeFile(path.join(root, 'index.html'), '<!doctype html><title>Export Studio</title>');
  await fs.writeFile(path.join(root, 'assets', 'index-abc.js'), 'console.log(1)');
  await fs.writeFile(path.join(base, 'secret.txt'), 'do not serve');
  // A sibling whose name starts like the root: a prefix check would let it through.
  await fs.mkdir(path.join(base, 'renderer-evil'));
  await fs.writeFile(path.join(base, 'renderer-evil', 'x.js'), 'evil');
});
afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

describe('resolveAppFile', () => {
  it('maps app URLs into the root and refuses every escape', () => {
    expect(resolveAppFile(root, 'studio://app/')).toBe(path.join(root, 'index.html'));
    expect(resolveAppFile(root, 'studio://app/assets/index-abc.js?v=1#x')).toBe(path.join(root, 'assets', 'index-abc.js'));
    for (const u of [
      'studio://app/../secret.txt',
      'studio://app/%2e%2e/secret.txt',
      'studio://app/assets/%2E%2E/%2E%2E/secret.txt',
      'studio://app/..%2fsecret.txt',
      'studio://app/..%5csecret.txt',
      'studio://app/%00index.html',
      'studio://app/%E0%A4%A',
      'studio://app/../renderer-evil/x.js',
      'studio://other/index.html',
      'file:///etc/passwd',
    ]) {
      const f = resolveAppFile(root, u);
      expect(f === null || f.startsWith(root + path.sep), `${u} → ${f}`).toBe(true);
      if (f !== null) expect(path.relative(root, f).startsWith('..')).toBe(false);
    }
  });
});

describe('app protocol handler', () => {
  const handler = () => createAppProtocolHandler(root);

  it('serves the build with the CSP header and a content type', async () => {
    const r = await handler()(new Request('studio://app/index.html'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBe(APP_CSP);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await r.text()).toContain('Export Studio');
    const js = await handler()(new Request('studio://app/assets/index-abc.js'));
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers 404 (with the CSP) for traversal, other hosts and missing files; 405 for writes', async () => {
    for (const u of ['studio://app/%2e%2e/secret.txt', 'studio://app/..%2fsecret.txt', 'studio://evil/index.html', 'studio://app/missing.js', 'studio://app/../renderer-evil/x.js']) {
      const r = await handler()(new Request(u));
      const body = await r.text();
      expect(r.status, u).toBe(404);
      expect(body).not.toContain('do not serve');
      expect(body).not.toContain('evil');
      expect(r.headers.get('content-security-policy')).toBe(APP_CSP);
    }
    const post = await handler()(new Request('studio://app/index.html', { method: 'POST', body: 'x' }));
    expect(post.status).toBe(405);
  });
});

describe('thumbnail protocol', () => {
  it('round-trips opaque ids through the URL, case kept', () => {
    const u = thumbnailUrl('AbC-_9xYz', 160);
    expect(u).toBe('studio-thumb://image/AbC-_9xYz?size=160');
    expect(parseThumbnailUrl(u)).toEqual({ id: 'AbC-_9xYz', size: 160 });
    expect(parseThumbnailUrl('studio-thumb://image/AbC')).toEqual({ id: 'AbC', size: undefined });
    for (const bad of ['studio-thumb://image/../etc/passwd', 'studio-thumb://image/%2Fetc%2Fpasswd', 'studio-thumb://other/abc', 'studio-thumb://image/abc?size=-1', 'studio-thumb://image/abc?size=1e9', 'studio://image/abc', 'studio-thumb://image/']) {
      expect(parseThumbnailUrl(bad), bad).toBeNull();
    }
  });

  it('serves bytes for known ids only', async () => {
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xd9]);
    const seen: [string, number | undefined][] = [];
    const h = createThumbnailProtocolHandler(async (id, size) => {
      seen.push([id, size]);
      return id === 'known' ? jpeg : null;
    });
    const ok = await h(new Request('studio-thumb://image/known?size=96'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/jpeg');
    expect(new Uint8Array(await ok.arrayBuffer())).toEqual(jpeg);
    expect((await h(new Request('studio-thumb://image/unknown'))).status).toBe(404);
    expect((await h(new Request('studio-thumb://image/..%2F..%2Fetc%2Fpasswd'))).status).toBe(404);
    expect(seen).toEqual([
      ['known', 96],
      ['unknown', undefined],
    ]);
  });
});
