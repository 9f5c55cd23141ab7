import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostMessage, WorkerMessage } from '../worker/protocol.js';

/**
 * A worker process as the host sees it, whatever started it: child_process.fork here (web mode,
 * tests), utilityProcess.fork in the Electron main (which passes its own factory).
 */
export interface WorkerProcess {
  /** undefined until spawned and after exit. */
  readonly pid: number | undefined;
  post(msg: HostMessage): void;
  onMessage(handler: (msg: WorkerMessage) => void): void;
  /** Called once: exit code, or the signal that killed it. A failed spawn reports code null. */
  onExit(handler: (code: number | null, signal: string | null) => void): void;
  /** utilityProcess.kill() cannot choose the signal; its factory sends SIGKILL by pid instead. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

export interface SpawnOptions {
  /** Extra environment (CUDA_VISIBLE_DEVICES …), merged over process.env. */
  env: Record<string, string>;
  /** A name for process listings and crash reports ("export-job-3", "reader"). */
  name: string;
}

export type WorkerFactory = (options: SpawnOptions) => WorkerProcess;

let sourceBuild: Promise<string> | undefined;

/**
 * Where the fork entry is. Bundled (out/cli/*.js, out/main/*.js): out/worker/fork.js. From
 * TypeScript sources (vitest): electron/worker/fork.ts is bundled with esbuild (a dev dependency,
 * imported only here) into node_modules/.cache, where it can still resolve its npm packages;
 * the pipeline's image-loader thread is bundled beside it, where the pipeline looks for it.
 */
export function defaultForkEntry(): Promise<string> {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return Promise.resolve(fileURLToPath(new URL('../worker/fork.js', here)));
  sourceBuild ??= buildForkFromSource(path.resolve(path.dirname(fileURLToPath(here)), '../..'));
  return sourceBuild;
}

async function buildForkFromSource(root: string): Promise<string> {
  const dir = await bundleFromSource(root, 'worker', {
    fork: path.join(root, 'electron/worker/fork.ts'),
    'loader-worker': path.join(root, 'electron/pipeline/data/loader-worker.ts'),
  });
  return path.join(dir, 'fork.js');
}

/**
 * Development/test helper: bundle TypeScript entries with esbuild into a content-addressed folder
 * under node_modules/.cache/export-studio (inside node_modules, so the bundles resolve their npm
 * packages) and return that folder. Safe when several test processes race for the same bundle.
 */
export async function bundleFromSource(root: string, name: string, entries: Record<string, string>): Promise<string> {
  const esbuild = await import('esbuild');
  const present = Object.fromEntries(Object.entries(entries).filter(([, f]) => existsSync(f)));
  const result = await esbuild.build({
    entryPoints: present,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    outdir: '/virtual',
    logLevel: 'silent',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  const hash = createHash('sha256');
  for (const f of result.outputFiles) hash.update(f.path).update(f.text);
  const dir = path.join(root, 'node_modules', '.cache', 'export-studio', `${name}-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(dir)) {
    const tmp = `${dir}.${process.pid}.tmp`;
    await fs.mkdir(tmp, { recursive: true });
    for (const f of result.outputFiles) await fs.writeFile(path.join(tmp, path.basename(f.path)), f.text);
    await fs.rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Another test process won the race: its copy is identical.
      await fs.rm(tmp, { recursive: true, force: true });
      if (!existsSync(dir)) throw e;
    });
  }
  return dir;
}

/** A WorkerFactory over child_process.fork with V8 ('advanced') serialization. */
export function forkWorkerFactory(entry: string | Promise<string> = defaultForkEntry(), options: { stdio?: 'inherit' | 'ignore' } = {}): WorkerFactory {
  return ({ env }) => {
    const handlers: ((msg: WorkerMessage) => void)[] = [];
    const exitHandlers: ((code: number | null, signal: string | null) => void)[] = [];
    const early: HostMessage[] = [];
    let child: ChildProcess | null = null;
    let exited = false;
    let killRequested: 'SIGTERM' | 'SIGKILL' | null = null;
    const exit = (code: number | null, signal: string | null) => {
      if (exited) return;
      exited = true;
      for (const h of exitHandlers) h(code, signal);
    };
    void Promise.resolve(entry).then(
      (file) => {
        if (killRequested) return exit(null, killRequested);
        const c = fork(file, [], {
          env: { ...process.env, ...env },
          serialization: 'advanced',
          stdio: ['ignore', options.stdio ?? 'inherit', options.stdio ?? 'inherit', 'ipc'],
        });
        child = c;
        c.on('message', (m) => {
          for (const h of handlers) h(m as WorkerMessage);
        });
        c.on('exit', (code, signal) => exit(code, signal));
        c.on('error', (e) => {
          // Spawn failure (ENOENT, EAGAIN): there will be no 'exit'.
          if (c.pid === undefined) exit(null, null);
          else process.emitWarning(`export-studio worker ${c.pid}: ${e.message}`);
        });
        for (const m of early.splice(0)) c.send(m);
      },
      () => exit(null, null),
    );
    return {
      get pid() {
        return exited ? undefined : child?.pid;
      },
      post(msg) {
        if (exited) return;
        if (!child) early.push(msg);
        else if (child.connected) child.send(msg);
      },
      onMessage: (h) => void handlers.push(h),
      onExit: (h) => void exitHandlers.push(h),
      kill(signal) {
        if (exited) return;
        if (!child) killRequested = signal;
        else child.kill(signal);
      },
    };
  };
}
