import type { Result, StudioApi } from '../../../shared/api.js';

/** Web mode: send a dropped file to the server (PUT /upload), with progress. */
export type UploadFn = (file: Blob, dir: string, name: string, onProgress: (sent: number, total: number) => void) => Promise<Result<{ path: string; bytes: number }>>;

export type ApiMode = 'electron' | 'web' | 'mock';

/** What the UI gets: the StudioApi plus the few things that differ per front door. */
export interface StudioClient {
  api: StudioApi;
  mode: ApiMode;
  /**
   * Path of a dropped file, when the host can tell (Electron preload via
   * webUtils.getPathForFile). null in a browser: web pages never see local paths.
   */
  pathForFile(file: File): string | null;
  /** Web mode only: a drop becomes an upload into a workspace folder on the server (issue 12). */
  upload?: UploadFn;
}
