import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatError, isStudioError } from '../../shared/errors.js';
import { createHost } from '../host/compose.js';
import { startWebServer } from '../web/server.js';
import type { CliIO } from './program.js';

export interface ServeOptions {
  /** 0 (default) = any free port. */
  port?: number | string;
  /** Extra folders the in-page file browser may list (besides home, the CWD and /tmp). */
  root?: string[];
  /** CPU exports at once (default EXPORT_STUDIO_CPU_JOBS or 1). */
  cpuJobs?: number;
  /** Folder of settings.json (default ~/.config/export-studio). */
  configDir?: string;
  /** The renderer build (default out/renderer beside this bundle). */
  rendererDir?: string;
}

/** out/renderer, next to out/cli/ (bundled) or at the repo root (running from sources). */
export function defaultRendererDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return import.meta.url.endsWith('.ts') ? path.resolve(here, '../../out/renderer') : path.resolve(here, '../renderer');
}

/**
 * `export-studio serve [--port N] [--root DIR...]`: web mode. Starts the host (workers are
 * forked Node processes) and the localhost server, prints the URL with its token, and runs until
 * SIGINT/SIGTERM (io.signal), then kills running jobs (removing their partial outputs).
 */
export async function serveCommand(opts: ServeOptions, io: CliIO): Promise<number> {
  const port = opts.port === undefined ? 0 : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr(`error E_USAGE: --port must be an integer 0–65535, got ${String(opts.port)}\n`);
    return 2;
  }
  const host = createHost({ mode: 'web', ...(opts.configDir ? { configDir: opts.configDir } : {}), roots: (opts.root ?? []).map((r) => path.resolve(r)), ...(opts.cpuJobs ? { cpuJobs: opts.cpuJobs } : {}) });
  let server;
  try {
    server = await startWebServer({ port, rendererDir: opts.rendererDir ?? defaultRendererDir(), api: host.api });
  } catch (e) {
    await host.dispose();
    if (isStudioError(e)) io.stderr(formatError(e.toData()) + '\n');
    else io.stderr(`error E_USAGE: cannot listen on 127.0.0.1:${port}: ${(e as Error).message}\n`);
    return 2;
  }
  io.stdout(`Export Studio web mode: ${server.url}\n`);
  io.stdout('Open that URL in a browser on this machine (it carries the session token). Ctrl+C stops the server.\n');
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  io.stdout('Stopping: cancelling running exports…\n');
  await server.close();
  await host.dispose();
  return 0;
}
