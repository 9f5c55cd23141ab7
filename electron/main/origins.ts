import path from 'node:path';
import { THUMB_HOST, THUMB_SCHEME } from '../../shared/ipc-channels.js';

/**
 * The app's own URL space. The renderer is served from `studio://app/…` (a privileged standard
 * scheme, so it has a real origin and `'self'` in the CSP means exactly our files) and thumbnails
 * from `studio-thumb://image/<opaque id>?size=<px>`. Every check parses with `new URL`, never
 * with string prefixes (Electron security checklist item 13).
 */
export const APP_SCHEME = 'studio';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;
export { THUMB_HOST, THUMB_SCHEME, thumbnailUrl } from '../../shared/ipc-channels.js';

export function parseUrl(s: string): URL | null {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

/** True for URLs of the app origin exactly: studio://app, no credentials, no port. */
export function isAppUrl(url: string): boolean {
  const u = parseUrl(url);
  return u !== null && u.protocol === `${APP_SCHEME}:` && u.hostname.toLowerCase() === APP_HOST && u.port === '' && u.username === '' && u.password === '';
}

/** `will-navigate`: only in-app navigation (a reload of the page) is allowed. */
export function isNavigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/**
 * Links the user clicks that may go to the system browser: http(s) only, a host, no
 * credentials. Returns the normalised URL to pass to shell.openExternal, or null.
 */
export function externalUrl(url: string): string | null {
  const u = parseUrl(url);
  if (!u) return null;
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
  if (u.hostname === '' || u.username !== '' || u.password !== '') return null;
  return u.href;
}

/**
 * The file under `root` that an app-scheme request names, or null when the URL is not ours or
 * escapes the root (`..`, encoded `%2e%2e`, encoded slashes or NULs). `/` is index.html.
 */
export function resolveAppFile(root: string, url: string): string | null {
  if (!isAppUrl(url)) return null;
  const u = parseUrl(url);
  if (!u) return null;
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (rel.includes('\0') || rel.includes('\\')) return null;
  // An encoded slash inside a segment would change the path after decoding: refuse it.
  if (/%2f|%5c/i.test(u.pathname)) return null;
  if (rel === '/' || rel === '') rel = '/index.html';
  const base = path.resolve(root);
  const file = path.resolve(base, `.${rel}`);
  const inside = path.relative(base, file);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return null;
  return file;
}

const ID_RE = /^[A-Za-z0-9_-]{1,200}$/;

/** The opaque id and size of a thumbnail URL, or null when it is not one of ours. */
export function parseThumbnailUrl(url: string): { id: string; size: number | undefined } | null {
  const u = parseUrl(url);
  if (!u || u.protocol !== `${THUMB_SCHEME}:` || u.hostname.toLowerCase() !== THUMB_HOST || u.username !== '' || u.password !== '' || u.port !== '') return null;
  const id = u.pathname.replace(/^\//, '');
  if (!ID_RE.test(id)) return null;
  const s = u.searchParams.get('size');
  if (s === null) return { id, size: undefined };
  if (!/^\d{1,4}$/.test(s)) return null;
  return { id, size: Number(s) };
}
