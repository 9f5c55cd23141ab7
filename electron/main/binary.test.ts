import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../build/electron-binary.mjs';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'studio-ebin-'));
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function fakeRepo(name: string, withDist: boolean): Promise<string> {
  const root = path.join(tmp, name);
  const pkg = path.join(root, 'node_modules', 'electron');
  await fs.mkdir(pkg, { recursive: true });
  await fs.writeFile(path.join(root, 'package.json'), '{"name":"x"}');
  await fs.writeFile(path.join(pkg, 'package.json'), '{"name":"electron","version":"45.0.0"}');
  // index.js would download: it must never be loaded.
  await fs.writeFile(path.join(pkg, 'index.js'), 'throw new Error("downloading")');
  await fs.writeFile(path.join(pkg, 'path.txt'), 'electron');
  if (withDist) {
    await fs.mkdir(path.join(pkg, 'dist'));
    await fs.writeFile(path.join(pkg, 'dist', 'electron'), '');
  }
  return root;
}

describe('findElectronBinary', () => {
  it('finds dist/<path.txt> and reports null when the binary is missing, without loading the package', async () => {
    const yes = await fakeRepo('with', true);
    const no = await fakeRepo('without', false);
    expect(findElectronBinary({ root: yes, env: {} })).toBe(path.join(yes, 'node_modules', 'electron', 'dist', 'electron'));
    expect(findElectronBinary({ root: no, env: {} })).toBeNull();
    expect(findElectronBinary({ root: path.join(tmp, 'nowhere'), env: {} })).toBeNull();
  });

  it('honours ELECTRON_OVERRIDE_DIST_PATH', async () => {
    const no = await fakeRepo('override', false);
    const dist = path.join(tmp, 'custom-dist');
    await fs.mkdir(dist);
    expect(findElectronBinary({ root: no, env: { ELECTRON_OVERRIDE_DIST_PATH: dist } })).toBeNull();
    await fs.writeFile(path.join(dist, 'electron'), '');
    expect(findElectronBinary({ root: no, env: { ELECTRON_OVERRIDE_DIST_PATH: dist } })).toBe(path.join(dist, 'electron'));
  });

  it('reports this checkout truthfully', async () => {
    const here = findElectronBinary({ root: path.resolve(import.meta.dirname, '../..'), env: {} });
    const dist = path.resolve(import.meta.dirname, '../../node_modules/electron/dist');
    const distExists = await fs.stat(dist).then(() => true, () => false);
    expect(here !== null).toBe(distExists);
  });
});
