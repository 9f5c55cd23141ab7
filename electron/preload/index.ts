import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createBridge } from './bridge.js';

// Bundled into one CommonJS file (out/electron/preload.cjs): a sandboxed preload can require
// only 'electron' and a few polyfilled modules, never a second file of ours.
contextBridge.exposeInMainWorld('studio', createBridge(ipcRenderer, webUtils));
