import { StudioError, asStudioError, type StudioErrorData } from '../../shared/errors.js';
import type { EventSink, JobEvent } from '../../shared/events.js';
import type { ExportReport } from '../../shared/report.js';
import type { ExportRequest } from '../../shared/request.js';
import { keepCommittedJournals, onCommitStart } from '../pipeline/io/outputs.js';
import { setReadRoots } from '../pipeline/io/roots.js';
import { runExport } from '../pipeline/run.js';
import { EventBatcher } from './batcher.js';
import { TEST_CRASH_AT_ENV, TEST_HOLD_AT_ENV, TEST_HOLD_MS_ENV, TEST_HOOKS_ENV, type HostMessage, type WorkerPort } from './protocol.js';
import { READERS } from './reads.js';

export type JobRunner = (request: ExportRequest, sink: EventSink, signal: AbortSignal) => Promise<ExportReport>;

export interface ServeOptions {
  /** The export itself; default `runExport`. */
  run?: JobRunner;
  /** Environment the test hooks are read from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Event batch interval (ms). */
  batchMs?: number;
  /** Called on `shutdown` (the entry file exits the process). */
  onShutdown?: () => void;
  /**
   * The process whose SIGTERM is trapped once a job's outputs start to commit (the entry files
   * pass `process`; in-process tests leave it out). Until then SIGTERM keeps its default action
   * (die at once: nothing is committed, the host sweeps the temp files). From the commit on, a
   * SIGTERM (the host's cancel) only aborts the jobs: the commit runs to its end and the job posts
   * its `done` with the report (the host's SIGKILL after its grace period stays the backstop).
   */
  trapTermDuringCommit?: NodeJS.Process;
  /**
   * Keep each completed commit's journal, marked committed with the job's report, for the host to
   * read and remove after this process exits (`keepCommittedJournals`): a worker killed after its
   * commit but before its `done` reaches the host is then reported as what is on disk. The process
   * entries set it (one job per process, the host sweeps after exit); in-process tests do not.
   */
  keepCommitJournals?: boolean;
}

export interface WorkerServer {
  /** Jobs still running in this worker. */
  readonly running: number;
}

function toErrorData(e: unknown): StudioErrorData {
  return asStudioError(e, 'in the worker').toData();
}

/**
 * Test-only hooks (never set in production): with EXPORT_STUDIO_TEST_HOOKS=1,
 * EXPORT_STUDIO_TEST_CRASH_AT=<stage> kills this process with SIGKILL when that stage starts
 * (`result`: when the job emits its result, before that event is sent; `done`: after every event
 * was sent, instead of posting `done` — see startJob), and
 * EXPORT_STUDIO_TEST_HOLD_AT=<stage> blocks the process there (EXPORT_STUDIO_TEST_HOLD_MS, default
 * 60 s) so a test can cancel while outputs are staged. Events queued so far are flushed first.
 */
function testHooks(env: NodeJS.ProcessEnv, flush: () => void): ((e: JobEvent) => void) | null {
  if (env[TEST_HOOKS_ENV] !== '1') return null;
  const crashAt = env[TEST_CRASH_AT_ENV];
  const holdAt = env[TEST_HOLD_AT_ENV];
  const holdMs = Number(env[TEST_HOLD_MS_ENV] ?? 60_000);
  if (!crashAt && !holdAt) return null;
  return (e) => {
    if (e.type === 'result' && crashAt === 'result') process.kill(process.pid, 'SIGKILL');
    if (e.type !== 'stage' || e.status !== 'started') return;
    if (e.stage === crashAt) {
      flush();
      process.kill(process.pid, 'SIGKILL');
    }
    if (e.stage === holdAt) {
      flush();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number.isFinite(holdMs) && holdMs >= 0 ? holdMs : 60_000);
    }
  };
}

/**
 * The worker side of the job protocol over any two-method port: runs exports (`start`/`cancel`,
 * batched `events`, one `done` per job) and answers the wizard's read calls (`call` → `reply`).
 */
export function serve(port: WorkerPort, options: ServeOptions = {}): WorkerServer {
  const run = options.run ?? runExport;
  const env = options.env ?? process.env;
  const jobs = new Map<string, AbortController>();
  if (options.keepCommitJournals) keepCommittedJournals(true);
  const crashBeforeDone = env[TEST_HOOKS_ENV] === '1' && env[TEST_CRASH_AT_ENV] === 'done';
  const proc = options.trapTermDuringCommit;
  if (proc) {
    let trapped = false;
    onCommitStart(() => {
      if (trapped) return;
      trapped = true;
      proc.on('SIGTERM', () => {
        for (const ac of jobs.values()) ac.abort();
      });
    });
  }

  async function startJob(jobId: string, request: ExportRequest): Promise<void> {
    if (jobs.has(jobId)) return;
    const ac = new AbortController();
    jobs.set(jobId, ac);
    const batcher = new EventBatcher((events) => port.post({ type: 'events', jobId, events }), options.batchMs ?? 50);
    const hook = testHooks(env, () => batcher.flush());
    const sink: EventSink = (e) => {
      batcher.push(e);
      hook?.(e);
    };
    try {
      const report = await run(request, sink, ac.signal);
      batcher.flush();
      if (crashBeforeDone) process.kill(process.pid, 'SIGKILL');
      port.post({ type: 'done', jobId, ok: true, report });
    } catch (e) {
      batcher.flush();
      port.post({ type: 'done', jobId, ok: false, error: toErrorData(e) });
    } finally {
      jobs.delete(jobId);
    }
  }

  async function answer(msg: Extract<HostMessage, { type: 'call' }>): Promise<void> {
    try {
      const handler = READERS[msg.method] as ((args: unknown) => Promise<unknown>) | undefined;
      if (!handler) throw new StudioError('E_REQUEST_INVALID', `Unknown worker call: ${String(msg.method)}`, 'The host and worker versions differ; restart the app.');
      const value = await handler(msg.args);
      port.post({ type: 'reply', callId: msg.callId, ok: true, value, rss: process.memoryUsage.rss() });
    } catch (e) {
      port.post({ type: 'reply', callId: msg.callId, ok: false, error: toErrorData(e), rss: process.memoryUsage.rss() });
    }
  }

  port.onMessage((msg) => {
    switch (msg.type) {
      case 'start':
        // One job per worker process: its roots hold for the process (io/roots.ts).
        if (msg.roots) setReadRoots(msg.roots);
        void startJob(msg.jobId, msg.request);
        break;
      case 'cancel':
        jobs.get(msg.jobId)?.abort();
        break;
      case 'call':
        void answer(msg);
        break;
      case 'shutdown':
        for (const ac of jobs.values()) ac.abort();
        options.onShutdown?.();
        break;
    }
  });
  port.post({ type: 'ready', pid: process.pid });
  return {
    get running() {
      return jobs.size;
    },
  };
}
