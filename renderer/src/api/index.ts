import type { StudioClient } from './client.js';
import { createElectronClient } from './electron.js';
import { createWebClient, takeToken } from './web.js';

export type { StudioClient, ApiMode } from './client.js';

function sessionStore(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/**
 * Production choice: the preload's window.studio in the app, else the web protocol on this
 * page's origin with the token from the URL. (The in-memory mock is wired only by dev.html.)
 */
export function chooseClient(): StudioClient | { error: string } {
  if (window.studio) return createElectronClient(window.studio);
  const { token, cleanUrl } = takeToken(window.location, sessionStore());
  if (cleanUrl !== null) window.history.replaceState(null, '', cleanUrl);
  if (!token) return { error: 'This page needs the session token. Open the URL that `export-studio serve` printed (it ends with ?token=…).' };
  const base = new URL('.', window.location.href);
  return createWebClient({ origin: base.origin + base.pathname.replace(/\/$/, ''), token });
}
