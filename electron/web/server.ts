import fs from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Result, StudioApi } from '../../shared/api.js';
import { StudioError, asStudioError } from '../../shared/errors.js';
import { TOKEN_QUERY, WEB_METHODS, type WebMethod, type WsJobEventsMessage } from '../../shared/web-protocol.js';
import { checkRequest, contentSecurityPolicy, cookieName, newToken, tokensEqual, type Verdict } from './security.js';

export interface WebServerOptions {
  /** 0 = any free port. */
  port: number;
  /** The renderer build (out/renderer). */
  rendererDir: string;
  /** The host API; `thumbnail` (HostApi) serves /thumb/<id>. */
  api: StudioApi & {
    thumbnail?: (imageId: string, size?: number) => Promise<Uint8Array | null>;
    /** PUT /upload?dir=&name= (drag-and-drop, issue 12); absent = uploads refused. */
    upload?: (o: { dir: string; name: string; body: AsyncIterable<Uint8Array>; declaredBytes?: number }) => Promise<Result<{ path: string; bytes: number }>>;
  };
  /** Fixed token (tests); default a fresh random one. */
  token?: string;
}

export interface WebServer {
  /** http://127.0.0.1:<port>/?token=… — what to open. */
  url: string;
  token: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 2 ** 20;
const WEB_METHOD_SET = new Set<string>(WEB_METHODS);

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Export Studio</title></head>
<body><h1>Export Studio</h1><p>renderer not built: run <code>npm run build</code>, then restart <code>export-studio serve</code>.</p></body></html>
`;

/**
 * Web mode: the renderer and the StudioApi over HTTP + WebSocket on 127.0.0.1 only
 * (shared/web-protocol.ts). Every request needs the session token and a local Host (and Origin,
 * when sent); responses carry a strict CSP. Job events go to every connected WebSocket, after a
 * snapshot of every job in the host's registry (a reload or a reconnect misses nothing).
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = options.token ?? newToken();
  const rendererRoot = path.resolve(options.rendererDir);
  let port = 0;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();

  const baseHeaders = (): Record<string, string> => ({
    'content-security-policy': contentSecurityPolicy(port),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  });

  function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...baseHeaders(), 'content-type': type, 'cache-control': 'no-store', ...extra });
    res.end(body);
  }
  function sendJson(res: ServerResponse, status: number, value: unknown): void {
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
  }
  function refuse(res: ServerResponse, v: Extract<Verdict, { ok: false }>): void {
    send(res, v.status, 'text/plain; charset=utf-8', `${v.status === 401 ? 'Unauthorized' : 'Forbidden'}: ${v.reason}\n`);
  }
  const invalid = (message: string): Result<never> => ({
    ok: false,
    error: new StudioError('E_REQUEST_INVALID', message, 'Send POST /api/<method> with a JSON body {"args": [...]} (see shared/web-protocol.ts).').toData(),
  });

  async function readBody(req: IncomingMessage): Promise<string | null> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_BODY) return null;
      chunks.push(c);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (req.method !== 'POST') return send(res, 405, 'text/plain; charset=utf-8', 'Use POST\n', { allow: 'POST' });
    if (!WEB_METHOD_SET.has(method)) return sendJson(res, 404, invalid(`Unknown API method: ${method}`));
    // A JSON content type keeps "simple" cross-site form posts out (they would also lack the token).
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return sendJson(res, 415, invalid('Content-Type must be application/json'));
    const text = await readBody(req);
    if (text === null) return sendJson(res, 413, invalid(`Request body over ${MAX_BODY} bytes`));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return sendJson(res, 400, invalid('Request body is not valid JSON'));
    }
    const args = (body as { args?: unknown } | null)?.args;
    if (typeof body !== 'object' || body === null || !Array.isArray(args)) return sendJson(res, 400, invalid('Request body must be {"args": [...]}'));
    // The host API validates each argument against its schema (electron/host/api-schemas.ts).
    const fn = options.api[method as WebMethod] as (...a: unknown[]) => Promise<Result<unknown>>;
    const result = await fn.apply(options.api, args);
    const status = !result.ok && result.error.code === 'E_REQUEST_INVALID' ? 400 : 200;
    sendJson(res, status, result);
  }

  async function handleUpload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'PUT') {
      req.resume();
      return send(res, 405, 'text/plain; charset=utf-8', 'Use PUT\n', { allow: 'PUT' });
    }
    const dir = url.searchParams.get('dir');
    const name = url.searchParams.get('name');
    if (!options.api.upload || !dir || !name) {
      req.resume();
      return sendJson(res, 400, invalid('PUT /upload?dir=<server folder>&name=<file name> with the file as the body'));
    }
    const len = req.headers['content-length'];
    const declared = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
    const result = await options.api.upload({ dir, name, body: req as AsyncIterable<Uint8Array>, ...(declared !== undefined ? { declaredBytes: declared } : {}) });
    if (!req.complete) req.resume();
    sendJson(res, result.ok ? 200 : result.error.code === 'E_REQUEST_INVALID' ? 400 : 422, result);
  }

  async function handleThumb(res: ServerResponse, id: string, url: URL): Promise<void> {
    const size = url.searchParams.has('size') ? Number(url.searchParams.get('size')) : undefined;
    let jpeg: Uint8Array | null;
    try {
      jpeg = options.api.thumbnail ? await options.api.thumbnail(id, size) : null;
    } catch {
      return send(res, 422, 'text/plain; charset=utf-8', 'Cannot render this image\n');
    }
    if (!jpeg) return send(res, 404, 'text/plain; charset=utf-8', 'Unknown image id\n');
    send(res, 200, 'image/jpeg', jpeg, { 'cache-control': 'private, max-age=3600' });
  }

  async function handleStatic(req: IncomingMessage, res: ServerResponse, url: URL, tokenInQuery: boolean): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', { allow: 'GET, HEAD' });
    const extra: Record<string, string> = {};
    // Opened with ?token=: remember it in a cookie so the page's own asset requests pass — only when
    // the query token itself is the right one (the request may have passed on its cookie or header).
    const q = url.searchParams.get(TOKEN_QUERY);
    if (tokenInQuery && q && tokensEqual(q, token)) extra['set-cookie'] = `${cookieName(port)}=${q}; HttpOnly; SameSite=Strict; Path=/`;
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'text/plain; charset=utf-8', 'Bad path\n');
    }
    if (rel.includes('\0')) return send(res, 400, 'text/plain; charset=utf-8', 'Bad path\n');
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = path.resolve(rendererRoot, `.${rel}`);
    if (file !== rendererRoot && !file.startsWith(rendererRoot + path.sep)) return send(res, 403, 'text/plain; charset=utf-8', 'Forbidden\n');
    const real = await fs.realpath(file).catch(() => null);
    const realRoot = await fs.realpath(rendererRoot).catch(() => rendererRoot);
    if (real && !real.startsWith(realRoot + path.sep)) return send(res, 403, 'text/plain; charset=utf-8', 'Forbidden\n');
    const st = real ? await fs.stat(real).catch(() => null) : null;
    if (!real || !st?.isFile()) {
      if (rel === '/index.html') return send(res, 200, 'text/html; charset=utf-8', NOT_BUILT_PAGE, extra);
      return send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
    }
    const type = MIME[path.extname(real).toLowerCase()] ?? 'application/octet-stream';
    const body = await fs.readFile(real);
    const cache = rel.startsWith('/assets/') ? 'private, max-age=31536000, immutable' : 'no-store';
    send(res, 200, type, req.method === 'HEAD' ? '' : body, { ...extra, 'cache-control': cache });
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const isApi = url.pathname.startsWith('/api/') || url.pathname === '/upload';
    const verdict = checkRequest(req, url, port, token, { headerOnly: isApi });
    if (!verdict.ok) {
      req.resume();
      return refuse(res, verdict);
    }
    const route = async () => {
      if (url.pathname === '/upload') return handleUpload(req, res, url);
      if (isApi) return handleApi(req, res, url.pathname.slice('/api/'.length));
      if (url.pathname.startsWith('/thumb/')) {
        let id: string;
        try {
          id = decodeURIComponent(url.pathname.slice('/thumb/'.length));
        } catch {
          return send(res, 400, 'text/plain; charset=utf-8', 'Bad id\n');
        }
        return handleThumb(res, id, url);
      }
      if (url.pathname === '/ws') return send(res, 426, 'text/plain; charset=utf-8', 'WebSocket upgrade required\n');
      return handleStatic(req, res, url, url.searchParams.has(TOKEN_QUERY));
    };
    route().catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: asStudioError(e, 'in the web server', 'Check the terminal running export-studio serve.').toData() });
      else res.destroy();
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const verdict: Verdict = url.pathname !== '/ws' ? { ok: false, status: 403, reason: 'no such endpoint' } : checkRequest(req, url, port, token, { headerOnly: false });
    if (!verdict.ok) {
      socket.end(`HTTP/1.1 ${verdict.status} ${verdict.status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
      // Clients only listen; anything they send is ignored.
      ws.on('message', () => undefined);
      // Replay: a page that (re)connects first gets every job's snapshot from the host's registry,
      // then the live stream. The snapshot is taken synchronously and the socket joins the
      // broadcast before any later worker message can arrive, so nothing falls in between.
      void options.api.listJobs().then((r) => {
        if (ws.readyState !== ws.OPEN) return;
        if (r.ok) {
          for (const snapshot of r.value) {
            const msg: WsJobEventsMessage = { type: 'job-events', batch: { jobId: snapshot.jobId, events: [], seq: snapshot.seq, snapshot } };
            ws.send(JSON.stringify(msg));
          }
        }
        sockets.add(ws);
      });
    });
  });

  const unsubscribe = options.api.onJobEvents((batch) => {
    const msg: WsJobEventsMessage = { type: 'job-events', batch };
    const text = JSON.stringify(msg);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?${TOKEN_QUERY}=${token}`,
    token,
    port,
    server,
    async close() {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      sockets.clear();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
