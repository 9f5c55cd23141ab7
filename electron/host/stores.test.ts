import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBrowser, isInside } from './file-browser.js';
import { MAX_RECENT, SettingsStore } from './settings.js';
import { normaliseSize, ThumbnailService } from './thumbnails.js';

let root: string;
beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'host-')));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('SettingsStore', () => {
  it('starts from defaults, persists patches atomically and reloads them', async () => {
    const dir = path.join(root, 'cfg1');
    const s = new SettingsStore(dir);
    expect(await s.get()).toEqual({ theme: 'system', rememberKeys: false });
    expect(await s.set({ theme: 'dark', lastGpu: 'cpu' })).toEqual({ theme: 'dark', lastGpu: 'cpu', rememberKeys: false });
    expect(await fs.readdir(dir)).toEqual(['settings.json']); // no temp left behind
    const again = new SettingsStore(dir);
    expect(await again.get()).toMatchObject({ theme: 'dark', lastGpu: 'cpu' });
    expect((await fs.stat(path.join(dir, 'settings.json'))).mode & 0o777).toBe(0o600);
  });

  it('refuses unknown fields (a key can never be stored) and bad values', async () => {
    const s = new SettingsStore(path.join(root, 'cfg2'));
    await expect(s.set({ key: 'secret' } as never)).rejects.toMatchObject({ code: 'E_REQUEST_INVALID' });
    await expect(s.set({ theme: 'neon' } as never)).rejects.toMatchObject({ code: 'E_REQUEST_INVALID' });
    await expect(fs.readFile(path.join(root, 'cfg2', 'settings.json'), 'utf8')).rejects.toThrow();
  });

  it('sets an invalid file aside and drops unknown fields found on disk', async () => {
    const dir = path.join(root, 'cfg3');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'settings.json'), '{"version":1,"settings":{"theme":"light","key":"leak"},"recent":[]}');
    const s = new SettingsStore(dir);
    expect(await s.get()).toEqual({ theme: 'light', rememberKeys: false });
    await s.set({ rememberKeys: true });
    expect(await fs.readFile(path.join(dir, 'settings.json'), 'utf8')).not.toContain('leak');

    const bad = path.join(root, 'cfg4');
    await fs.mkdir(bad);
    await fs.writeFile(path.join(bad, 'settings.json'), '{"version":1,"settings":{"theme":42}}');
    expect(await new SettingsStore(bad).get()).toEqual({ theme: 'system', rememberKeys: false });
    expect(await fs.readdir(bad)).toEqual(['settings.json.invalid']);
  });

  it('keeps recent files newest first, without duplicates, bounded', async () => {
    const s = new SettingsStore(path.join(root, 'cfg5'));
    for (let i = 0; i < MAX_RECENT + 5; i++) await s.addRecent({ path: `/m/${i}.onnx`, kind: 'model' }, new Date(1_000_000 + i));
    const again = await s.addRecent({ path: '/m/3.onnx', kind: 'model' }, new Date(9_000_000));
    expect(again).toHaveLength(MAX_RECENT);
    expect(again[0]).toEqual({ path: '/m/3.onnx', kind: 'model', openedAt: new Date(9_000_000).toISOString() });
    expect(again.filter((r) => r.path === '/m/3.onnx')).toHaveLength(1);
    expect(again[1]?.path).toBe(`/m/${MAX_RECENT + 4}.onnx`);
  });

  it('serialises concurrent updates', async () => {
    const s = new SettingsStore(path.join(root, 'cfg6'));
    await Promise.all([s.set({ theme: 'dark' }), s.set({ rememberKeys: true }), s.set({ lastOutputDir: '/out' })]);
    expect(await new SettingsStore(path.join(root, 'cfg6')).get()).toEqual({ theme: 'dark', rememberKeys: true, lastOutputDir: '/out' });
  });
});

describe('FileBrowser', () => {
  it('lists a folder filtered by kind, folders first, with sizes', async () => {
    const d = path.join(root, 'browse');
    await fs.mkdir(path.join(d, 'sub'), { recursive: true });
    await fs.writeFile(path.join(d, 'model.onnx'), 'abc');
    await fs.writeFile(path.join(d, 'notes.md'), 'x');
    await fs.writeFile(path.join(d, '.hidden.onnx'), 'x');
    const fb = new FileBrowser({ defaultRoots: false, roots: [root] });
    const l = await fb.list(d, 'model');
    expect(l.path).toBe(d);
    expect(l.parent).toBe(root);
    expect(l.entries).toEqual([
      { name: 'sub', path: path.join(d, 'sub'), kind: 'dir' },
      { name: 'model.onnx', path: path.join(d, 'model.onnx'), kind: 'file', bytes: 3 },
    ]);
    expect((await fb.list(d, 'images-dir')).entries.map((e) => e.name)).toEqual(['sub']);
    expect((await fb.list(d, 'any')).entries.map((e) => e.name)).toEqual(['sub', 'model.onnx', 'notes.md']);
    // At a root there is no parent to go up to.
    expect((await fb.list(root, 'any')).parent).toBeNull();
  });

  it('refuses /etc, `..` escapes and symlinks that lead outside the roots', async () => {
    const fb = new FileBrowser({ defaultRoots: false, roots: [path.join(root, 'browse')] });
    await expect(fb.list('/etc', 'any')).rejects.toMatchObject({ code: 'E_FILE_UNREADABLE', details: { reason: 'outside-roots' } });
    await expect(fb.list(path.join(root, 'browse', '..', '..'), 'any')).rejects.toMatchObject({ details: { reason: 'outside-roots' } });
    await fs.symlink('/etc', path.join(root, 'browse', 'etc-link'));
    await expect(fb.list(path.join(root, 'browse', 'etc-link'), 'any')).rejects.toMatchObject({ details: { reason: 'outside-roots' } });
    // The default roots (home, CWD, temp) do not include /etc either.
    await expect(new FileBrowser().list('/etc', 'any')).rejects.toMatchObject({ details: { reason: 'outside-roots' } });
  });

  it('isInside is a path test, not a string prefix test', () => {
    expect(isInside('/a/b', '/a/b/c')).toBe(true);
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a')).toBe(false);
  });
});

describe('ThumbnailService', () => {
  it('maps paths to opaque ids, renders by id only, and caches (LRU by bytes)', async () => {
    const renders: string[] = [];
    const t = new ThumbnailService({
      render: async (p, size) => {
        renders.push(`${p}@${size}`);
        return new Uint8Array(100);
      },
      maxBytes: 250,
    });
    const a = t.register('/img/a.jpg');
    const b = t.register('/img/b.jpg');
    const c = t.register('/img/c.jpg');
    expect(t.register('/img/a.jpg')).toBe(a);
    expect(a).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(a).not.toContain('img');
    expect(await t.get('/img/a.jpg')).toBeNull(); // a path is not an id
    expect(await t.get('unknown')).toBeNull();
    await Promise.all([t.get(a, 100), t.get(a, 100)]);
    expect(renders).toEqual([`/img/a.jpg@${normaliseSize(100)}`]); // one render for both
    await t.get(b, 100);
    await t.get(c, 100); // evicts a (3 × 100 > 250)
    await t.get(a, 100);
    expect(renders).toHaveLength(4);
    expect(t.stats.bytes).toBeLessThanOrEqual(250);
  });

  it('rounds sizes so the cache is not split per pixel', () => {
    expect(normaliseSize(undefined)).toBe(160);
    expect(normaliseSize(1)).toBe(32);
    expect(normaliseSize(100)).toBe(128);
    expect(normaliseSize(5000)).toBe(512);
  });
});
