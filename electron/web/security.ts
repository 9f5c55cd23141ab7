import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TOKEN_HEADER, TOKEN_QUERY } from '../../shared/web-protocol.js';

/** A fresh session token: 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The cookie set when a page is opened with ?token= (per port: cookies ignore ports). */
export function cookieName(port: number): string {
  return `studio_token_${port}`;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/**
 * The checks every HTTP request and WebSocket upgrade passes, in order:
 *  1. Host must be 127.0.0.1:<port> or localhost:<port> (403): a DNS-rebinding page has its own
 *     host name in Host even when it resolves to 127.0.0.1.
 *  2. Origin, when sent, must be this server's own origin (403): no other site may call us.
 *  3. The token (401): header `x-studio-token`; for GET requests that cannot set headers (the
 *     page, its assets, <img> thumbnails, the WebSocket) also the `token` query parameter or the
 *     cookie set when the page was opened with it. /api/* takes the header only.
 */
export function checkRequest(req: IncomingMessage, url: URL, port: number, token: string, options: { headerOnly: boolean }): Verdict {
  const host = req.headers.host;
  const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!host || !allowedHosts.includes(host.toLowerCase())) return { ok: false, status: 403, reason: 'foreign Host header' };
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedHosts.some((h) => origin.toLowerCase() === `http://${h}`)) return { ok: false, status: 403, reason: 'foreign Origin' };
  const header = req.headers[TOKEN_HEADER];
  const candidates: string[] = [];
  if (typeof header === 'string') candidates.push(header);
  if (!options.headerOnly) {
    const q = url.searchParams.get(TOKEN_QUERY);
    if (q) candidates.push(q);
    const c = cookieValue(req.headers.cookie, cookieName(port));
    if (c) candidates.push(c);
  }
  if (!candidates.some((c) => tokensEqual(c, token))) return { ok: false, status: 401, reason: 'missing or wrong token' };
  return { ok: true };
}

/** Content-Security-Policy of every response. */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}
