import type { JobEventBatch, StudioApi } from '../../shared/api.js';
import { INVOKE_CHANNELS, JOB_EVENTS_CHANNEL, thumbnailUrl } from '../../shared/ipc-channels.js';
import { WEB_METHODS, type WebMethod } from '../../shared/web-protocol.js';

/** The slice of ipcRenderer the bridge uses. It never leaves this module. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export interface WebUtilsLike {
  getPathForFile(file: File): string;
}

/** What the preload exposes as window.studio (renderer/src/api/studio-global.d.ts: StudioBridge). */
export type StudioBridge = StudioApi & { pathForFile(file: File): string };

function transportError(method: string, e: unknown) {
  return {
    ok: false as const,
    error: {
      code: 'E_INTERNAL' as const,
      message: `The call ${method} did not reach the main process: ${e instanceof Error ? e.message : String(e)}`,
      hint: 'Restart Export Studio; if it keeps happening, report it.',
      details: { method },
    },
  };
}

function isBatch(v: unknown): v is JobEventBatch {
  return typeof v === 'object' && v !== null && typeof (v as JobEventBatch).jobId === 'string' && Array.isArray((v as JobEventBatch).events);
}

/**
 * window.studio: every StudioApi method as ipcRenderer.invoke on its typed channel (main
 * validates sender and payload), onJobEvents without the IpcRendererEvent, a synchronous
 * thumbnailUrl, and pathForFile for drag-and-drop (webUtils.getPathForFile: '' for files not
 * from disk). Only functions and plain data cross contextBridge; ipcRenderer itself never does.
 */
export function createBridge(ipc: IpcRendererLike, webUtils: WebUtilsLike): StudioBridge {
  const invokers = Object.fromEntries(
    WEB_METHODS.map((method: WebMethod) => [
      method,
      async (...args: unknown[]) => {
        // Trailing undefined optionals are dropped so the tuple schemas see the real arity.
        while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
        try {
          return await ipc.invoke(INVOKE_CHANNELS[method], ...args);
        } catch (e) {
          return transportError(method, e);
        }
      },
    ]),
  ) as unknown as Pick<StudioApi, WebMethod>;

  return {
    ...invokers,
    thumbnailUrl: (imageId: string, size?: number) => thumbnailUrl(String(imageId), size),
    onJobEvents(listener: (batch: JobEventBatch) => void): () => void {
      const wrapped = (_event: unknown, batch: unknown) => {
        if (isBatch(batch)) listener(batch);
      };
      ipc.on(JOB_EVENTS_CHANNEL, wrapped);
      return () => void ipc.removeListener(JOB_EVENTS_CHANNEL, wrapped);
    },
    pathForFile(file: File): string {
      try {
        return webUtils.getPathForFile(file);
      } catch {
        return '';
      }
    },
  };
}
