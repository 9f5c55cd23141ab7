import os from 'node:os';
import path from 'node:path';
import type { FileKind } from '../../shared/api.js';
import { createHostApi, type HostApi, type KeyStore } from './api.js';
import { FileBrowser } from './file-browser.js';
import type { GpuInventory } from './gpus.js';
import { JobManager } from './job-manager.js';
import { ReaderClient } from './reader.js';
import { SettingsStore } from './settings.js';
import { ThumbnailService } from './thumbnails.js';
import { forkWorkerFactory, type WorkerFactory } from './worker-process.js';

export interface HostOptions {
  mode: 'electron' | 'web';
  /** Folder of settings.json (Electron: app.getPath('userData')). Default ~/.config/export-studio. */
  configDir?: string;
  /** Extra roots the file browser may list. */
  roots?: readonly string[];
  /** How workers start; default child_process.fork of out/worker/fork.js (Electron: utilityProcess). */
  spawnWorker?: WorkerFactory;
  keyStore?: KeyStore;
  pickPath?: (kind: FileKind, options: { defaultPath?: string }) => Promise<string | null>;
  openFolder?: (dir: string) => Promise<void>;
  thumbnailUrl?: (imageId: string, size?: number) => string;
  gpus?: () => Promise<GpuInventory>;
  /** CPU exports that may run at once (default EXPORT_STUDIO_CPU_JOBS or 1); GPU exports run one per GPU. */
  cpuJobs?: number;
}

export interface Host {
  api: HostApi;
  jobs: JobManager;
  reader: ReaderClient;
  /** Kill running jobs (their partial outputs are removed) and stop the reader. */
  dispose(): Promise<void>;
}

export function defaultConfigDir(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'export-studio');
}

function cpuJobsFromEnv(): number {
  const n = Number(process.env.EXPORT_STUDIO_CPU_JOBS);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

/** The composition root shared by the Electron main and web mode. */
export function createHost(options: HostOptions): Host {
  const spawn = options.spawnWorker ?? forkWorkerFactory();
  const jobs = new JobManager({ spawn, cpuSlots: options.cpuJobs ?? cpuJobsFromEnv() });
  const reader = new ReaderClient({ spawn });
  const thumbnails = new ThumbnailService({ render: async (p, size) => (await reader.call('thumbnail', { path: p, size })).jpeg });
  const api = createHostApi({
    mode: options.mode,
    jobs,
    reader,
    settings: new SettingsStore(options.configDir ?? defaultConfigDir()),
    files: new FileBrowser({ roots: options.roots ?? [] }),
    thumbnails,
    ...(options.keyStore ? { keyStore: options.keyStore } : {}),
    ...(options.pickPath ? { pickPath: options.pickPath } : {}),
    ...(options.openFolder ? { openFolder: options.openFolder } : {}),
    ...(options.thumbnailUrl ? { thumbnailUrl: options.thumbnailUrl } : {}),
    ...(options.gpus ? { gpus: options.gpus } : {}),
  });
  return {
    api,
    jobs,
    reader,
    async dispose() {
      await Promise.all([jobs.dispose(), reader.dispose()]);
    },
  };
}
