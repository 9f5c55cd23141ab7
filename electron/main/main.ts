import { BrowserWindow, app, dialog, ipcMain, protocol, safeStorage, session, shell, utilityProcess } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StudioError } from '../../shared/errors.js';
import { createHost, type Host } from '../host/compose.js';
import { utilityWorkerFactory, type UtilityForkLike } from '../host/utility-factory.js';
import { dialogOptionsFor } from './dialogs.js';
import { closeDialogOptions, liveJobCounts } from './close-guard.js';
import { JobEventForwarder } from './event-forwarder.js';
import { registerIpc } from './ipc.js';
import { SafeStorageKeyStore } from './key-store.js';
import { APP_ENTRY_URL, APP_SCHEME, THUMB_SCHEME, thumbnailUrl } from './origins.js';
import { checkLocalPath } from './paths.js';
import { createAppProtocolHandler, createThumbnailProtocolHandler } from './protocols.js';
import { PRIVILEGED_SCHEMES, permissionCheckDecision, permissionRequestDecision, windowWebPreferences } from './security.js';
import { hardenWebContents } from './web-contents.js';
import { GoneReasons, withGoneReasons } from './worker-gone.js';

/**
 * The Electron composition root (bundled to out/electron/main.js). Everything here is wiring;
 * the behaviour lives in electron/host (shared with web mode) and in the pure modules beside
 * this file, which are unit-tested in plain Node.
 */
const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RENDERER_ROOT = path.join(OUT, 'renderer');
const PRELOAD = path.join(OUT, 'electron', 'preload.cjs');
const WORKER_ENTRY = path.join(OUT, 'worker', 'utility.js');
const QUIT_TIMEOUT_MS = 5000;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // One settings folder for the desktop app and web mode (~/.config/export-studio), whatever
  // Electron would derive from how it was started; --user-data-dir (tests) still wins.
  app.setName('Export Studio');
  if (!app.commandLine.hasSwitch('user-data-dir')) app.setPath('userData', path.join(app.getPath('appData'), 'export-studio'));
  // Must happen before `ready`, exactly once.
  protocol.registerSchemesAsPrivileged(PRIVILEGED_SCHEMES.map((s) => ({ scheme: s.scheme, privileges: { ...s.privileges } })));
  app.enableSandbox();
  start();
}

function start(): void {
  let win: BrowserWindow | null = null;
  let host: Host | null = null;
  const gone = new GoneReasons();

  app.on('web-contents-created', (_event, contents) => {
    hardenWebContents(contents, { openExternal: (url) => shell.openExternal(url) });
  });
  app.on('child-process-gone', (_event, details) => gone.record(details));
  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('window-all-closed', () => app.quit());

  let quitState: 'running' | 'disposing' | 'done' = 'running';
  app.on('before-quit', (event) => {
    if (quitState === 'done' || !host) return;
    event.preventDefault();
    if (quitState === 'disposing') return;
    quitState = 'disposing';
    // Kill running workers (their partial outputs are removed) before the process goes.
    const timeout = new Promise<void>((r) => setTimeout(r, QUIT_TIMEOUT_MS).unref());
    void Promise.race([host.dispose().catch(() => undefined), timeout]).finally(() => {
      quitState = 'done';
      app.quit();
    });
  });

  void app.whenReady().then(() => {
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((_wc, permission, callback) => callback(permissionRequestDecision(permission)));
    ses.setPermissionCheckHandler((_wc, permission) => permissionCheckDecision(permission));

    const utilityFactory = utilityWorkerFactory(utilityProcess as unknown as UtilityForkLike, WORKER_ENTRY);
    host = createHost({
      mode: 'electron',
      configDir: app.getPath('userData'),
      spawnWorker: withGoneReasons(utilityFactory, gone, (name) => `export-studio-${name}`),
      keyStore: new SafeStorageKeyStore(safeStorage, app.getPath('userData')),
      pickPath: async (kind, options) => {
        const opts = dialogOptionsFor(kind, options);
        const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
      openFolder: async (dir) => {
        const abs = await checkLocalPath(dir, 'dir');
        const err = await shell.openPath(abs);
        if (err) throw new StudioError('E_USAGE', `Cannot open ${abs}: ${err}`, 'Open the folder in your file manager yourself.', { file: abs });
      },
      thumbnailUrl,
    });
    const api = host.api;

    protocol.handle(APP_SCHEME, createAppProtocolHandler(RENDERER_ROOT));
    protocol.handle(THUMB_SCHEME, createThumbnailProtocolHandler((id, size) => api.thumbnail(id, size)));
    registerIpc(ipcMain, api);

    win = new BrowserWindow({
      width: 1280,
      height: 860,
      minWidth: 900,
      minHeight: 600,
      show: false,
      title: 'Export Studio',
      backgroundColor: '#121212',
      // The checklist flags are spelled out in this literal (static scanners such as
      // Electronegativity read it); main-source.test.ts checks they equal SECURE_WEB_PREFERENCES.
      webPreferences: {
        ...windowWebPreferences(PRELOAD),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        webviewTag: false,
        disableBlinkFeatures: 'Auxclick',
        preload: PRELOAD,
      },
    });
    const forwarder = new JobEventForwarder(win.webContents);
    const unsubscribe = api.onJobEvents((batch) => forwarder.push(batch));
    win.once('ready-to-show', () => win?.show());
    // Closing the window would cancel running and queued exports (before-quit disposes the host): ask first.
    let closeConfirmed = false;
    win.on('close', (event) => {
      const opts = closeConfirmed || !host ? null : closeDialogOptions(liveJobCounts(host.jobs.list()));
      if (!opts || !win) return;
      if (dialog.showMessageBoxSync(win, opts) === 0) closeConfirmed = true;
      else event.preventDefault();
    });
    win.on('closed', () => {
      unsubscribe();
      forwarder.dispose();
      win = null;
    });
    void win.loadURL(APP_ENTRY_URL);
  });
}
