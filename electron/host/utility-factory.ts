import type { HostMessage, WorkerMessage } from '../worker/protocol.js';
import type { WorkerFactory, WorkerProcess } from './worker-process.js';

/**
 * The slice of Electron's `utilityProcess` this factory uses, typed structurally so the host
 * stays free of Electron (the main process passes the real `utilityProcess` module).
 */
export interface UtilityProcessLike {
  readonly pid: number | undefined;
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

export interface UtilityForkLike {
  fork(modulePath: string, args?: string[], options?: { env?: Record<string, string>; serviceName?: string; stdio?: 'pipe' | 'ignore' | 'inherit' }): UtilityProcessLike;
}

/**
 * A WorkerFactory over Electron's utilityProcess.fork (call after app `ready`), for the worker
 * entry out/worker/utility.js. Differences from child_process it papers over: `env` replaces the
 * environment (so process.env is merged in, every value a string); `kill()` cannot pick a signal
 * (SIGKILL is sent by pid instead); `exit` reports a code only, never the signal.
 */
export function utilityWorkerFactory(utility: UtilityForkLike, entry: string): WorkerFactory {
  return ({ env, name }): WorkerProcess => {
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (typeof v === 'string') base[k] = v;
    const child = utility.fork(entry, [], { env: { ...base, ...env }, serviceName: `export-studio-${name}`, stdio: 'inherit' });
    const handlers: ((m: WorkerMessage) => void)[] = [];
    const exitHandlers: ((code: number | null, signal: string | null) => void)[] = [];
    let exited = false;
    child.on('message', (m) => {
      for (const h of handlers) h(m as WorkerMessage);
    });
    child.on('exit', (code) => {
      exited = true;
      for (const h of exitHandlers) h(code, null);
    });
    return {
      get pid() {
        return child.pid;
      },
      post(msg: HostMessage) {
        if (!exited) child.postMessage(msg);
      },
      onMessage: (h) => void handlers.push(h),
      onExit: (h) => void exitHandlers.push(h),
      kill(signal) {
        if (exited) return;
        if (signal === 'SIGKILL' && child.pid !== undefined) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        } else {
          child.kill();
        }
      },
    };
  };
}
