import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WorkerFactory, WorkerProcess } from '../host/worker-process.js';
import { GoneReasons, signalForGoneReason, withGoneReasons } from './worker-gone.js';

function fakeFactory() {
  const exits: ((code: number | null, signal: string | null) => void)[] = [];
  const factory: WorkerFactory = (): WorkerProcess => ({
    pid: 42,
    post: () => undefined,
    onMessage: () => undefined,
    onExit: (h) => void exits.push(h),
    kill: () => undefined,
  });
  return { factory, exit: (code: number | null, signal: string | null = null) => exits.at(-1)!(code, signal) };
}

afterEach(() => vi.useRealTimers());

describe('utility-process crash reasons', () => {
  it('maps child-process-gone reasons to the signal the host words its error from', () => {
    expect(signalForGoneReason('oom')).toBe('SIGKILL');
    expect(signalForGoneReason('killed')).toBe('SIGKILL');
    expect(signalForGoneReason('crashed')).toBe('SIGSEGV');
    expect(signalForGoneReason('clean-exit')).toBeNull();
    expect(signalForGoneReason('abnormal-exit')).toBeNull();
  });

  it('reports each exit with the reason recorded for that service, whichever arrives first', () => {
    vi.useFakeTimers();
    const reasons = new GoneReasons();
    const f = fakeFactory();
    const wrapped = withGoneReasons(f.factory, reasons, (n) => `export-studio-${n}`, 50);
    const seen: [number | null, string | null][] = [];
    const w = wrapped({ env: {}, name: 'export-job-1' });
    w.onExit((c, s) => seen.push([c, s]));
    f.exit(137);
    // The gone notification comes after the exit: still used.
    reasons.record({ type: 'Utility', reason: 'oom', exitCode: 137, serviceName: 'export-studio-export-job-1' });
    vi.advanceTimersByTime(60);
    expect(seen).toEqual([[null, 'SIGKILL']]);

    const w2 = wrapped({ env: {}, name: 'export-job-2' });
    w2.onExit((c, s) => seen.push([c, s]));
    reasons.record({ type: 'GPU', reason: 'crashed', exitCode: 1, serviceName: 'export-studio-export-job-2' });
    reasons.record({ type: 'Utility', reason: 'launch-failed', exitCode: 1, name: 'export-studio-export-job-2' });
    f.exit(1);
    vi.advanceTimersByTime(60);
    expect(seen[1]).toEqual([null, null]);

    const w3 = wrapped({ env: {}, name: 'export-job-3' });
    w3.onExit((c, s) => seen.push([c, s]));
    f.exit(0);
    vi.advanceTimersByTime(60);
    expect(seen[2]).toEqual([0, null]);
  });
});
