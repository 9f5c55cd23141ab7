import type { WorkerFactory, WorkerProcess } from '../host/worker-process.js';

/** The fields of Electron's `app` 'child-process-gone' details used here. */
export interface GoneDetails {
  type: string;
  reason: string;
  exitCode: number;
  serviceName?: string;
  name?: string;
}

/**
 * utilityProcess reports `exit(code)` only; why a worker died comes separately, in `app`
 * 'child-process-gone'. The host's JobManager words its crash error from (code, signal), with an
 * out-of-memory hint for SIGKILL, so each reason becomes the signal that best describes it.
 */
export function signalForGoneReason(reason: string): string | null {
  switch (reason) {
    case 'oom':
    case 'killed':
      return 'SIGKILL';
    case 'crashed':
      return 'SIGSEGV';
    case 'integrity-failure':
      return 'SIGABRT';
    default:
      // clean-exit, abnormal-exit, launch-failed: the exit code says it.
      return null;
  }
}

/** The latest gone-details per utility service name, filled from app 'child-process-gone'. */
export class GoneReasons {
  private readonly byService = new Map<string, GoneDetails>();

  record(details: GoneDetails): void {
    if (details.type !== 'Utility') return;
    const key = details.serviceName ?? details.name;
    if (key) this.byService.set(key, details);
  }

  take(serviceName: string): GoneDetails | undefined {
    const d = this.byService.get(serviceName);
    this.byService.delete(serviceName);
    return d;
  }
}

/**
 * Wrap the utility-process WorkerFactory so each exit reaches the host with the crash reason:
 * the exit is held back `settleMs` (the two notifications come from different IPC paths, in no
 * documented order), then reported as (code, signal-for-reason). `launch-failed` becomes
 * (null, null): "could not be started".
 */
export function withGoneReasons(factory: WorkerFactory, reasons: GoneReasons, serviceNameOf: (name: string) => string, settleMs = 100): WorkerFactory {
  return (options): WorkerProcess => {
    const inner = factory(options);
    const service = serviceNameOf(options.name);
    return {
      get pid() {
        return inner.pid;
      },
      post: (m) => inner.post(m),
      onMessage: (h) => inner.onMessage(h),
      kill: (s) => inner.kill(s),
      onExit(handler) {
        inner.onExit((code, signal) => {
          setTimeout(() => {
            const gone = reasons.take(service);
            if (!gone || signal !== null) return handler(code, signal);
            if (gone.reason === 'launch-failed') return handler(null, null);
            const sig = signalForGoneReason(gone.reason);
            handler(sig ? null : code, sig);
          }, settleMs);
        });
      },
    };
  };
}
