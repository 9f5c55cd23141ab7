import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isFinalJobStatus, type JobEventBatch, type JobQueueState, type JobRequestSummary, type JobSnapshot, type QueueJobStatus } from '../../shared/api.js';
import { StudioError, type StudioErrorData } from '../../shared/errors.js';
import type { ArtifactRole, JobEvent } from '../../shared/events.js';
import type { OutputPlan } from '../../shared/defaults.js';
import { newSnapshot, recordJobEvents } from '../../shared/jobs.js';
import type { ExportReport } from '../../shared/report.js';
import type { ExportRequest } from '../../shared/request.js';
import { recoverCommitsOf, sweepStale, type CommitRecovery } from '../pipeline/io/outputs.js';
import { sweepEngineTemps } from '../pipeline/engine-step.js';
import { planOutputs } from '../pipeline/paths.js';
import type { WorkerMessage } from '../worker/protocol.js';
import { gpuEnvironment } from './gpus.js';
import type { WorkerFactory, WorkerProcess } from './worker-process.js';

export type JobOutcome = { ok: true; report: ExportReport } | { ok: false; error: StudioErrorData };

export type JobStatus = QueueJobStatus;

export interface JobInfo {
  jobId: string;
  status: JobStatus;
  pid: number | undefined;
  /** The device it holds (or will hold); null while it waits for any GPU of its pool. */
  gpu: number | 'cpu' | null;
}

export interface StartOptions {
  /** Test hooks for the worker (EXPORT_STUDIO_TEST_*); the GPU environment always comes from the queue. */
  extraEnv?: Record<string, string>;
  /**
   * Run on whichever of these GPUs frees up first (batch runs: one job per GPU), instead of
   * request.gpu. The request's gpu field is set to the GPU it got.
   */
  gpuPool?: readonly number[];
  /**
   * Web mode's browse roots (real paths): the worker opens no input and walks no data folder
   * outside them, the data a spec names included (E_FILE_UNREADABLE, reason outside-roots).
   */
  roots?: readonly string[];
}

export interface JobManagerOptions {
  spawn: WorkerFactory;
  /** After SIGTERM, wait this long for the worker to exit before SIGKILL (default 3000 ms). */
  killGraceMs?: number;
  /** After `done`, wait this long for a clean exit before killing the worker (default 5000 ms). */
  exitGraceMs?: number;
  /** Working directory relative output paths are resolved against (the worker's too). */
  cwd?: string;
  /** CPU jobs that may run at once (default 1; GPU jobs run one per GPU). */
  cpuSlots?: number;
  /** Finished jobs kept in the registry before the oldest are forgotten (default 50). */
  keepFinished?: number;
}

interface Job {
  id: string;
  request: ExportRequest;
  /** Absolute paths the job writes (planOutputs + log, status.json): no other live job may share one. */
  writes: Set<string>;
  extraEnv: Record<string, string>;
  roots: readonly string[] | null;
  gpuPool: readonly number[] | null;
  /** Assigned device: request.gpu, or the pool GPU it got (null while it waits for one). */
  gpu: number | 'cpu' | null;
  worker: WorkerProcess | null;
  status: JobStatus;
  snapshot: JobSnapshot;
  ready: boolean;
  outcome: JobOutcome | null;
  cancelRequested: boolean;
  /**
   * Events the worker sent after the cancel: held back, and shown only if the job turns out to have
   * committed its outputs before the cancel could stop it (then it ends as done, see onMessage).
   */
  late: JobEvent[];
  /** pids the job ran as (its temp files carry them). */
  pid: number | undefined;
  finished: Promise<JobOutcome>;
  resolve: (o: JobOutcome) => void;
  timers: NodeJS.Timeout[];
}

type Listener = (batch: JobEventBatch) => void;

/**
 * A queue of exports across the machine's devices: a job waits until its GPU is free (one job
 * per GPU, never two), CPU jobs run at most `cpuSlots` at once; a job never starts on an output
 * another live job writes (refused at start, naming that job). Each job runs in a fresh worker
 * process: spawn (env carries the chosen GPU) → stream
 * batched events to subscribers → `done`, or cancel (SIGTERM, SIGKILL after a grace period), or
 * crash (exit without `done`) → sweep the request's output folders of the temp and lock files a
 * killed worker leaves → a final `error` event (E_CANCELLED / E_WORKER_CRASHED). A crash only
 * ends its own job; the manager stays usable. Every job keeps a snapshot (request without the key,
 * stage states, progress, the log's tail, artifacts, result or error) for listJobs(): a page that
 * reloads or a second tab reattaches from it.
 */
export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly listeners = new Set<Listener>();
  private readonly killGraceMs: number;
  private readonly exitGraceMs: number;
  private readonly cpuSlots: number;
  private readonly keepFinished: number;

  constructor(private readonly options: JobManagerOptions) {
    this.killGraceMs = options.killGraceMs ?? 3000;
    this.exitGraceMs = options.exitGraceMs ?? 5000;
    this.cpuSlots = Math.max(1, Math.floor(options.cpuSlots ?? 1));
    this.keepFinished = Math.max(0, options.keepFinished ?? 50);
  }

  /** Receive every job's event batches; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The files `request` would write, or E_OUTPUT_LOCKED naming the queued or running job that
   * writes one of them (checked by start; the host API asks first, before other checks).
   */
  checkOutputs(request: ExportRequest): Set<string> {
    const writes = plannedWrites(request, this.options.cwd ?? process.cwd());
    for (const other of this.jobs.values()) {
      if (isFinal(other.status)) continue;
      const shared = [...writes].find((p) => other.writes.has(p));
      if (shared !== undefined) {
        throw new StudioError(
          'E_OUTPUT_LOCKED',
          `${shared} is being written by export job ${other.id.slice(0, 8)} (${path.basename(other.request.model)}, ${other.status})`,
          'Wait for that job to finish or cancel it in the Jobs list, or choose another output folder for this export.',
          { file: shared },
          { details: { otherJobId: other.id } },
        );
      }
    }
    return writes;
  }

  /** Whether `pid` is the worker process of one of this manager's live jobs. */
  ownsPid(pid: number): boolean {
    return [...this.jobs.values()].some((j) => !isFinal(j.status) && j.pid === pid);
  }

  /**
   * Queue a validated request; returns its job id at once. It starts in a fresh worker as soon as
   * its device is free. Throws E_OUTPUT_LOCKED (nothing queued) when a queued or running job
   * writes any of the same files.
   */
  start(request: ExportRequest, options: StartOptions = {}): string {
    const writes = this.checkOutputs(request);
    const pool = options.gpuPool && options.gpuPool.length > 0 ? [...new Set(options.gpuPool)] : null;
    if (options.gpuPool && options.gpuPool.length === 0) throw new StudioError('E_REQUEST_INVALID', 'The GPU pool is empty', 'Name at least one GPU index, or run on the CPU.');
    const id = randomUUID();
    let resolve!: (o: JobOutcome) => void;
    const finished = new Promise<JobOutcome>((r) => (resolve = r));
    const now = Date.now();
    const gpu = pool ? null : request.gpu;
    const job: Job = {
      id,
      request,
      writes,
      extraEnv: options.extraEnv ?? {},
      roots: options.roots ? [...options.roots] : null,
      gpuPool: pool,
      gpu,
      worker: null,
      status: 'queued',
      snapshot: newSnapshot(id, summarize(request), gpu, now),
      ready: false,
      outcome: null,
      cancelRequested: false,
      late: [],
      pid: undefined,
      finished,
      resolve,
      timers: [],
    };
    this.jobs.set(id, job);
    this.pump();
    if (job.status === 'queued') this.announce(job);
    return id;
  }

  /** Start every queued job whose device is free, in queue order. */
  private pump(): void {
    const busy = new Set<number>();
    let cpu = 0;
    for (const j of this.jobs.values()) {
      if (!holdsDevice(j)) continue;
      if (j.gpu === 'cpu') cpu++;
      else if (j.gpu !== null) busy.add(j.gpu);
    }
    for (const j of this.jobs.values()) {
      if (j.status !== 'queued') continue;
      let device: number | 'cpu' | null = null;
      if (j.gpuPool) device = j.gpuPool.find((g) => !busy.has(g)) ?? null;
      else if (j.gpu === 'cpu') device = cpu < this.cpuSlots ? 'cpu' : null;
      else if (j.gpu !== null && !busy.has(j.gpu)) device = j.gpu;
      if (device === null) {
        const waiting = this.blockers(j);
        const before = j.snapshot.waitingFor ?? [];
        if (waiting.join() !== before.join()) {
          j.snapshot.waitingFor = waiting;
          this.announce(j);
        }
        continue;
      }
      if (device === 'cpu') cpu++;
      else busy.add(device);
      this.launch(j, device);
    }
  }

  /** The live jobs holding the device a queued job waits for. */
  private blockers(job: Job): string[] {
    const wanted = (g: number | 'cpu' | null) => (job.gpuPool ? typeof g === 'number' && job.gpuPool.includes(g) : g === job.gpu);
    return [...this.jobs.values()].filter((j) => j !== job && holdsDevice(j) && wanted(j.gpu)).map((j) => j.id);
  }

  private launch(job: Job, device: number | 'cpu'): void {
    job.gpu = device;
    if (job.gpuPool && typeof device === 'number') job.request = { ...job.request, gpu: device };
    job.status = 'starting';
    delete job.snapshot.waitingFor;
    job.snapshot.request = summarize(job.request);
    job.snapshot.startedAt = Date.now();
    const env = { ...job.extraEnv, ...gpuEnvironment(device) };
    const worker = this.options.spawn({ env, name: `export-job-${job.id.slice(0, 8)}` });
    job.worker = worker;
    worker.onMessage((m) => this.onMessage(job, m));
    worker.onExit((code, signal) => void this.onExit(job, code, signal));
    this.announce(job);
  }

  /** Tell subscribers the job's queue state changed (an empty event batch with `state`). */
  private announce(job: Job): void {
    job.snapshot.status = job.status;
    job.snapshot.gpu = job.gpu;
    const state: JobQueueState = { status: job.status, gpu: job.gpu, ...(job.snapshot.waitingFor ? { waitingFor: [...job.snapshot.waitingFor] } : {}) };
    this.deliver({ jobId: job.id, events: [], state, seq: ++job.snapshot.seq });
  }

  /** Every job, oldest first, as the registry keeps it (no key anywhere). */
  list(): JobSnapshot[] {
    return [...this.jobs.values()].map((j) => structuredClone(j.snapshot));
  }

  snapshot(jobId: string): JobSnapshot | undefined {
    const j = this.jobs.get(jobId);
    return j ? structuredClone(j.snapshot) : undefined;
  }

  /** Forget finished jobs (all with null); live ones stay. Returns how many were removed. */
  clear(jobIds: readonly string[] | null): number {
    let n = 0;
    for (const j of [...this.jobs.values()]) {
      if (!isFinal(j.status) || (jobIds !== null && !jobIds.includes(j.id))) continue;
      this.jobs.delete(j.id);
      n++;
    }
    return n;
  }

  /** Resolves with the job's outcome once its worker has exited and cleanup is done. */
  wait(jobId: string): Promise<JobOutcome> {
    const job = this.jobs.get(jobId);
    if (!job) return Promise.reject(unknownJob(jobId));
    return job.finished;
  }

  info(jobId: string): JobInfo | undefined {
    const job = this.jobs.get(jobId);
    return job ? { jobId: job.id, status: job.status, pid: job.pid, gpu: job.gpu } : undefined;
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
    if (job.status === 'queued') {
      // Never started: nothing to kill or clean.
      job.cancelRequested = true;
      const error = new StudioError('E_CANCELLED', 'The export was cancelled before it started', 'Nothing was written; queue it again when ready.').toData();
      this.finish(job, 'cancelled', { ok: false, error }, [{ type: 'error', error }]);
      this.pump();
      return job.finished;
    }
    if (!isFinal(job.status) && !job.cancelRequested && job.outcome === null) {
      job.cancelRequested = true;
      job.status = 'cancelling';
      this.announce(job);
      this.kill(job);
    }
    return job.finished;
  }

  /** Kill every running worker and wait for their cleanup (app quit, server stop). */
  async dispose(): Promise<void> {
    // Queued ones first, so a slot freed by a cancel does not start them.
    const queued = [...this.jobs.values()].filter((j) => j.status === 'queued').map((j) => j.id);
    await Promise.all([...queued, ...this.active].map((id) => this.cancel(id).catch(() => undefined)));
  }

  private kill(job: Job): void {
    const w = job.worker;
    if (!w) return;
    w.kill('SIGTERM');
    const t = setTimeout(() => w.kill('SIGKILL'), this.killGraceMs);
    t.unref();
    job.timers.push(t);
  }

  private emit(job: Job, events: JobEvent[]): void {
    if (events.length === 0) return;
    recordJobEvents(job.snapshot, events);
    this.deliver({ jobId: job.id, events, seq: ++job.snapshot.seq });
  }

  private deliver(batch: JobEventBatch): void {
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
        this.announce(job);
        job.worker?.post({ type: 'start', jobId: job.id, request: job.request, ...(job.roots ? { roots: [...job.roots] } : {}) });
        return;
      case 'events':
        if (m.jobId !== job.id) return;
        if (job.cancelRequested) job.late.push(...m.events);
        else this.emit(job, m.events);
        return;
      case 'done': {
        if (m.jobId !== job.id || job.outcome) return;
        if (job.cancelRequested) {
          // The cancel reached the worker after the last point it could stop the job: the commit
          // ran to its end and the files are on disk. Report what is there, not "cancelled".
          if (m.ok) this.endCommittedAfterCancel(job, m.report);
        } else {
          job.outcome = m.ok ? { ok: true, report: m.report } : { ok: false, error: m.error };
        }
        job.worker?.post({ type: 'shutdown' });
        const t = setTimeout(() => this.kill(job), this.exitGraceMs);
        t.unref();
        job.timers.push(t);
        return;
      }
      case 'reply':
        return;
    }
  }

  /** A job whose outputs were committed before its cancel took effect: it ends as done. */
  private endCommittedAfterCancel(job: Job, report: ExportReport): void {
    const late = job.late.splice(0).filter((e) => e.type !== 'error');
    late.push({ type: 'log', level: 'warn', text: 'Cancel came too late to undo the commit: the export had already put its outputs in place, so the job finished and every file listed is on disk.', time: Date.now() });
    this.emit(job, late);
    job.outcome = { ok: true, report };
  }

  /**
   * After a cancelled worker died without its `done`: the report it streamed (a `result` event),
   * if its artifacts are all on disk with the sizes it announced; otherwise null.
   */
  private async committedReport(job: Job): Promise<ExportReport | null> {
    const result = job.late.find((e): e is Extract<JobEvent, { type: 'result' }> => e.type === 'result');
    if (!result || result.report.artifacts.length === 0) return null;
    for (const a of result.report.artifacts) {
      const st = await fs.stat(a.path).catch(() => null);
      if (!st?.isFile() || st.size !== a.bytes) return null;
    }
    return result.report;
  }

  /**
   * A worker that died without its `done` after its commit completed (the journal it kept says
   * committed, every file still the one it placed): the job ends as done with the report the
   * journal (or the streamed `result`) holds — the cancel or the crash came too late to matter.
   * Without a report (a journal with no record), null: the caller lists the files in its error.
   */
  private endCommittedWithoutDone(job: Job, how: string, recovered: CommitRecovery[]): boolean {
    const streamed = job.late.find((e): e is Extract<JobEvent, { type: 'result' }> => e.type === 'result')?.report ?? job.snapshot.report ?? undefined;
    const record = recovered.map((r) => r.record).find(isReport);
    const report = streamed ?? record;
    if (!report) return false;
    const announced = new Set(job.snapshot.artifacts.map((a) => a.path));
    const events: JobEvent[] = job.cancelRequested ? job.late.splice(0).filter((e) => e.type !== 'error' && e.type !== 'result') : [];
    const shown = new Set([...announced, ...events.filter((e) => e.type === 'artifact').map((e) => (e as Extract<JobEvent, { type: 'artifact' }>).path)]);
    for (const a of report.artifacts) if (!shown.has(a.path)) events.push({ type: 'artifact', ...a });
    const files = report.artifacts.length;
    const text = job.cancelRequested
      ? `Cancel came too late to undo the commit: the export had put its ${files} output(s) in place before the worker ${how}; the job finished and every file listed is on disk.`
      : `The export worker ${how} after its ${files} output(s) were committed and before it reported: the job is complete and every file listed is on disk (sizes checked against the commit journal).`;
    events.push({ type: 'log', level: 'warn', text, time: Date.now() });
    events.push({ type: 'result', report });
    this.emit(job, events);
    job.outcome = { ok: true, report };
    return true;
  }

  private async onExit(job: Job, code: number | null, signal: string | null): Promise<void> {
    for (const t of job.timers) clearTimeout(t);
    // What the worker's commit really did, from the journal it keeps until now (read, then the
    // journal's rule applied: committed → the files stay; mid-way → rolled back).
    const recovered = await this.recoverCommits(job);
    const how = signal ? `was killed by ${signal}` : code === null ? 'could not be started' : `exited with code ${code}`;
    const reported = job.outcome !== null;
    if (!job.outcome) {
      const committed = recovered.filter((r) => r.state === 'committed');
      if (committed.length > 0 && committed.every((r) => r.files.every((f) => f.onDisk))) {
        this.endCommittedWithoutDone(job, how, recovered);
      } else if (committed.length === 0 && job.cancelRequested) {
        // No journal of this worker (an in-process worker, or a commit that never started): its streamed result, if its files are there.
        const report = await this.committedReport(job);
        if (report) this.endCommittedAfterCancel(job, report);
      }
    }
    if (job.outcome) {
      // Finished normally (its own error event, if any, has already been streamed); a worker that
      // died after its commit may still have left its locks (released after the commit mark).
      if (!reported) await this.cleanup(job);
      this.finish(job, job.outcome.ok ? 'done' : 'failed', job.outcome, []);
    } else {
      const removed = await this.cleanup(job);
      if (removed.length > 0) {
        this.emit(job, [{ type: 'log', level: 'info', text: `Removed ${removed.length} partial output file(s) left by the stopped worker.`, time: Date.now() }]);
      }
      const onDisk = describeDisk(recovered);
      const status: JobStatus = job.cancelRequested ? 'cancelled' : 'crashed';
      let error: StudioError;
      if (job.cancelRequested) {
        error = new StudioError('E_CANCELLED', `The export was cancelled${onDisk.when}`, onDisk.hint ?? 'Nothing was written; run it again when ready.', {}, onDisk.details ? { details: onDisk.details } : {});
      } else {
        error = new StudioError(
          'E_WORKER_CRASHED',
          `The export worker process ${how} before the job finished${onDisk.when}`,
          onDisk.hint ??
            (signal === 'SIGKILL'
              ? 'The system may have run out of memory (check `dmesg` for the OOM killer). Nothing was written; try fewer calibration batches or a smaller batch size.'
              : 'Nothing was written. Run the export again; if it keeps failing, run the same command with the CLI (shown in Review) to see the full output.'),
          {},
          { details: { exitCode: code, signal, pid: job.pid ?? null, ...(onDisk.details ?? {}) } },
        );
      }
      // Files a completed commit left (a journal without a report): listed as artifacts with their hashes.
      const roles = this.rolesOf(job);
      const artifacts: JobEvent[] = onDisk.committed
        .filter((f) => !job.snapshot.artifacts.some((a) => a.path === f.path))
        .map((f) => ({ type: 'artifact', role: roles.get(f.path) ?? 'etlt', path: f.path, bytes: f.bytes ?? 0, sha256: f.sha256 ?? '' }));
      const data = error.toData();
      this.finish(job, status, { ok: false, error: data }, [...artifacts, { type: 'error', error: data }]);
    }
    // Its device is free: the next queued job for it starts.
    this.pump();
  }

  /** Read and settle the commit journals the job's dead worker left in the folders it writes. */
  private async recoverCommits(job: Job): Promise<CommitRecovery[]> {
    if (job.pid === undefined) return [];
    const out: CommitRecovery[] = [];
    for (const d of this.dirsOf(job)) out.push(...(await recoverCommitsOf(d, job.pid).catch(() => [])));
    return out;
  }

  /** End a job: final events, final state, outcome; then forget the oldest finished ones. */
  private finish(job: Job, status: JobStatus, outcome: JobOutcome, events: JobEvent[]): void {
    job.status = status;
    job.snapshot.endedAt = Date.now();
    delete job.snapshot.waitingFor;
    if (outcome.ok) job.snapshot.report = outcome.report;
    this.emit(job, events);
    this.announce(job);
    job.resolve(outcome);
    this.prune();
  }

  /** Forget the oldest finished jobs beyond `keepFinished` (their outcomes were delivered). */
  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => isFinal(j.status));
    for (const j of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) this.jobs.delete(j.id);
  }

  /** The role of each planned output (for files a dead worker committed without its report). */
  private rolesOf(job: Job): Map<string, ArtifactRole> {
    const byKey: Record<keyof OutputPlan, ArtifactRole> = { etlt: 'etlt', onnx: 'onnx', qdq: 'qdq', cache: 'cache', provenance: 'cache-provenance', calibrationReport: 'calibration-report', tensorfile: 'tensorfile', dsConfig: 'ds-config', labels: 'labels', report: 'report', engine: 'engine' };
    const roles = new Map<string, ArtifactRole>();
    try {
      const plan = planOutputs(job.request, this.options.cwd ?? process.cwd());
      for (const [k, p] of Object.entries(plan) as [keyof OutputPlan, string | undefined][]) if (p !== undefined && byKey[k]) roles.set(p, byKey[k]);
    } catch {
      // no plan: the default role
    }
    return roles;
  }

  /** Every folder the job's request writes to (planned outputs and the log). */
  private dirsOf(job: Job): Set<string> {
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
    return dirs;
  }

  /**
   * Remove the temp and lock files a killed worker left: every folder the request writes to is
   * swept with the pipeline's sweepStale (it removes only files whose owner pid is dead).
   */
  private async cleanup(job: Job): Promise<string[]> {
    const dirs = this.dirsOf(job);
    const o = job.request.outputs;
    const cwd = this.options.cwd ?? process.cwd();
    const removed: string[] = [];
    for (const d of dirs) removed.push(...(await sweepStale(d).catch(() => [])));
    // A worker killed while trtexec ran: its process group and the decrypted-model temp folder.
    if (job.request.outputs.engine) removed.push(...(await sweepEngineTemps(undefined, job.pid).catch(() => [])));
    if (o.resultsDir && job.pid !== undefined) {
      // status.json is rewritten through `<file>.<pid>.tmp` (run.ts), outside OutputSet.
      const tmp = path.join(path.resolve(cwd, o.resultsDir), `status.json.${job.pid}.tmp`);
      if (await fs.rm(tmp).then(() => true, () => false)) removed.push(tmp);
    }
    return removed;
  }
}

function isFinal(s: JobStatus): boolean {
  return isFinalJobStatus(s);
}

/** A job holds its device from spawn until its worker has exited and been cleaned up. */
function holdsDevice(j: Job): boolean {
  return j.status === 'starting' || j.status === 'running' || j.status === 'cancelling';
}

/** The request without its key: what the registry keeps and what listJobs sends. */
export function summarize(r: ExportRequest): JobRequestSummary {
  const { key: _key, ...rest } = r;
  return structuredClone(rest);
}

/** Every absolute path a request writes: its planned outputs, log file and TAO status.json. */
export function plannedWrites(r: ExportRequest, cwd: string): Set<string> {
  const out = new Set<string>();
  try {
    for (const p of Object.values(planOutputs(r, cwd))) if (typeof p === 'string') out.add(p);
  } catch {
    out.add(path.resolve(cwd, r.outputs.etlt));
  }
  if (r.outputs.logFile) out.add(path.resolve(cwd, r.outputs.logFile));
  if (r.outputs.resultsDir) out.add(path.join(path.resolve(cwd, r.outputs.resultsDir), 'status.json'));
  return out;
}

/** A report as a worker records it in its commit journal (checked before it is trusted as one). */
function isReport(v: unknown): v is ExportReport {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<ExportReport>;
  return Array.isArray(r.artifacts) && Array.isArray(r.warnings) && Array.isArray(r.stages) && typeof r.model === 'object' && r.model !== null && typeof r.command === 'string';
}

interface CommittedOnDisk {
  path: string;
  bytes: number | null;
  sha256: string | null;
}

/**
 * What a dead worker's commit journals say is on disk, for the error of a job that did not end as
 * done: the text appended to its message, a hint replacing "nothing was written", and details.
 */
function describeDisk(recovered: readonly CommitRecovery[]): { when: string; hint?: string; details?: Record<string, string | number>; committed: CommittedOnDisk[] } {
  const committed = recovered.filter((r) => r.state === 'committed');
  if (committed.length > 0) {
    const files = committed.flatMap((r) => r.files);
    const present = files.filter((f) => f.onDisk).map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 }));
    const changed = files.filter((f) => !f.onDisk).map((f) => f.path);
    return {
      when: `, after its commit had completed: ${present.length} file(s) are on disk (${present.map((f) => `${f.path}${f.sha256 ? ` sha256 ${f.sha256}` : ''}`).join(', ')})${changed.length ? `; changed since by something else: ${changed.join(', ')}` : ''}`,
      hint: 'The files listed are complete (each checked against the commit journal); the worker died before it could send its report. Run the export again for a full report.',
      details: { commit: 'committed', filesOnDisk: present.length },
      committed: present,
    };
  }
  const midway = recovered.filter((r) => r.state === 'committing');
  if (midway.length > 0) {
    const problems = midway.flatMap((r) => r.problems);
    const files = midway.flatMap((r) => r.files.map((f) => f.path));
    return {
      when: problems.length
        ? `, in the middle of its commit; rolling it back failed for: ${problems.join('; ')}`
        : `, in the middle of its commit; the commit was rolled back: none of its ${files.length} output(s) is on disk and every file it would have replaced is back as it was (${files.join(', ')})`,
      hint: problems.length ? 'Check the files named by hand; the others are as they were before the export.' : 'The output folder is as it was before the export; run it again when ready.',
      details: { commit: 'rolled-back', filesRestored: files.length, ...(problems.length ? { problems: problems.join('; ') } : {}) },
      committed: [],
    };
  }
  return { when: '', committed: [] };
}

function unknownJob(jobId: string): StudioError {
  return new StudioError('E_REQUEST_INVALID', `No export job with id ${jobId}`, 'The job may belong to an earlier session; start the export again.');
}
