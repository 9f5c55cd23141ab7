import fs from 'node:fs/promises';
import path from 'node:path';
import { APP_CSP } from './csp.js';
import { parseThumbnailUrl, resolveAppFile } from './origins.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers of every app-scheme response (the page's security depends on the first one). */
export function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': APP_CSP,
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  };
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { ...securityHeaders(), 'content-type': 'text/plain; charset=utf-8' } });
}

/**
 * protocol.handle handler for `studio://app/…`: serves files of the renderer build (`root`,
 * i.e. out/renderer) with the CSP header, GET/HEAD only, nothing outside the root. Plain WHATWG
 * Request → Response, so it is tested in Node without Electron.
 */
export function createAppProtocolHandler(root: string): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(405, 'method not allowed');
    const file = resolveAppFile(root, req.url);
    if (file === null) return plain(404, 'not found');
    const bytes = await fs.readFile(file).catch(() => null);
    if (bytes === null) return plain(404, 'not found');
    const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    return new Response(req.method === 'HEAD' ? null : new Uint8Array(bytes), { status: 200, headers: { ...securityHeaders(), 'content-type': type } });
  };
}

/**
 * protocol.handle handler for `studio-thumb://image/<id>?size=<px>`: JPEG bytes of a thumbnail
 * by opaque id (ids are minted by listImages; an unknown id is 404, a path can never be named).
 */
export function createThumbnailProtocolHandler(thumbnail: (id: string, size?: number) => Promise<Uint8Array | null>): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method !== 'GET') return plain(405, 'method not allowed');
    const t = parseThumbnailUrl(req.url);
    if (!t) return plain(404, 'not found');
    const jpeg = await thumbnail(t.id, t.size).catch(() => null);
    if (!jpeg) return plain(404, 'not found');
    return new Response(new Uint8Array(jpeg), { status: 200, headers: { 'content-type': 'image/jpeg', 'x-content-type-options': 'nosniff', 'cache-control': 'private, max-age=3600' } });
  };
}
