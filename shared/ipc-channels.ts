import type { JobEventBatch, StudioApi } from './api.js';
import { WEB_METHODS, type WebMethod } from './web-protocol.js';

/**
 * The one typed IPC channel map between the Electron main process and the preload (GitHub
 * Desktop's `ipc-shared.ts` pattern). Invoke channels are exactly the StudioApi methods that
 * cross a process boundary (the same list as web mode's POST /api/<method>), so adding a method
 * to WEB_METHODS adds its channel, its handler registration and its security test.
 */
export const IPC_PREFIX = 'studio:';

export type InvokeChannel<M extends WebMethod = WebMethod> = `studio:${M}`;

export const INVOKE_CHANNELS = Object.freeze(Object.fromEntries(WEB_METHODS.map((m) => [m, `${IPC_PREFIX}${m}`]))) as {
  readonly [M in WebMethod]: InvokeChannel<M>;
};

/** main → renderer: batched job events (webContents.send). */
export const JOB_EVENTS_CHANNEL = 'studio:job-events' as const;

/** Argument tuple and resolved value of each invoke channel (the payload is still validated in main). */
export type ChannelArgs<M extends WebMethod> = Parameters<StudioApi[M]>;
export type ChannelResult<M extends WebMethod> = Awaited<ReturnType<StudioApi[M]>>;

export interface PushChannels {
  [JOB_EVENTS_CHANNEL]: JobEventBatch;
}

export function channelFor<M extends WebMethod>(method: M): InvokeChannel<M> {
  return INVOKE_CHANNELS[method];
}

/**
 * Thumbnails in the app: `studio-thumb://image/<opaque id>?size=<px>`, served by main's
 * protocol handler. The id travels in the path because standard-scheme hosts are lower-cased
 * and ids are case-sensitive. Built synchronously in the preload (contextBridge proxies it).
 */
export const THUMB_SCHEME = 'studio-thumb';
export const THUMB_HOST = 'image';

export function thumbnailUrl(imageId: string, size?: number): string {
  const q = size !== undefined && Number.isFinite(size) ? `?size=${Math.round(size)}` : '';
  return `${THUMB_SCHEME}://${THUMB_HOST}/${encodeURIComponent(imageId)}${q}`;
}
