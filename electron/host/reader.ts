import { StudioError } from '../../shared/errors.js';
import type { ReaderCalls, ReaderMethod, WorkerMessage } from '../worker/protocol.js';
import type { WorkerFactory, WorkerProcess } from './worker-process.js';

export interface ReaderOptions {
  spawn: WorkerFactory;
  /** A call that takes longer is failed and the reader restarted (default 120 s). */
  callTimeoutMs?: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: StudioError) => void;
  timer: NodeJS.Timeout;
}

/** What the host API needs from the reader (a fake in unit tests). */
export interface Reader {
  call<M extends ReaderMethod>(method: M, args: ReaderCalls[M]['args']): Promise<ReaderCalls[M]['result']>;
  dispose(): Promise<void>;
}

/**
 * The long-lived worker process that answers the wizard's heavy reads (model inspection, spec
 * parsing, image listing, thumbnails, tensor previews), so none of them runs in Electron's main
 * or the web server's process. Started on the first call; if it dies, pending calls fail with
 * E_WORKER_CRASHED and the next call starts a fresh one.
 */
export class ReaderClient implements Reader {
  private worker: WorkerProcess | null = null;
  private ready = false;
  private queue: { callId: number; method: ReaderMethod; args: unknown }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disposed = false;
  /** Processes started so far (restarts included). */
  starts = 0;

  constructor(private readonly options: ReaderOptions) {}

  call<M extends ReaderMethod>(method: M, args: ReaderCalls[M]['args']): Promise<ReaderCalls[M]['result']> {
    if (this.disposed) return Promise.reject(new StudioError('E_INTERNAL', 'The reader was shut down', 'Restart the app.'));
    const callId = this.nextId++;
    const w = this.ensureWorker();
    return new Promise<ReaderCalls[M]['result']>((resolve, reject) => {
      const timeoutMs = this.options.callTimeoutMs ?? 120_000;
      const timer = setTimeout(() => {
        this.pending.delete(callId);
        reject(new StudioError('E_RUNTIME', `${method} took longer than ${Math.round(timeoutMs / 1000)} s`, 'The file may be very large or on a slow disk; try again. The reader process was restarted.'));
        // A stuck call may hold the process: start over.
        w.kill('SIGKILL');
      }, timeoutMs);
      timer.unref();
      this.pending.set(callId, { resolve: resolve as (v: unknown) => void, reject, timer });
      if (this.ready) w.post({ type: 'call', callId, method, args } as never);
      else this.queue.push({ callId, method, args });
    });
  }

  private ensureWorker(): WorkerProcess {
    if (this.worker) return this.worker;
    // Reads never need a GPU.
    const w = this.options.spawn({ env: { CUDA_VISIBLE_DEVICES: '' }, name: 'reader' });
    this.starts++;
    this.worker = w;
    this.ready = false;
    w.onMessage((m) => this.onMessage(w, m));
    w.onExit((code, signal) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.ready = false;
      const queued = new Set(this.queue.map((q) => q.callId));
      this.queue = [];
      const how = signal ? `was killed by ${signal}` : code === null ? 'could not be started' : `exited with code ${code}`;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(
          new StudioError('E_WORKER_CRASHED', `The reader process ${how}${queued.has(id) ? ' before it could answer' : ' while answering'}`, 'Try again: a fresh reader process starts on the next request. A file that crashes it repeatedly may be corrupt.', {}, { details: { exitCode: code, signal } }),
        );
      }
      this.pending.clear();
    });
    return w;
  }

  private onMessage(w: WorkerProcess, m: WorkerMessage): void {
    if (m.type === 'ready') {
      this.ready = true;
      for (const q of this.queue.splice(0)) w.post({ type: 'call', callId: q.callId, method: q.method, args: q.args } as never);
      return;
    }
    if (m.type !== 'reply') return;
    const p = this.pending.get(m.callId);
    if (!p) return;
    this.pending.delete(m.callId);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(StudioError.fromData(m.error));
  }

  /** pid of the current reader process (tests). */
  get pid(): number | undefined {
    return this.worker?.pid;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const w = this.worker;
    if (!w) return;
    await new Promise<void>((resolve) => {
      w.onExit(() => resolve());
      w.post({ type: 'shutdown' });
      setTimeout(() => w.kill('SIGKILL'), 2000).unref();
    });
  }
}
