import { StudioError } from '../../shared/errors.js';
import type { ReaderCalls, ReaderMethod, WorkerMessage } from '../worker/protocol.js';
import type { WorkerFactory, WorkerProcess } from './worker-process.js';

export interface ReaderOptions {
  spawn: WorkerFactory;
  /** A call that takes longer is failed and the reader restarted (default 120 s). */
  callTimeoutMs?: number;
  /**
   * A reader whose resident memory after a reply is above this is recycled (default 256 MiB, about
   * twice an idle reader): new calls go to a fresh process and the old one exits once its calls in
   * flight are answered. A big decode or preview (a 4096² tensor preview takes the reader from
   * ~115 to ~375 MiB) is not given back to the system by the allocator; a new process is.
   */
  recycleRssBytes?: number;
}

/** Default `recycleRssBytes`. */
export const READER_RECYCLE_RSS_BYTES = 256 * 2 ** 20;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: StudioError) => void;
  timer: NodeJS.Timeout;
  /** The process the call was sent (or queued) to. */
  worker: WorkerProcess;
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
 * E_WORKER_CRASHED and the next call starts a fresh one. A reader that grew past
 * `recycleRssBytes` is replaced without failing any call: it finishes what it was asked, then exits.
 */
export class ReaderClient implements Reader {
  private worker: WorkerProcess | null = null;
  private ready = false;
  private queue: { callId: number; method: ReaderMethod; args: unknown }[] = [];
  private readonly pending = new Map<number, Pending>();
  /** Replaced readers still answering their calls in flight. */
  private readonly retiring = new Set<WorkerProcess>();
  private nextId = 1;
  private disposed = false;
  /** Processes started so far (restarts included). */
  starts = 0;
  /** Readers replaced because they grew past recycleRssBytes. */
  recycles = 0;

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
      this.pending.set(callId, { resolve: resolve as (v: unknown) => void, reject, timer, worker: w });
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
      this.retiring.delete(w);
      const current = this.worker === w;
      if (current) {
        this.worker = null;
        this.ready = false;
      }
      const queued = new Set(current ? this.queue.map((q) => q.callId) : []);
      if (current) this.queue = [];
      const how = signal ? `was killed by ${signal}` : code === null ? 'could not be started' : `exited with code ${code}`;
      for (const [id, p] of this.pending) {
        if (p.worker !== w) continue;
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(
          new StudioError('E_WORKER_CRASHED', `The reader process ${how}${queued.has(id) ? ' before it could answer' : ' while answering'}`, 'Try again: a fresh reader process starts on the next request. A file that crashes it repeatedly may be corrupt.', {}, { details: { exitCode: code, signal } }),
        );
      }
    });
    return w;
  }

  private onMessage(w: WorkerProcess, m: WorkerMessage): void {
    if (m.type === 'ready') {
      if (w !== this.worker) return;
      this.ready = true;
      for (const q of this.queue.splice(0)) w.post({ type: 'call', callId: q.callId, method: q.method, args: q.args } as never);
      return;
    }
    if (m.type !== 'reply') return;
    const p = this.pending.get(m.callId);
    if (p) {
      this.pending.delete(m.callId);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(StudioError.fromData(m.error));
    }
    // Grown past the limit: later calls go to a fresh process; this one finishes its own first.
    if (w === this.worker && m.rss !== undefined && m.rss > (this.options.recycleRssBytes ?? READER_RECYCLE_RSS_BYTES)) {
      this.worker = null;
      this.ready = false;
      this.retiring.add(w);
      this.recycles++;
    }
    if (this.retiring.has(w)) this.retireIfIdle(w);
  }

  /** A replaced reader with no call in flight: ask it to exit (SIGKILL if it lingers). */
  private retireIfIdle(w: WorkerProcess): void {
    if ([...this.pending.values()].some((p) => p.worker === w)) return;
    w.post({ type: 'shutdown' });
    setTimeout(() => {
      if (this.retiring.has(w)) w.kill('SIGKILL');
    }, 2000).unref();
  }

  /** pid of the current reader process (tests). */
  get pid(): number | undefined {
    return this.worker?.pid;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const all = [...this.retiring, ...(this.worker ? [this.worker] : [])];
    await Promise.all(
      all.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.onExit(() => resolve());
            w.post({ type: 'shutdown' });
            setTimeout(() => w.kill('SIGKILL'), 2000).unref();
          }),
      ),
    );
  }
}
