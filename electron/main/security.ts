import type { WebPreferences } from 'electron';
import { APP_SCHEME, THUMB_SCHEME } from './origins.js';

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
  navigateOnDragDrop: false,
  safeDialogs: true,
  disableDialogs: false,
  enableWebSQL: false,
  v8CacheOptions: 'code',
  // Middle-click (auxclick) on a link must not open anything; window.open is denied anyway (Electronegativity AUXCLICK_JS_CHECK).
  disableBlinkFeatures: 'Auxclick',
});

/** The window's preferences: the secure set plus the bundled, sandboxed preload (one CJS file). */
export function windowWebPreferences(preload: string): WebPreferences {
  return { ...SECURE_WEB_PREFERENCES, preload };
}

/**
 * Privileged schemes, registered once before `ready`. `standard` gives the app a real origin
 * (relative URLs, 'self' in the CSP); `secure` makes it a secure context; the app scheme may be
 * fetched by the page. Neither bypasses CSP, neither gets service workers or CORS exemptions.
 */
export const PRIVILEGED_SCHEMES = Object.freeze([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false, bypassCSP: false, stream: false, allowServiceWorkers: false } },
  { scheme: THUMB_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false, bypassCSP: false, stream: false, allowServiceWorkers: false } },
] as const);

/** Checklist item 5: no permission (camera, notifications, geolocation, clipboard-read …) is ever granted. */
export function permissionRequestDecision(_permission: string): false {
  return false;
}

export function permissionCheckDecision(_permission: string): false {
  return false;
}
