import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobEventBatch } from '../../../shared/api.js';
import { TOKEN_HEADER, WEB_METHODS } from '../../../shared/web-protocol.js';
import { createWebApi, takeToken, type KeyValueStorage } from './web.js';

class MemStorage implements KeyValueStorage {
  readonly m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

describe('takeToken', () => {
  it('takes ?token=, stores it for the tab and returns the URL without it', () => {
    const st = new MemStorage();
    const r = takeToken({ href: 'http://127.0.0.1:4312/?a=1&token=abc123#x' }, st);
    expect(r).toEqual({ token: 'abc123', cleanUrl: '/?a=1#x' });
    expect([...st.m.values()]).toEqual(['abc123']);
    // a reload of the cleaned URL finds it in sessionStorage, nothing to clean
    expect(takeToken({ href: 'http://127.0.0.1:4312/?a=1' }, st)).toEqual({ token: 'abc123', cleanUrl: null });
  });
  it('no token anywhere → null', () => {
    expect(takeToken({ href: 'http://127.0.0.1:1/' }, new MemStorage())).toEqual({ token: null, cleanUrl: null });
    expect(takeToken({ href: 'http://127.0.0.1:1/' }, null)).toEqual({ token: null, cleanUrl: null });
  });
});

type FetchArgs = [string, RequestInit];

function fakeFetch(respond: (url: string, init: RequestInit) => Response | Promise<Response>) {
  const calls: FetchArgs[] = [];
  const f = (async (url: string, init: RequestInit) => {
    calls.push([url, init]);
    return respond(url, init);
  }) as unknown as typeof fetch;
  return { f, calls };
}

class FakeWs {
  static all: FakeWs[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeWs.all.push(this);
  }
  close() {
    this.closed = true;
    this.onclose?.();
  }
  /** Server side helpers */
  drop() {
    this.onclose?.();
  }
  send(msg: unknown) {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
}

describe('createWebApi', () => {
  beforeEach(() => {
    FakeWs.all = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const mk = (f: typeof fetch) => createWebApi({ origin: 'http://127.0.0.1:4312/', token: 't0k', fetch: f, WebSocketImpl: FakeWs as unknown as typeof WebSocket, minBackoffMs: 100, maxBackoffMs: 400 });

  it('POSTs /api/<method> with the token header and {args}, dropping trailing undefined', async () => {
    const { f, calls } = fakeFetch(() => Response.json({ ok: true, value: { path: '/h', parent: null, entries: [] } }));
    const api = mk(f);
    const r = await api.browse(null, 'model');
    expect(r).toEqual({ ok: true, value: { path: '/h', parent: null, entries: [] } });
    const [url, init] = calls[0] as FetchArgs;
    expect(url).toBe('http://127.0.0.1:4312/api/browse');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>)[TOKEN_HEADER]).toBe('t0k');
    expect(JSON.parse(init.body as string)).toEqual({ args: [null, 'model'] });
    await api.pickPath('spec', undefined);
    expect(JSON.parse((calls[1] as FetchArgs)[1].body as string)).toEqual({ args: ['spec'] });
  });

  it('exposes every WEB_METHOD', () => {
    const api = mk(fakeFetch(() => Response.json({ ok: true, value: null })).f) as unknown as Record<string, unknown>;
    for (const m of WEB_METHODS) expect(typeof api[m]).toBe('function');
  });

  it('passes an error Result through unchanged', async () => {
    const error = { code: 'E_WRONG_KEY_OR_CORRUPT', message: 'wrong key', hint: 'use the right one', file: '/m.tlt' };
    const api = mk(fakeFetch(() => Response.json({ ok: false, error })).f);
    expect(await api.inspectModel('/m.tlt', 'k')).toEqual({ ok: false, error });
  });

  it('turns transport failures into Results with a hint', async () => {
    const down = mk(fakeFetch(() => Promise.reject(new TypeError('Failed to fetch'))).f);
    const r1 = await down.info();
    expect(r1.ok).toBe(false);
    if (!r1.ok) expect(r1.error.hint).toMatch(/serve/);
    const denied = mk(fakeFetch(() => new Response('no', { status: 401 })).f);
    const r2 = await denied.info();
    expect(!r2.ok && r2.error.code).toBe('E_USAGE');
    const garbage = mk(fakeFetch(() => Response.json({ hello: 1 })).f);
    const r3 = await garbage.info();
    expect(!r3.ok && r3.error.code).toBe('E_INTERNAL');
    const html = mk(fakeFetch(() => new Response('<html>', { status: 500 })).f);
    const r4 = await html.info();
    expect(!r4.ok && r4.error.message).toMatch(/500/);
  });

  it('thumbnail URLs carry size and token in the query, id encoded', () => {
    const api = mk(fakeFetch(() => Response.json({})).f);
    expect(api.thumbnailUrl('a/b c', 160)).toBe('http://127.0.0.1:4312/thumb/a%2Fb%20c?size=160&token=t0k');
    expect(api.thumbnailUrl('x')).toBe('http://127.0.0.1:4312/thumb/x?token=t0k');
  });

  it('job events: one socket while listening, batches dispatched, bad frames ignored', () => {
    const api = mk(fakeFetch(() => Response.json({})).f);
    const got: JobEventBatch[] = [];
    const off = api.onJobEvents((b) => got.push(b));
    const off2 = api.onJobEvents(() => undefined);
    expect(FakeWs.all).toHaveLength(1);
    const ws = FakeWs.all[0] as FakeWs;
    expect(ws.url).toBe('ws://127.0.0.1:4312/ws?token=t0k');
    const batch: JobEventBatch = { jobId: 'j', events: [{ type: 'log', level: 'info', text: 'hi', time: 1 }] };
    ws.send({ type: 'job-events', batch });
    ws.send('not json');
    ws.send({ type: 'other' });
    expect(got).toEqual([batch]);
    off();
    expect(ws.closed).toBe(false);
    off2();
    expect(ws.closed).toBe(true);
  });

  it('reconnects with exponential backoff after a drop, and stops when nobody listens', () => {
    vi.useFakeTimers();
    const api = mk(fakeFetch(() => Response.json({})).f);
    const off = api.onJobEvents(() => undefined);
    (FakeWs.all[0] as FakeWs).drop();
    vi.advanceTimersByTime(99);
    expect(FakeWs.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeWs.all).toHaveLength(2);
    (FakeWs.all[1] as FakeWs).drop();
    vi.advanceTimersByTime(199);
    expect(FakeWs.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeWs.all).toHaveLength(3);
    // a successful open resets the backoff
    (FakeWs.all[2] as FakeWs).onopen?.();
    (FakeWs.all[2] as FakeWs).drop();
    vi.advanceTimersByTime(100);
    expect(FakeWs.all).toHaveLength(4);
    off();
    (FakeWs.all[3] as FakeWs).drop();
    vi.advanceTimersByTime(10_000);
    expect(FakeWs.all).toHaveLength(4);
  });
});
