import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FileKind, GpuList, JobEventBatch, Result, StudioApi } from '../../shared/api.js';
import { StudioError, asStudioError } from '../../shared/errors.js';
import type { ExportRequest } from '../../shared/request.js';
import type { WebMethod } from '../../shared/web-protocol.js';
import { requestToCommand } from '../pipeline/command.js';
import { planOutputs } from '../pipeline/paths.js';
import { cudaProviderInstalled } from '../pipeline/runtime/cuda.js';
import { lockOwner } from '../pipeline/io/outputs.js';
import { TOOL } from '../pipeline/version.js';
import { parseArgs } from './api-schemas.js';
import { checkPathArgs, PATH_CHECKS } from './paths.js';
import type { FileBrowser } from './file-browser.js';
import { listGpus, type GpuInventory } from './gpus.js';
import type { JobManager } from './job-manager.js';
import type { Reader } from './reader.js';
import type { SettingsStore } from './settings.js';
import type { ThumbnailService } from './thumbnails.js';
import { receiveUpload, type UploadResult } from './uploads.js';

/** Where keys go when the user asks to remember one (Electron: safeStorage). */
export interface KeyStore {
  /** False when only plain-text storage exists (then storing is refused). */
  canStore(): boolean;
  store(modelPath: string, key: string): Promise<void>;
  load(modelPath: string): Promise<string | null>;
}

export interface HostDeps {
  mode: 'electron' | 'web';
  jobs: JobManager;
  reader: Reader;
  settings: SettingsStore;
  files: FileBrowser;
  thumbnails: ThumbnailService;
  /** GPU inventory; default nvidia-smi (gpus.ts). */
  gpus?: () => Promise<GpuInventory>;
  /** Native dialog (Electron); web mode has none and returns null. */
  pickPath?: (kind: FileKind, options: { defaultPath?: string }) => Promise<string | null>;
  keyStore?: KeyStore;
  /** Show a folder in the desktop's file manager; default xdg-open / open / explorer. */
  openFolder?: (dir: string) => Promise<void>;
  /** Resolves relative request paths, as the export workers do (default: this process's CWD). */
  cwd?: string;
  /** The URL the renderer puts in <img src>; default web mode's /thumb/<id>. */
  thumbnailUrl?: (imageId: string, size?: number) => string;
}

/** StudioApi plus what the transports need besides it (thumbnail bytes for /thumb and the app protocol). */
export interface HostApi extends StudioApi {
  thumbnail(imageId: string, size?: number): Promise<Uint8Array | null>;
  /** Web mode's PUT /upload (issue 12): write a dropped file into a folder inside the roots. */
  upload(o: { dir: string; name: string; body: AsyncIterable<Uint8Array>; declaredBytes?: number }): Promise<Result<UploadResult>>;
}


async function result<T>(body: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    return { ok: false, error: asStudioError(e, 'in the host').toData() };
  }
}

function openWithSystem(dir: string): Promise<void> {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [dir], { detached: true, stdio: 'ignore' });
    child.once('error', (e) => reject(new StudioError('E_USAGE', `Cannot open a file manager (${cmd}): ${e.message}`, `Open ${dir} yourself.`, { file: dir })));
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

/**
 * The one StudioApi implementation behind both the Electron main (IPC) and web mode (HTTP):
 * every method validates its arguments (api-schemas.ts), runs heavy reads in the reader worker
 * and exports in JobManager workers, and resolves to a Result (errors travel as data).
 */
export function createHostApi(deps: HostDeps): HostApi {
  const { jobs, reader, settings, files, thumbnails } = deps;

  /**
   * Web mode: every path an API call takes must lie inside the browse roots after resolving `..`
   * and symlinks — checked before anything is opened, and the same answer whether the file exists
   * or not (no existence oracle outside the roots). The desktop app takes any path the user picked.
   */
  const allowed = (p: string): Promise<string> => (deps.mode === 'web' ? files.resolveAllowedTarget(p) : Promise.resolve(path.resolve(p)));

  /** Web mode: the roots the reader and the job workers must stay inside (null in the desktop app). */
  const readRoots = async (): Promise<string[] | null> => (deps.mode === 'web' ? files.roots() : null);
  const withRoots = async <T extends object>(args: T): Promise<T & { roots?: string[] }> => {
    const roots = await readRoots();
    return roots ? { ...args, roots } : args;
  };

  async function checkRequestPaths(r: ExportRequest): Promise<void> {
    if (deps.mode !== 'web') return;
    const o = r.outputs;
    const c = r.calibration;
    const paths = [r.model, r.spec, o.etlt, o.onnx, o.qdq, o.cache ?? (r.precision === 'int8' ? './cal.bin' : undefined), o.report, o.logFile, o.engine, o.resultsDir, c?.imageDir, c?.tensorfile, ...(c?.images ?? [])];
    for (const p of paths) if (p !== undefined) await allowed(path.resolve(deps.cwd ?? process.cwd(), p));
    // Every file the plan derives too (the cache's provenance and report, the DeepStream files, the
    // plain ONNX beside the .etlt): any of them may be a link out of the roots, and a cache's
    // provenance is read before it is written.
    let plan: Record<string, unknown> = {};
    try {
      plan = planOutputs(r, deps.cwd ?? process.cwd()) as unknown as Record<string, unknown>;
    } catch {
      // An unplannable request is refused by the job's validate stage with its own error.
    }
    for (const p of Object.values(plan)) if (typeof p === 'string') await allowed(p);
  }

  function call<M extends WebMethod, T>(method: M, args: unknown[], body: (a: ReturnType<typeof parseArgs<M>>) => Promise<T>): Promise<Result<T>> {
    return result(async () => {
      const parsed = parseArgs(method, args);
      // Web mode: the roots first, so a path outside them gets the same answer whether it exists
      // or not (no existence oracle); then the checks the Electron main applies (host/paths.ts).
      if (deps.mode === 'web') {
        for (const i of Object.keys(PATH_CHECKS[method] ?? {})) {
          const v = (parsed as unknown[])[Number(i)];
          if (typeof v === 'string') await allowed(v);
        }
      }
      await checkPathArgs(method, parsed as unknown[]);
      return body(parsed);
    });
  }

  const api: HostApi = {
    info: (...a) =>
      call('info', a, async () => ({
        version: TOOL.version,
        mode: deps.mode,
        platform: process.platform,
        homeDir: os.homedir(),
        canStoreKeys: deps.keyStore?.canStore() ?? false,
      })),
    gpus: (...a) =>
      call('gpus', a, async (): Promise<GpuList> => {
        const inv = await (deps.gpus ?? listGpus)();
        return {
          gpus: inv.gpus.map((g) => ({ index: g.index, name: g.name, memoryUsedMiB: g.memoryUsedMiB, memoryTotalMiB: g.memoryTotalMiB, utilizationPct: g.utilizationPct, pciBusId: g.pciBusId })),
          cudaProvider: cudaProviderInstalled() ? 'installed' : 'missing',
          ...(inv.reason ? { reason: inv.reason } : {}),
        };
      }),
    pickPath: (...a) => call('pickPath', a, async ([kind, options]) => (deps.pickPath ? deps.pickPath(kind, options ?? {}) : null)),
    browse: (...a) => call('browse', a, ([dir, kind]) => files.list(dir, kind)),
    inspectModel: (...a) => call('inspectModel', a, async ([p, key]) => reader.call('inspectModel', { path: await allowed(p), key })),
    parseSpec: (...a) => call('parseSpec', a, async ([p]) => reader.call('parseSpec', await withRoots({ path: await allowed(p) }))),
    listImages: (...a) =>
      call('listImages', a, async ([dir]) => {
        const listing = await reader.call('listImages', { dir: await allowed(dir) });
        return { dir: listing.dir, images: listing.images.map((im) => ({ id: thumbnails.register(im.path), name: im.name, path: im.path, bytes: im.bytes })) };
      }),
    thumbnailUrl: (imageId, size) => (deps.thumbnailUrl ? deps.thumbnailUrl(imageId, size) : `/thumb/${encodeURIComponent(imageId)}${size !== undefined ? `?size=${size}` : ''}`),
    previewTensor: (...a) =>
      call('previewTensor', a, async ([imageId, specPath, preprocessing, resize]) => {
        const file = thumbnails.pathOf(imageId);
        if (file === undefined) throw new StudioError('E_REQUEST_INVALID', `Unknown image id ${imageId}`, 'List the image folder again (ids last for one session).');
        return reader.call('previewTensor', await withRoots({ path: await allowed(file), specPath: specPath === null ? null : await allowed(specPath), preprocessing, resize }));
      }),
    commandFor: (...a) => call('commandFor', a, async ([request]) => requestToCommand(request as ExportRequest)),
    planOutputs: (...a) => call('planOutputs', a, async ([request]) => planOutputs(request as ExportRequest, deps.cwd ?? process.cwd())),
    // Queued at once (it waits for its GPU); E_OUTPUT_LOCKED now if another job writes the same files.
    startExport: (...a) =>
      call('startExport', a, async ([request]) => {
        await checkRequestPaths(request as ExportRequest);
        // A job of this host writing the same files (named), then another process (a CLI export,
        // another app) already holding a file's lock: both refused now, not when the worker gets there.
        for (const file of jobs.checkOutputs(request as ExportRequest)) {
          const pid = await lockOwner(file);
          if (pid !== null && !jobs.ownsPid(pid)) {
            throw new StudioError('E_OUTPUT_LOCKED', `${file} is being written by another export (process ${pid})`, 'Wait for it to finish, or choose another output folder.', { file }, { details: { pid } });
          }
        }
        const roots = await readRoots();
        // Web mode: the data the spec names, refused now (the job's worker checks again at its spec stage).
        const spec = (request as ExportRequest).spec;
        if (roots && spec) await reader.call('checkSpecRoots', { spec: path.resolve(deps.cwd ?? process.cwd(), spec), roots });
        return { jobId: jobs.start(request as ExportRequest, roots ? { roots } : {}) };
      }),
    listJobs: (...a) => call('listJobs', a, async () => jobs.list()),
    clearJobs: (...a) => call('clearJobs', a, async ([ids]) => jobs.clear(ids)),
    cancelJob: (...a) =>
      call('cancelJob', a, async ([jobId]) => {
        if (!jobs.info(jobId)) throw new StudioError('E_REQUEST_INVALID', `No export job with id ${jobId}`, 'The job may belong to an earlier session.');
        // Resolve once the kill is under way; the final E_CANCELLED arrives as a job event.
        void jobs.cancel(jobId);
      }),
    onJobEvents: (listener: (batch: JobEventBatch) => void) => jobs.subscribe(listener),
    getSettings: (...a) => call('getSettings', a, () => settings.get()),
    setSettings: (...a) => call('setSettings', a, ([patch]) => settings.set(patch)),
    recentFiles: (...a) => call('recentFiles', a, () => settings.recent()),
    addRecentFile: (...a) => call('addRecentFile', a, ([file]) => settings.addRecent(file)),
    storeKey: (...a) =>
      call('storeKey', a, async ([modelPath, key]) => {
        const ks = deps.keyStore;
        if (!ks || !ks.canStore()) {
          throw new StudioError(
            'E_USAGE',
            deps.mode === 'web' ? 'Keys cannot be remembered in web mode' : 'No secure key storage is available on this system',
            deps.mode === 'web' ? 'Enter the key each time, or use the desktop app with an OS keyring.' : 'Install and unlock a keyring (GNOME Keyring / KWallet); keys are never stored in plain text.',
          );
        }
        await ks.store(path.resolve(modelPath), key);
      }),
    loadKey: (...a) => call('loadKey', a, async ([modelPath]) => (deps.keyStore ? deps.keyStore.load(path.resolve(modelPath)) : null)),
    openFolder: (...a) =>
      call('openFolder', a, async ([p]) => {
        const abs = await allowed(p);
        const st = await fs.stat(abs).catch(() => null);
        if (!st) throw new StudioError('E_FILE_NOT_FOUND', `Not found: ${abs}`, 'The file may have been moved or deleted.', { file: abs });
        await (deps.openFolder ?? openWithSystem)(st.isDirectory() ? abs : path.dirname(abs));
      }),
    // issue 12
    preflight: (...a) =>
      call('preflight', a, async ([request]) => {
        // Preflight stats and reads the request's files: the same roots as starting the job.
        await checkRequestPaths(request as ExportRequest);
        // In the reader worker: it reads and decodes every selected image's header.
        return reader.call('preflight', await withRoots({ request: request as ExportRequest }));
      }),
    makeDir: (...a) =>
      call('makeDir', a, async ([p]) => {
        const abs = path.resolve(p);
        // Web mode: only inside the roots the file browser shows (checked at the nearest existing folder).
        if (deps.mode === 'web') {
          let probe = abs;
          while (!(await fs.stat(probe).catch(() => null)) && path.dirname(probe) !== probe) probe = path.dirname(probe);
          await files.resolveAllowed(probe);
        }
        try {
          await fs.mkdir(abs, { recursive: true });
        } catch (e) {
          throw new StudioError('E_OUTPUT_WRITE', `Cannot create the folder ${abs}: ${(e as Error).message}`, 'Choose a folder you can write to.', { file: abs });
        }
        return fs.realpath(abs);
      }),
    thumbnail: async (imageId, size) => {
      // The id was listed inside the roots; the file may since have become a link out of them.
      const file = thumbnails.pathOf(imageId);
      if (file !== undefined && deps.mode === 'web' && !(await allowed(file).then(() => true, () => false))) return null;
      return thumbnails.get(imageId, size);
    },
    upload: (o) => result(() => receiveUpload(files, o)),
  };
  return api;
}
