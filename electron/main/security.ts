import type { WebPreferences } from 'electron';

/**
 * The renderer's web preferences: Electron's security checklist items 2–4, 6, 8–10.
 * Kept in one place so the window factory and the security test read the same object.
 */
export const SECURE_WEB_PREFERENCES: Readonly<WebPreferences> = Object.freeze({
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  spellcheck: false,
});
