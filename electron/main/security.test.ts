import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Result } from '../../shared/api.js';
import { INVOKE_CHANNELS, IPC_PREFIX, JOB_EVENTS_CHANNEL } from '../../shared/ipc-channels.js';
import { WEB_METHODS, type WebMethod } from '../../shared/web-protocol.js';
import { APP_CSP, parseCsp } from './csp.js';
import { registerIpc, type GuardedHandler, type InvokeApi, type InvokeEventLike, type IpcMainLike } from './ipc.js';
import { APP_ENTRY_URL, isNavigationAllowed } from './origins.js';
import { PRIVILEGED_SCHEMES, SECURE_WEB_PREFERENCES, permissionCheckDecision, permissionRequestDecision, windowWebPreferences } from './security.js';
import { isTrustedSender, type SenderFrameLike } from './sender.js';
import { hardenWebContents, type WebContentsLike } from './web-contents.js';

describe('web preferences (checklist 2–4, 6, 8–10)', () => {
  it('isolates, sandboxes and keeps Node out of every renderer context', () => {
    const p = windowWebPreferences('/app/out/electron/preload.cjs');
    expect(p).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      preload: '/app/out/electron/preload.cjs',
    });
    expect(p).not.toHaveProperty('enableBlinkFeatures');
    expect(p).not.toHaveProperty('additionalArguments');
    expect(Object.isFrozen(SECURE_WEB_PREFERENCES)).toBe(true);
    expect(() => ((SECURE_WEB_PREFERENCES as { sandbox: boolean }).sandbox = false)).toThrow();
  });

  it('registers privileged schemes without bypassing CSP or enabling service workers', () => {
    for (const s of PRIVILEGED_SCHEMES) {
      expect(s.privileges.bypassCSP).toBe(false);
      expect(s.privileges.allowServiceWorkers).toBe(false);
      expect(s.privileges.standard && s.privileges.secure).toBe(true);
    }
  });

  it('denies every permission request and check', () => {
    for (const perm of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen', 'unknown']) {
      expect(permissionRequestDecision(perm)).toBe(false);
      expect(permissionCheckDecision(perm)).toBe(false);
    }
  });
});

describe('CSP (checklist 7)', () => {
  const csp = parseCsp(APP_CSP);

  it('allows scripts only from the app itself, never inline, eval or data:', () => {
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('default-src')).toEqual(["'none'"]);
    for (const [name, values] of csp) {
      if (name === 'style-src') continue;
      expect(values, name).not.toContain("'unsafe-inline'");
      expect(values, name).not.toContain("'unsafe-eval'");
    }
  });

  it('locks down objects, framing, base and forms; lets images come from the thumbnail scheme', () => {
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('form-action')).toEqual(["'none'"]);
    expect(csp.get('style-src')).toEqual(["'self'", "'unsafe-inline'"]);
    expect(csp.get('img-src')).toEqual(expect.arrayContaining(["'self'", 'data:', 'studio-thumb:']));
    expect(csp.get('img-src')).not.toContain('file:');
    expect(csp.get('connect-src')).toEqual(["'self'"]);
  });
});

const FOREIGN_URLS = [
  'https://evil.example/',
  'http://127.0.0.1:8080/',
  'file:///etc/passwd',
  'studio://evil/index.html',
  'studio://app.evil.example/index.html',
  'studio://app@evil.example/',
  'studio://user:pw@app/index.html',
  'studio://app:8080/index.html',
  'studio-thumb://image/abc',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'about:blank',
  'not a url',
  '',
];

describe('navigation and new windows (checklist 11, 13–15)', () => {
  it('allows only the app origin as a navigation target', () => {
    expect(isNavigationAllowed(APP_ENTRY_URL)).toBe(true);
    expect(isNavigationAllowed('studio://app/')).toBe(true);
    expect(isNavigationAllowed('STUDIO://APP/index.html')).toBe(true);
    for (const u of FOREIGN_URLS) expect(isNavigationAllowed(u), u).toBe(false);
  });

  function fakeContents() {
    const listeners = new Map<string, ((event: { preventDefault(): void; url?: string }, url?: string) => void)[]>();
    let openHandler: ((d: { url: string }) => { action: 'deny' }) | null = null;
    const contents: WebContentsLike = {
      on(event: string, listener: (event: { preventDefault(): void; url?: string }, url?: string) => void) {
        listeners.set(event, [...(listeners.get(event) ?? []), listener]);
        return contents;
      },
      setWindowOpenHandler(h) {
        openHandler = h;
      },
    };
    const fire = (name: string, url: string, legacy = false) => {
      const event = { preventDefault: vi.fn(), ...(legacy ? {} : { url }) };
      for (const l of listeners.get(name) ?? []) l(event, legacy ? url : undefined);
      return event.preventDefault.mock.calls.length > 0;
    };
    return { contents, fire, open: (url: string) => openHandler!({ url }) };
  }

  it('cancels navigation and redirects away from the app, on both listener signatures', () => {
    const f = fakeContents();
    hardenWebContents(f.contents, { openExternal: vi.fn() });
    for (const name of ['will-navigate', 'will-redirect']) {
      expect(f.fire(name, APP_ENTRY_URL)).toBe(false);
      for (const u of FOREIGN_URLS) {
        expect(f.fire(name, u), `${name} ${u}`).toBe(true);
        expect(f.fire(name, u, true), `${name} (legacy) ${u}`).toBe(true);
      }
    }
    expect(f.fire('will-attach-webview', APP_ENTRY_URL)).toBe(true);
  });

  it('denies every new window and hands only validated http(s) links to the system browser', () => {
    const openExternal = vi.fn();
    const f = fakeContents();
    hardenWebContents(f.contents, { openExternal });
    for (const u of [...FOREIGN_URLS, APP_ENTRY_URL, 'https://docs.nvidia.com/tao/']) expect(f.open(u), u).toEqual({ action: 'deny' });
    expect(openExternal.mock.calls.map((c) => c[0])).toEqual(['https://evil.example/', 'http://127.0.0.1:8080/', 'https://docs.nvidia.com/tao/']);
  });
});

describe('IPC sender validation (checklist 17)', () => {
  const app = (url = APP_ENTRY_URL): SenderFrameLike => ({ url, parent: null });

  it('trusts only the top-level frame of the app origin', () => {
    expect(isTrustedSender(app())).toBe(true);
    expect(isTrustedSender(null)).toBe(false);
    expect(isTrustedSender(undefined)).toBe(false);
    expect(isTrustedSender({ url: APP_ENTRY_URL, parent: app() })).toBe(false);
    expect(isTrustedSender({ url: APP_ENTRY_URL, parent: null, detached: true })).toBe(false);
    for (const u of FOREIGN_URLS) expect(isTrustedSender(app(u)), u).toBe(false);
  });
});

describe('every IPC channel of the map', () => {
  let dir: string;
  let file: string;
  const calls: { method: string; args: unknown[] }[] = [];
  const handlers = new Map<string, GuardedHandler>();

  const api = Object.fromEntries(
    WEB_METHODS.map((m) => [
      m,
      async (...args: unknown[]): Promise<Result<unknown>> => {
        calls.push({ method: m, args });
        return { ok: true, value: `${m}-ok` };
      },
    ]),
  ) as unknown as InvokeApi;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'studio-ipc-'));
    file = path.join(dir, 'model.onnx');
    await fs.writeFile(file, 'x');
    const ipcMain: IpcMainLike = {
      handle: (channel, listener) => void handlers.set(channel, listener as GuardedHandler),
      removeHandler: (channel) => void handlers.delete(channel),
    };
    registerIpc(ipcMain, api);
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** One valid argument tuple per method; a method without one fails the test below. */
  const valid = (): Record<WebMethod, unknown[]> => ({
    info: [],
    gpus: [],
    pickPath: ['model', { defaultPath: dir }],
    browse: [dir, 'any'],
    inspectModel: [file, 'nvidia_tlt'],
    parseSpec: [file],
    listImages: [dir],
    previewTensor: ['abcDEF_123', null, null, 'keep-aspect-pad'],
    commandFor: [{ model: file, key: 'k', outputs: { etlt: path.join(dir, 'o.etlt') } }],
    planOutputs: [{ model: file, key: 'k', outputs: { etlt: path.join(dir, 'o.etlt') } }],
    startExport: [{ model: file, key: 'k', outputs: { etlt: path.join(dir, 'o.etlt') } }],
    cancelJob: ['job-1'],
    listJobs: [],
    clearJobs: [null],
    getSettings: [],
    setSettings: [{ theme: 'dark' }],
    recentFiles: [],
    addRecentFile: [{ path: file, kind: 'model' }],
    storeKey: [file, 'nvidia_tlt'],
    loadKey: [file],
    openFolder: [dir],
    preflight: [{ model: file, key: 'k', outputs: { etlt: path.join(dir, 'o.etlt') } }],
    makeDir: [path.join(dir, 'new')],
  });

  const trusted: InvokeEventLike = { senderFrame: { url: APP_ENTRY_URL, parent: null } };
  const untrusted: [string, InvokeEventLike][] = [
    ['null senderFrame', { senderFrame: null }],
    ['sub-frame', { senderFrame: { url: APP_ENTRY_URL, parent: { url: APP_ENTRY_URL, parent: null } } }],
    ['foreign https origin', { senderFrame: { url: 'https://evil.example/', parent: null } }],
    ['file:// page', { senderFrame: { url: 'file:///tmp/x.html', parent: null } }],
    ['look-alike host', { senderFrame: { url: 'studio://app.evil.example/', parent: null } }],
  ];

  it('registers exactly one prefixed handler per StudioApi method and nothing else', () => {
    expect([...handlers.keys()].sort()).toEqual(Object.values(INVOKE_CHANNELS).sort());
    expect(handlers.size).toBe(WEB_METHODS.length);
    for (const c of handlers.keys()) expect(c.startsWith(IPC_PREFIX)).toBe(true);
    expect(handlers.has(JOB_EVENTS_CHANNEL)).toBe(false);
  });

  describe.each(WEB_METHODS.map((m) => [m]))('%s', (method) => {
    const h = () => handlers.get(INVOKE_CHANNELS[method])!;

    it.each(untrusted)('refuses a call from a %s without reaching the host', async (_name, event) => {
      calls.length = 0;
      const r = await h()(event, ...valid()[method]);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ code: 'E_REQUEST_INVALID', details: { method } });
      expect(calls).toEqual([]);
    });

    it('refuses malformed payloads with E_REQUEST_INVALID and never throws', async () => {
      calls.length = 0;
      const payloads: unknown[][] = [
        [...valid()[method], 'extra', 1, 2, 3, 4, 5],
        [Symbol.for('x') as unknown, { __proto__: { polluted: true } }, Infinity, -1, [], null, undefined, 'x'],
        [{ length: 1e9 }, 'a'.repeat(5000), 7, 8, 9],
      ];
      for (const p of payloads) {
        const r = await h()(trusted, ...p);
        expect(r.ok, JSON.stringify(p.map(String))).toBe(false);
        if (!r.ok) expect(r.error.code).toBe('E_REQUEST_INVALID');
      }
      expect(calls).toEqual([]);
    });

    it('passes a valid call from the app window through to the host', async () => {
      calls.length = 0;
      const args = valid()[method];
      expect(args, `add a valid sample for ${method}`).toBeDefined();
      const r = await h()(trusted, ...args);
      expect(r).toEqual({ ok: true, value: `${method}-ok` });
      expect(calls.map((c) => c.method)).toEqual([method]);
    });
  });

  it('re-checks renderer-supplied paths in main: missing files and wrong kinds never reach the host', async () => {
    calls.length = 0;
    const missing = path.join(dir, 'nope.onnx');
    const a = await handlers.get(INVOKE_CHANNELS.inspectModel)!(trusted, missing, 'k');
    expect(a.ok === false && a.error.code).toBe('E_FILE_NOT_FOUND');
    const b = await handlers.get(INVOKE_CHANNELS.inspectModel)!(trusted, dir, 'k');
    expect(b.ok === false && b.error.code).toBe('E_REQUEST_INVALID');
    const c = await handlers.get(INVOKE_CHANNELS.listImages)!(trusted, file);
    expect(c.ok === false && c.error.code).toBe('E_REQUEST_INVALID');
    const d = await handlers.get(INVOKE_CHANNELS.openFolder)!(trusted, `${dir}\0/etc`);
    expect(d.ok).toBe(false);
    expect(calls).toEqual([]);
  });

  it('turns a throwing or misbehaving host into a Result error', async () => {
    const throwing = { ...api, info: async () => Promise.reject(new Error('boom')), gpus: async () => 'not a result' } as unknown as InvokeApi;
    const local = new Map<string, GuardedHandler>();
    registerIpc({ handle: (c, l) => void local.set(c, l as GuardedHandler), removeHandler: () => undefined }, throwing);
    const a = await local.get(INVOKE_CHANNELS.info)!(trusted);
    expect(a.ok === false && a.error.code).toBe('E_INTERNAL');
    expect(a.ok === false && a.error.message).toContain('boom');
    const b = await local.get(INVOKE_CHANNELS.gpus)!(trusted);
    expect(b.ok === false && b.error.code).toBe('E_INTERNAL');
  });
});
