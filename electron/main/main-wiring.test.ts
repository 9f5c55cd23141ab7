import { build } from 'esbuild';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../../shared/api.js';
import { INVOKE_CHANNELS } from '../../shared/ipc-channels.js';
import { WEB_METHODS } from '../../shared/web-protocol.js';
import { APP_CSP } from './csp.js';
import { APP_ENTRY_URL } from './origins.js';
import { SECURE_WEB_PREFERENCES } from './security.js';

/**
 * The composition root itself, run in plain Node: main.ts is bundled with 'electron' aliased to
 * a recording fake (below), imported, driven through `ready`, IPC and quit, and checked for the
 * order and shape of every call it makes into Electron. The host behind it is the real one.
 */
const FAKE_ELECTRON = String.raw`
class Emitter {
  constructor() { this.l = new Map(); }
  on(e, f) { (this.l.get(e) ?? this.l.set(e, []).get(e)).push(f); return this; }
  once(e, f) { return this.on(e, f); }
  emit(e, ...a) { for (const f of this.l.get(e) ?? []) f(...a); }
}
const rec = (globalThis.__fakeElectron = { calls: [], handlers: new Map(), protocols: new Map(), windows: [], appData: process.env.FAKE_APP_DATA, userData: '/nonexistent' });
let fire;
const ready = new Promise((r) => (fire = r));
rec.fireReady = () => { rec.calls.push('ready'); fire(); };
export const app = Object.assign(new Emitter(), {
  requestSingleInstanceLock: () => (rec.calls.push('requestSingleInstanceLock'), true),
  enableSandbox: () => rec.calls.push('enableSandbox'),
  whenReady: () => ready,
  getPath: (n) => (n === 'appData' ? rec.appData : rec.userData),
  setPath: (n, p) => { rec.calls.push(['setPath', n, p]); if (n === 'userData') rec.userData = p; },
  setName: (n) => rec.calls.push(['setName', n]),
  commandLine: { hasSwitch: () => false },
  quit: () => rec.calls.push('quit'),
});
rec.app = app;
export const protocol = {
  registerSchemesAsPrivileged: (s) => rec.calls.push(['registerSchemesAsPrivileged', s]),
  handle: (scheme, h) => { rec.calls.push(['protocol.handle', scheme]); rec.protocols.set(scheme, h); },
};
export const ipcMain = { handle: (c, l) => rec.handlers.set(c, l), removeHandler: (c) => rec.handlers.delete(c) };
export const session = { defaultSession: {
  setPermissionRequestHandler: (h) => (rec.permissionRequest = h),
  setPermissionCheckHandler: (h) => (rec.permissionCheck = h),
} };
export const shell = {
  openExternal: async (u) => rec.calls.push(['openExternal', u]),
  openPath: async (p) => (rec.calls.push(['openPath', p]), ''),
};
export const dialog = { showOpenDialog: async (...a) => (rec.calls.push(['showOpenDialog', a.length, a.at(-1)]), { canceled: false, filePaths: ['/picked/model.onnx'] }) };
export const safeStorage = {
  isEncryptionAvailable: () => true,
  getSelectedStorageBackend: () => rec.backend ?? 'basic_text',
  encryptString: (s) => Buffer.from(s).reverse(),
  decryptString: (b) => Buffer.from(b).reverse().toString(),
};
export const utilityProcess = { fork: (...a) => { rec.calls.push(['fork', a]); throw new Error('no utility processes in this test'); } };
export class BrowserWindow extends Emitter {
  constructor(opts) {
    super();
    this.opts = opts;
    rec.windows.push(this);
    this.webContents = Object.assign(new Emitter(), { send: (...a) => rec.calls.push(['send', ...a]), isDestroyed: () => false });
  }
  loadURL(u) { rec.calls.push(['loadURL', u]); return Promise.resolve(); }
  show() {} isMinimized() { return false; } restore() {} focus() {}
}
`;

interface Rec {
  calls: unknown[];
  handlers: Map<string, (event: unknown, ...args: unknown[]) => Promise<Result<unknown>>>;
  protocols: Map<string, (req: Request) => Promise<Response>>;
  windows: { opts: { webPreferences: Record<string, unknown> }; webContents: { emit(e: string, ...a: unknown[]): void } }[];
  app: { emit(e: string, ...a: unknown[]): void };
  fireReady(): void;
  permissionRequest: (wc: unknown, perm: string, cb: (ok: boolean) => void) => void;
  permissionCheck: (wc: unknown, perm: string) => boolean;
  backend?: string;
}

let tmp: string;
let rec: Rec;
const userData = () => path.join(tmp, 'appData', 'export-studio');
const trusted = { senderFrame: { url: APP_ENTRY_URL, parent: null } };

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'studio-main-'));
  const out = path.join(tmp, 'out');
  await fs.mkdir(path.join(out, 'renderer'), { recursive: true });
  await fs.writeFile(path.join(out, 'renderer', 'index.html'), '<!doctype html><title>wired</title>');
  await fs.mkdir(path.join(tmp, 'appData', 'export-studio'), { recursive: true });
  const fake = path.join(tmp, 'fake-electron.mjs');
  await fs.writeFile(fake, FAKE_ELECTRON);
  await build({
    entryPoints: [path.resolve(import.meta.dirname, 'main.ts')],
    outfile: path.join(out, 'electron', 'main.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    alias: { electron: fake },
    external: ['esbuild'],
    logLevel: 'silent',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  process.env.FAKE_APP_DATA = path.join(tmp, 'appData');
  // eslint-disable-next-line studio/layers -- the bundle built above from electron/main, not a source module
  await import(pathToFileURL(path.join(out, 'electron', 'main.mjs')).href);
  rec = (globalThis as unknown as { __fakeElectron: Rec }).__fakeElectron;
  rec.fireReady();
  for (let i = 0; i < 20 && rec.windows.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('main.ts composition root (fake Electron, real host)', () => {
  it('takes the lock and registers privileged schemes before ready, handlers after', () => {
    const names = rec.calls.map((c) => (Array.isArray(c) ? c[0] : c));
    expect(names.indexOf('requestSingleInstanceLock')).toBe(0);
    expect(rec.calls).toContainEqual(['setPath', 'userData', userData()]);
    expect(names.indexOf('setPath')).toBeLessThan(names.indexOf('ready'));
    expect(names.indexOf('registerSchemesAsPrivileged')).toBeLessThan(names.indexOf('ready'));
    expect(names.indexOf('enableSandbox')).toBeLessThan(names.indexOf('ready'));
    expect(names.indexOf('protocol.handle')).toBeGreaterThan(names.indexOf('ready'));
    expect([...rec.protocols.keys()].sort()).toEqual(['studio', 'studio-thumb']);
    expect(rec.calls).toContainEqual(['loadURL', APP_ENTRY_URL]);
  });

  it('opens one window with the secure preferences and an existing bundled preload path', () => {
    expect(rec.windows).toHaveLength(1);
    const wp = rec.windows[0]!.opts.webPreferences;
    expect(wp).toMatchObject({ ...SECURE_WEB_PREFERENCES });
    expect(wp.preload).toBe(path.join(tmp, 'out', 'electron', 'preload.cjs'));
  });

  it('denies every permission', () => {
    const answers: boolean[] = [];
    rec.permissionRequest(null, 'media', (ok) => answers.push(ok));
    expect(answers).toEqual([false]);
    expect(rec.permissionCheck(null, 'clipboard-read')).toBe(false);
  });

  it('serves the renderer with the CSP through the registered app protocol', async () => {
    const r = await rec.protocols.get('studio')!(new Request('studio://app/'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBe(APP_CSP);
    expect(await r.text()).toContain('wired');
    expect((await rec.protocols.get('studio')!(new Request('studio://app/../../userData/x'))).status).toBe(404);
    expect((await rec.protocols.get('studio-thumb')!(new Request('studio-thumb://image/unknownid'))).status).toBe(404);
  });

  it('answers every channel through the real host, guarded', async () => {
    expect([...rec.handlers.keys()].sort()).toEqual(WEB_METHODS.map((m) => INVOKE_CHANNELS[m]).sort());
    const info = await rec.handlers.get(INVOKE_CHANNELS.info)!(trusted);
    expect(info).toMatchObject({ ok: true, value: { mode: 'electron', canStoreKeys: false } });
    const refused = await rec.handlers.get(INVOKE_CHANNELS.info)!({ senderFrame: { url: 'https://evil.example/', parent: null } });
    expect(refused.ok).toBe(false);
    const picked = await rec.handlers.get(INVOKE_CHANNELS.pickPath)!(trusted, 'model');
    expect(picked).toEqual({ ok: true, value: '/picked/model.onnx' });
    const dialogCall = rec.calls.find((c) => Array.isArray(c) && c[0] === 'showOpenDialog') as [string, number, { properties: string[] }];
    expect(dialogCall[1]).toBe(2); // modal: the window is passed
    expect(dialogCall[2].properties).toContain('openFile');
  });

  it('refuses to store keys with the basic_text backend and stores them encrypted with a keyring', async () => {
    const model = path.join(userData(), 'm.etlt');
    await fs.writeFile(model, 'x');
    const r = await rec.handlers.get(INVOKE_CHANNELS.storeKey)!(trusted, model, 'secret-key');
    expect(r.ok === false && r.error.code).toBe('E_USAGE');
    rec.backend = 'gnome_libsecret';
    expect(await rec.handlers.get(INVOKE_CHANNELS.storeKey)!(trusted, model, 'secret-key')).toEqual({ ok: true, value: undefined });
    expect(await rec.handlers.get(INVOKE_CHANNELS.loadKey)!(trusted, model)).toEqual({ ok: true, value: 'secret-key' });
    expect(await fs.readFile(path.join(userData(), 'keys.json'), 'utf8')).not.toContain('secret-key');
  });

  it('opens folders with shell.openPath only for directories', async () => {
    const file = path.join(userData(), 'm.etlt');
    const r = await rec.handlers.get(INVOKE_CHANNELS.openFolder)!(trusted, file);
    expect(r.ok).toBe(true);
    expect(rec.calls).toContainEqual(['openPath', userData()]);
  });

  it('hardens every web contents and disposes the host before quitting', async () => {
    const prevented: string[] = [];
    const contents = {
      l: new Map<string, (e: { preventDefault(): void; url?: string }) => void>(),
      on(e: string, f: (e: { preventDefault(): void; url?: string }) => void) {
        this.l.set(e, f);
        return this;
      },
      setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
        prevented.push(`open:${h({ url: 'https://example.com/' }).action}`);
      },
    };
    rec.app.emit('web-contents-created', {}, contents);
    contents.l.get('will-navigate')!({ preventDefault: () => prevented.push('nav'), url: 'https://evil.example/' });
    expect(prevented).toEqual(['open:deny', 'nav']);
    expect(rec.calls).toContainEqual(['openExternal', 'https://example.com/']);

    let defaultPrevented = 0;
    rec.app.emit('before-quit', { preventDefault: () => defaultPrevented++ });
    expect(defaultPrevented).toBe(1);
    for (let i = 0; i < 100 && !rec.calls.includes('quit'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(rec.calls).toContain('quit');
    rec.app.emit('before-quit', { preventDefault: () => defaultPrevented++ });
    expect(defaultPrevented).toBe(1);
  });
});
