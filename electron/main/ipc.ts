import type { Result, StudioApi } from '../../shared/api.js';
import { StudioError, asStudioError } from '../../shared/errors.js';
import { INVOKE_CHANNELS } from '../../shared/ipc-channels.js';
import { WEB_METHODS, type WebMethod } from '../../shared/web-protocol.js';
import { parseArgs } from '../host/api-schemas.js';
import { checkPathArgs } from '../host/paths.js';
import { isTrustedSender, type SenderFrameLike } from './sender.js';

/** The slice of IpcMainInvokeEvent the guard reads. */
export interface InvokeEventLike {
  readonly senderFrame: SenderFrameLike | null;
}

/** The slice of Electron's ipcMain used here (a recording fake in tests). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export type InvokeApi = Pick<StudioApi, WebMethod>;
/** Path arguments main re-checks before the host acts (shared with web mode: electron/host/paths.ts). */
export { PATH_CHECKS } from '../host/paths.js';

export type GuardedHandler = (event: InvokeEventLike, ...args: unknown[]) => Promise<Result<unknown>>;

function refusal(method: string): Result<never> {
  return {
    ok: false,
    error: new StudioError(
      'E_REQUEST_INVALID',
      `Refused ${method}: the call did not come from the Export Studio window`,
      'Only the app’s own top-level page may call the main process. Reload the window (Ctrl+R); if this persists, report it.',
      {},
      { details: { method } },
    ).toData(),
  };
}

function asResult(e: unknown): Result<never> {
  return { ok: false, error: asStudioError(e, 'in the main process').toData() };
}

function isResult(v: unknown): v is Result<unknown> {
  return typeof v === 'object' && v !== null && 'ok' in v && typeof (v as { ok: unknown }).ok === 'boolean';
}

/**
 * Wrap one StudioApi method for ipcMain.handle: (a) sender check, (b) zod validation of the
 * argument tuple (the host's per-method schemas), (c) always resolve to a Result: nothing is
 * thrown across IPC, where only an Error's message would survive.
 */
export function guardedHandler<M extends WebMethod>(method: M, api: InvokeApi): GuardedHandler {
  return async (event, ...args) => {
    if (!isTrustedSender(event?.senderFrame)) return refusal(method);
    try {
      const parsed = parseArgs(method, args) as unknown[];
      await checkPathArgs(method, parsed);
      const fn = api[method] as (...a: unknown[]) => Promise<Result<unknown>>;
      const r: unknown = await fn(...parsed);
      if (!isResult(r)) throw new Error(`${method} did not return a Result`);
      return r;
    } catch (e) {
      return asResult(e);
    }
  };
}

/** Register every invoke channel of the map; returns the unregister function. */
export function registerIpc(ipcMain: IpcMainLike, api: InvokeApi): () => void {
  for (const method of WEB_METHODS) ipcMain.handle(INVOKE_CHANNELS[method], guardedHandler(method, api));
  return () => {
    for (const method of WEB_METHODS) ipcMain.removeHandler(INVOKE_CHANNELS[method]);
  };
}
