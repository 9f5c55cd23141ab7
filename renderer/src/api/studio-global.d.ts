import type { StudioApi } from '../../../shared/api.js';

/** What electron/preload exposes with contextBridge.exposeInMainWorld('studio', …). */
export interface StudioBridge extends StudioApi {
  /** webUtils.getPathForFile, exposed by the preload (Electron only); '' for files not from disk. */
  pathForFile?(file: File): string;
}

declare global {
  interface Window {
    studio?: StudioBridge;
  }
}
