import { randomBytes } from 'node:crypto';

export interface ThumbnailOptions {
  /** Renders a JPEG of at most size×size for a real path (the reader worker's `thumbnail`). */
  render: (path: string, size: number) => Promise<Uint8Array>;
  /** Byte budget of the LRU cache (default 48 MiB). */
  maxBytes?: number;
  /** Registered ids kept (oldest forgotten first; default 200 000). */
  maxIds?: number;
}

export const DEFAULT_THUMB_SIZE = 160;
const MIN_SIZE = 32;
const MAX_SIZE = 512;

/** Sizes are rounded up to a multiple of 32 (and clamped) so the cache is not split per pixel. */
export function normaliseSize(size: number | undefined): number {
  if (size === undefined || !Number.isFinite(size)) return DEFAULT_THUMB_SIZE;
  return Math.min(MAX_SIZE, Math.max(MIN_SIZE, Math.ceil(size / 32) * 32));
}

/**
 * Opaque image ids and the thumbnail cache. `register` is called for every image listImages
 * returns; the renderer only ever sends ids back (never paths), so the thumbnail endpoint and the
 * custom protocol can only serve files the user already listed. Thumbnails are cached as JPEG in
 * an LRU bounded by bytes; concurrent requests for the same thumbnail share one render.
 */
export class ThumbnailService {
  private readonly byId = new Map<string, string>();
  private readonly byPath = new Map<string, string>();
  private readonly cache = new Map<string, Uint8Array>();
  private readonly inflight = new Map<string, Promise<Uint8Array>>();
  private cachedBytes = 0;
  private readonly maxBytes: number;
  private readonly maxIds: number;

  constructor(private readonly options: ThumbnailOptions) {
    this.maxBytes = options.maxBytes ?? 48 * 2 ** 20;
    this.maxIds = options.maxIds ?? 200_000;
  }

  /** The id of a real image path (the same path keeps its id for the session). */
  register(path: string): string {
    const known = this.byPath.get(path);
    if (known) return known;
    const id = randomBytes(12).toString('base64url');
    this.byId.set(id, path);
    this.byPath.set(path, id);
    if (this.byId.size > this.maxIds) {
      const [oldId, oldPath] = this.byId.entries().next().value as [string, string];
      this.byId.delete(oldId);
      this.byPath.delete(oldPath);
    }
    return id;
  }

  pathOf(id: string): string | undefined {
    return this.byId.get(id);
  }

  /** JPEG bytes for a registered id, or null for an unknown one. */
  async get(id: string, size?: number): Promise<Uint8Array | null> {
    const file = this.byId.get(id);
    if (file === undefined) return null;
    const s = normaliseSize(size);
    const key = `${id}@${s}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    let p = this.inflight.get(key);
    if (!p) {
      p = this.options.render(file, s).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
      void p.then((jpeg) => this.put(key, jpeg), () => undefined);
    }
    return p;
  }

  get stats(): { entries: number; bytes: number; ids: number } {
    return { entries: this.cache.size, bytes: this.cachedBytes, ids: this.byId.size };
  }

  private put(key: string, jpeg: Uint8Array): void {
    if (jpeg.byteLength > this.maxBytes) return;
    const old = this.cache.get(key);
    if (old) this.cachedBytes -= old.byteLength;
    this.cache.set(key, jpeg);
    this.cachedBytes += jpeg.byteLength;
    while (this.cachedBytes > this.maxBytes) {
      const [k, v] = this.cache.entries().next().value as [string, Uint8Array];
      this.cache.delete(k);
      this.cachedBytes -= v.byteLength;
    }
  }
}
