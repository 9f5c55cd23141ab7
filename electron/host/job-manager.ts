import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { JobEventBatch } from '../../shared/api.js';
import { StudioError, type StudioErrorData } from '../../shared/errors.js';
import type { JobEvent } from '../../shared/events.js';
import type { ExportReport } from '../../shared/report.js';
import type { ExportRequest } from '../../shared/request.js';
import { sweepStale } from '../pipeline/io/outputs.js';
import { sweepEngineTemps } from '../pipeline/engine-step.js';
import { planOutputs } from '../pipeline/paths.js';
import type { WorkerMessage } from '../worker/protocol.js';
import { gpuEnvironment } from './gpus.js';
import type { WorkerFactory, WorkerProcess } from './worker-process.js';

export type JobOutcome = { ok: true; report: ExportReport } | { ok: false; error: StudioErrorData };

export type JobStatus = 'starting' | 'running' | 'cancelling' | 'done' | 'failed' | 'cancelled' | 'crashed';

export interface JobInfo {
  jobId: string;
  status: JobStatus;
  pid: number | undefined;
}

export interface JobManagerOptions {
  spawn: WorkerFactory;
  /** After SIGTERM, wait this long for the worker to exit before SIGKILL (default 3000 ms). */
  killGraceMs?: number;
  /** After `done`, wait this long for a clean exit before killing the worker (default 5000 ms). */
  exitGraceMs?: number;
  /** Working directory relative output paths are resolved against (the worker's too). */
  cwd?: string;
}

interface Job {
  id: string;
  request: ExportRequest;
  worker: WorkerProcess;
  status: JobStatus;
  ready: boolean;
  outcome: JobOutcome | null;
  cancelRequested: boolean;
  /** pids the job ran as (its temp files carry them). */
  pid: number | undefined;
  finished: Promise<JobOutcome>;
  resolve: (o: JobOutcome) => void;
  timers: NodeJS.Timeout[];
}

type Listener = (batch: JobEventBatch) => void;

/**
 * Runs each export in a fresh worker process: spawn (env carries the chosen GPU) → stream
 * batched events to subscribers → `done`, or cancel (SIGTERM, SIGKILL after a grace period), or
 * crash (exit without `done`) → sweep the request's output folders of the temp and lock files a
 * killed worker leaves → a final `error` event (E_CANCELLED / E_WORKER_CRASHED). A crash only
 * ends its own job; the manager stays usable.
 */
export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly listeners = new Set<Listener>();
  private readonly killGraceMs: number;
  private readonly exitGraceMs: number;

  constructor(private readonly options: JobManagerOptions) {
    this.killGraceMs = options.killGraceMs ?? 3000;
    this.exitGraceMs = options.exitGraceMs ?? 5000;
  }

  /** Receive every job's event batches; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Start a validated request in a fresh worker; returns its job id at once. `extraEnv` is for
   * tests (the worker's test hooks); the GPU environment always comes from `request.gpu`.
   */
  start(request: ExportRequest, options: { extraEnv?: Record<string, string> } = {}): string {
    const id = randomUUID();
    const env = { ...(options.extraEnv ?? {}), ...gpuEnvironment(request.gpu) };
    const worker = this.options.spawn({ env, name: `export-job-${id.slice(0, 8)}` });
    let resolve!: (o: JobOutcome) => void;
    const finished = new Promise<JobOutcome>((r) => (resolve = r));
    const job: Job = { id, request, worker, status: 'starting', ready: false, outcome: null, cancelRequested: false, pid: undefined, finished, resolve, timers: [] };
    this.jobs.set(id, job);
    worker.onMessage((m) => this.onMessage(job, m));
    worker.onExit((code, signal) => void this.onExit(job, code, signal));
    return id;
  }

  /** Resolves with the job's outcome once its worker has exited and cleanup is done. */
  wait(jobId: string): Promise<JobOutcome> {
    const job = this.jobs.get(jobId);
    if (!job) return Promise.reject(unknownJob(jobId));
    return job.finished;
  }

  info(jobId: string): JobInfo | undefined {
    const job = this.jobs.get(jobId);
    return job ? { jobId: job.id, status: job.status, pid: job.pid } : undefined;
  }

  /** Jobs whose worker is still alive. */
  get active(): string[] {
    return [...this.jobs.values()].filter((j) => !isFinal(j.status)).map((j) => j.id);
  }

  /**
   * Cancel: kill the worker (a job's native calls cannot be interrupted, and a fresh process per
   * job makes killing free), then clean up. Resolves when the job has ended. Cancelling a finished
   * job does nothing.
   */
  async cancel(jobId: string): Promise<JobOutcome> {
    const job = this.jobs.get(jobId);
    if (!job) throw unknownJob(jobId);
    if (!isFinal(job.status) && !job.cancelRequested && job.outcome === null) {
      job.cancelRequested = true;
      job.status = 'cancelling';
      this.kill(job);
    }
    return job.finished;
  }

  /** Kill every running worker and wait for their cleanup (app quit, server stop). */
  async dispose(): Promise<void> {
    await Promise.all(this.active.map((id) => this.cancel(id).catch(() => undefined)));
  }

  private kill(job: Job): void {
    job.worker.kill('SIGTERM');
    const t = setTimeout(() => job.worker.kill('SIGKILL'), this.killGraceMs);
    t.unref();
    job.timers.push(t);
  }

  private emit(jobId: string, events: JobEvent[]): void {
    if (events.length === 0) return;
    const batch: JobEventBatch = { jobId, events };
    for (const l of [...this.listeners]) {
      try {
        l(batch);
      } catch (e) {
        process.emitWarning(`job event listener failed: ${(e as Error).message}`);
      }
    }
  }

  private onMessage(job: Job, m: WorkerMessage): void {
    switch (m.type) {
      case 'ready':
        job.ready = true;
        job.pid = m.pid;
        if (job.cancelRequested) return;
        job.status = 'running';
        job.worker.post({ type: 'start', jobId: job.id, request: job.request });
        return;
      case 'events':
        if (m.jobId !== job.id || job.cancelRequested) return;
        this.emit(job.id, m.events);
        return;
      case 'done': {
        if (m.jobId !== job.id || job.cancelRequested) return;
        job.outcome = m.ok ? { ok: true, report: m.report } : { ok: false, error: m.error };
        job.worker.post({ type: 'shutdown' });
        const t = setTimeout(() => this.kill(job), this.exitGraceMs);
        t.unref();
        job.timers.push(t);
        return;
      }
      case 'reply':
        return;
    }
  }

  private async onExit(job: Job, code: number | null, signal: string | null): Promise<void> {
    for (const t of job.timers) clearTimeout(t);
    let outcome: JobOutcome;
    if (job.outcome) {
      // Finished normally (its own error event, if any, has already been streamed).
      outcome = job.outcome;
      job.status = outcome.ok ? 'done' : 'failed';
    } else {
      const removed = await this.cleanup(job);
      if (removed.length > 0) {
        this.emit(job.id, [{ type: 'log', level: 'info', text: `Removed ${removed.length} partial output file(s) left by the stopped worker.`, time: Date.now() }]);
      }
      let error: StudioError;
      if (job.cancelRequested) {
        job.status = 'cancelled';
        error = new StudioError('E_CANCELLED', 'The export was cancelled', 'Nothing was written; run it again when ready.');
      } else {
        job.status = 'crashed';
        const how = signal ? `was killed by ${signal}` : code === null ? 'could not be started' : `exited with code ${code}`;
        error = new StudioError(
          'E_WORKER_CRASHED',
          `The export worker process ${how} before the job finished`,
          signal === 'SIGKILL'
            ? 'The system may have run out of memory (check `dmesg` for the OOM killer). Nothing was written; try fewer calibration batches or a smaller batch size.'
            : 'Nothing was written. Run the export again; if it keeps failing, run the same command with the CLI (shown in Review) to see the full output.',
          {},
          { details: { exitCode: code, signal, pid: job.pid ?? null } },
        );
      }
      outcome = { ok: false, error: error.toData() };
      this.emit(job.id, [{ type: 'error', error: outcome.error }]);
    }
    job.resolve(outcome);
    this.prune();
  }

  /** Forget the oldest finished jobs beyond the last 50 (their outcomes were delivered). */
  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => isFinal(j.status));
    for (const j of finished.slice(0, Math.max(0, finished.length - 50))) this.jobs.delete(j.id);
  }

  /**
   * Remove the temp and lock files a killed worker left: every folder the request writes to is
   * swept with the pipeline's sweepStale (it removes only files whose owner pid is dead).
   */
  private async cleanup(job: Job): Promise<string[]> {
    const dirs = new Set<string>();
    const cwd = this.options.cwd ?? process.cwd();
    try {
      const plan = planOutputs(job.request, cwd);
      for (const p of Object.values(plan)) if (typeof p === 'string') dirs.add(path.dirname(p));
    } catch {
      dirs.add(path.dirname(path.resolve(cwd, job.request.outputs.etlt)));
    }
    const o = job.request.outputs;
    if (o.logFile) dirs.add(path.dirname(path.resolve(cwd, o.logFile)));
    const removed: string[] = [];
    for (const d of dirs) removed.push(...(await sweepStale(d).catch(() => [])));
    // A worker killed while trtexec ran: its process group and the decrypted-model temp folder.
    if (job.request.outputs.engine) removed.push(...(await sweepEngineTemps().catch(() => [])));
    if (o.resultsDir && job.pid !== undefined) {
      // status.json is rewritten through `<file>.<pid>.tmp` (run.ts), outside OutputSet.
      const tmp = path.join(path.resolve(cwd, o.resultsDir), `status.json.${job.pid}.tmp`);
      if (await fs.rm(tmp).then(() => true, () => false)) removed.push(tmp);
    }
    return removed;
  }
}

function isFinal(s: JobStatus): boolean {
  return s === 'done' || s === 'failed' || s === 'cancelled' || s === 'crashed';
}

function unknownJob(jobId: string): StudioError {
  return new StudioError('E_REQUEST_INVALID', `No export job with id ${jobId}`, 'The job may belong to an earlier session; start the export again.');
}
