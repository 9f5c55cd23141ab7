import type { JobEventBatch, StudioApi } from './api.js';

/**
 * Web mode wire protocol (export-studio serve). Every request carries the session token:
 * HTTP calls in the `x-studio-token` header, <img> thumbnail URLs and the WebSocket in a
 * `token` query parameter (browsers cannot set headers there). The server also checks Host and
 * Origin against DNS rebinding and listens on 127.0.0.1 only.
 *
 *   POST /api/<method>   body: { "args": [...] }   → 200 JSON Result<T>
 *   GET  /thumb/<imageId>?size=<px>&token=<t>      → image/jpeg
 *   GET  /ws?token=<t>   (WebSocket)               ← { "type": "job-events", "batch": JobEventBatch }
 *        on connect, one batch per known job with `snapshot` (the registry's state), then live batches
 *   GET  /  and static assets of the renderer build (the token is required on "/" too)
 */
export const TOKEN_HEADER = 'x-studio-token';
export const TOKEN_QUERY = 'token';

/** StudioApi methods callable over POST /api/<method> (the rest are client-side). */
export const WEB_METHODS = [
  'info',
  'gpus',
  'pickPath',
  'browse',
  'inspectModel',
  'parseSpec',
  'listImages',
  'previewTensor',
  'commandFor',
  'planOutputs',
  'startExport',
  'cancelJob',
  'listJobs',
  'clearJobs',
  'getSettings',
  'setSettings',
  'recentFiles',
  'addRecentFile',
  'storeKey',
  'loadKey',
  'openFolder',
  // issue 12
  'preflight',
  'makeDir',
] as const satisfies readonly (keyof StudioApi)[];

export type WebMethod = (typeof WEB_METHODS)[number];

export interface WsJobEventsMessage {
  type: 'job-events';
  batch: JobEventBatch;
}
