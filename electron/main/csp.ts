import { THUMB_SCHEME } from './origins.js';

/**
 * The Content-Security-Policy header of every app-scheme response (checklist item 7). Nothing
 * is allowed unless listed: scripts only from our own files (Vite emits no inline script),
 * inline styles for MUI/Emotion's runtime <style> tags (see docs/ARCHITECTURE.md "CSP"),
 * images from our files, data: (the tensor preview PNG), blob: and the thumbnail scheme.
 */
export const APP_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:', `${THUMB_SCHEME}:`],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
  'frame-src': ["'none'"],
  'worker-src': ["'none'"],
});

export function cspString(directives: Readonly<Record<string, readonly string[]>> = APP_CSP_DIRECTIVES): string {
  return Object.entries(directives)
    .map(([k, v]) => `${k} ${v.join(' ')}`)
    .join('; ');
}

export const APP_CSP = cspString();

/** Parse a CSP header back into directives (tests, and a check that nothing was mangled). */
export function parseCsp(header: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) m.set(name.toLowerCase(), values);
  }
  return m;
}
