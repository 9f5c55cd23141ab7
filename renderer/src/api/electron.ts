import type { StudioClient } from './client.js';
import type { StudioBridge } from './studio-global.js';

/** The preload already speaks StudioApi; this only adapts drag-and-drop paths. */
export function createElectronClient(bridge: StudioBridge): StudioClient {
  return {
    api: bridge,
    mode: 'electron',
    pathForFile(file) {
      if (typeof bridge.pathForFile !== 'function') return null;
      try {
        const p = bridge.pathForFile(file);
        return p ? p : null;
      } catch {
        return null;
      }
    },
  };
}
