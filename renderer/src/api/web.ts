import type { JobEventBatch, Result, StudioApi } from '../../../shared/api.js';
import type { StudioErrorData } from '../../../shared/errors.js';
import { TOKEN_HEADER, TOKEN_QUERY, WEB_METHODS, type WebMethod, type WsJobEventsMessage } from '../../../shared/web-protocol.js';
import type { StudioClient, UploadFn } from './client.js';

const TOKEN_STORAGE_KEY = 'export-studio.token';

export interface TokenSource {
  href: string;
}

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Take the session token from `?token=` (then the tab's sessionStorage, so a reload of the
 * cleaned URL still works) and return the URL without it, for history.replaceState.
 */
export function takeToken(loc: TokenSource, storage: KeyValueStorage | null): { token: string | null; cleanUrl: string | null } {
  const url = new URL(loc.href);
  const fromUrl = url.searchParams.get(TOKEN_QUERY);
  if (fromUrl) {
    url.searchParams.delete(TOKEN_QUERY);
    try {
      storage?.setItem(TOKEN_STORAGE_KEY, fromUrl);
    } catch {
      // storage disabled: memory only
    }
    return { token: fromUrl, cleanUrl: url.pathname + url.search + url.hash };
  }
  try {
    return { token: storage?.getItem(TOKEN_STORAGE_KEY) ?? null, cleanUrl: null };
  } catch {
    return { token: null, cleanUrl: null };
  }
}

function transportError(message: string, hint: string, details?: Record<string, string | number>): StudioErrorData {
  return { code: 'E_INTERNAL', message, hint, ...(details ? { details } : {}) };
}

function isResult(v: unknown): v is Result<unknown> {
  if (typeof v !== 'object' || v === null || !('ok' in v)) return false;
  const ok = (v as { ok: unknown }).ok;
  if (ok === true) return true;
  return ok === false && 'error' in v && typeof (v as { error: unknown }).error === 'object';
}

export interface WebClientOptions {
  /** Origin plus base path of the server, e.g. http://127.0.0.1:5173 */
  origin: string;
  token: string;
  fetch?: typeof fetch;
  WebSocketImpl?: typeof WebSocket;
  /** Reconnect backoff bounds (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

type Listener = (batch: JobEventBatch) => void;

/** The job-event socket: opened while someone listens, reopened with backoff when it drops. */
class EventSocket {
  private ws: WebSocket | null = null;
  private readonly listeners = new Set<Listener>();
  private backoff: number;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly url: string,
    private readonly Impl: typeof WebSocket,
    private readonly minBackoff: number,
    private readonly maxBackoff: number,
  ) {
    this.backoff = minBackoff;
  }

  add(l: Listener): () => void {
    this.listeners.add(l);
    this.ensureOpen();
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) this.close();
    };
  }

  private ensureOpen(): void {
    if (this.ws || this.timer) return;
    const ws = new this.Impl(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = this.minBackoff;
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      let msg: unknown;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      const m = msg as Partial<WsJobEventsMessage>;
      if (m.type !== 'job-events' || !m.batch || !Array.isArray(m.batch.events)) return;
      for (const l of [...this.listeners]) l(m.batch);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.listeners.size === 0) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.ensureOpen();
      }, this.backoff);
      this.backoff = Math.min(this.maxBackoff, this.backoff * 2);
    };
  }

  private close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }
}

/** StudioApi over shared/web-protocol.ts: POST /api/<method>, /thumb/<id>, /ws. */
export function createWebApi(opts: WebClientOptions): StudioApi {
  const origin = opts.origin.replace(/\/$/, '');
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const wsUrl = `${origin.replace(/^http/, 'ws')}/ws?${TOKEN_QUERY}=${encodeURIComponent(opts.token)}`;
  const socket = new EventSocket(wsUrl, opts.WebSocketImpl ?? WebSocket, opts.minBackoffMs ?? 500, opts.maxBackoffMs ?? 8000);

  async function call<T>(method: WebMethod, args: unknown[]): Promise<Result<T>> {
    let res: Response;
    try {
      res = await doFetch(`${origin}/api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TOKEN_HEADER]: opts.token },
        body: JSON.stringify({ args }),
      });
    } catch (e) {
      return {
        ok: false,
        error: transportError('Cannot reach the Export Studio server', 'Is `export-studio serve` still running? Restart it and open the URL it prints.', {
          method,
          cause: String(e),
        }),
      };
    }
    if (res.status === 401 || res.status === 403) {
      return {
        ok: false,
        error: { code: 'E_USAGE', message: 'The server refused this page’s session token', hint: 'Open the exact URL `export-studio serve` printed (it carries a new token).' },
      };
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      return { ok: false, error: transportError(`The server answered ${res.status} without a result`, 'Check the terminal running `export-studio serve` for errors.', { method, status: res.status }) };
    }
    if (!isResult(body)) {
      return { ok: false, error: transportError(`Unexpected answer from the server for ${method}`, 'The app and server versions may differ; restart the server.', { method }) };
    }
    return body as Result<T>;
  }

  const api = {} as Record<WebMethod, (...args: unknown[]) => Promise<Result<unknown>>>;
  for (const m of WEB_METHODS) {
    // Trailing undefined args are dropped so JSON does not turn them into null.
    api[m] = (...args: unknown[]) => {
      while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
      return call(m, args);
    };
  }
  return {
    ...(api as unknown as Pick<StudioApi, WebMethod>),
    thumbnailUrl(imageId: string, size?: number): string {
      const q = new URLSearchParams();
      if (size !== undefined) q.set('size', String(size));
      q.set(TOKEN_QUERY, opts.token);
      return `${origin}/thumb/${encodeURIComponent(imageId)}?${q.toString()}`;
    },
    onJobEvents(listener) {
      return socket.add(listener);
    },
  };
}

/** PUT /upload with XMLHttpRequest (fetch has no upload progress); the token in the header. */
export function createUploader(opts: Pick<WebClientOptions, 'origin' | 'token'>): UploadFn {
  const origin = opts.origin.replace(/\/$/, '');
  return (file, dir, name, onProgress) =>
    new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', `${origin}/upload?${new URLSearchParams({ dir, name }).toString()}`);
      xhr.setRequestHeader(TOKEN_HEADER, opts.token);
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
      xhr.onload = () => {
        let body: unknown = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          // handled below
        }
        if (isResult(body)) resolve(body as Result<{ path: string; bytes: number }>);
        else resolve({ ok: false, error: transportError(`The upload of ${name} got answer ${xhr.status}`, 'Check the terminal running `export-studio serve`.', { status: xhr.status }) });
      };
      xhr.onerror = () => resolve({ ok: false, error: transportError(`The upload of ${name} failed (network)`, 'Check that `export-studio serve` is still running, then drop the file again.') });
      xhr.send(file);
    });
}

export function createWebClient(opts: WebClientOptions): StudioClient {
  return { api: createWebApi(opts), mode: 'web', pathForFile: () => null, upload: createUploader(opts) };
}
