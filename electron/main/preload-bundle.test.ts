import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { WEB_METHODS } from '../../shared/web-protocol.js';
// @ts-expect-error: plain .mjs build script without type declarations
import { buildElectron } from '../../scripts/build-electron.mjs';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'studio-preload-'));
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('the preload bundle', () => {
  it('is one CommonJS file that requires only electron and exposes window.studio', async () => {
    const out = (await buildElectron({ outDir: tmp, sourcemap: false })) as { preload: string; main: string };
    const code = await fs.readFile(out.preload, 'utf8');
    const requires = [...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(new Set(requires)).toEqual(new Set(['electron']));
    expect(code).not.toMatch(/\bimport\s*\(|^\s*import\s/m);

    // Run it like Electron's sandboxed preload: a require that knows only 'electron'.
    const exposed = new Map<string, unknown>();
    const electron = {
      contextBridge: { exposeInMainWorld: (k: string, v: unknown) => exposed.set(k, v) },
      ipcRenderer: { invoke: async () => ({ ok: true, value: null }), on: () => undefined, removeListener: () => undefined },
      webUtils: { getPathForFile: () => '' },
    };
    const req = (id: string) => {
      if (id !== 'electron') throw new Error(`sandboxed preload cannot require ${id}`);
      return electron;
    };
    vm.runInNewContext(code, { require: req, module: { exports: {} }, exports: {}, console });
    expect([...exposed.keys()]).toEqual(['studio']);
    const studio = exposed.get('studio') as Record<string, unknown>;
    for (const m of [...WEB_METHODS, 'thumbnailUrl', 'onJobEvents', 'pathForFile']) expect(typeof studio[m], m).toBe('function');
    expect(Object.values(studio)).not.toContain(electron.ipcRenderer);

    // The main bundle is ESM with 'electron' left external.
    const main = await fs.readFile(out.main, 'utf8');
    expect(main).toMatch(/from "electron"/);
  });
});
