import type { StudioApi } from '../../../shared/api.js';

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
}
