import { create } from 'zustand';
import type { JobEvent, LogLevel, StageId } from '../../../shared/events.js';
import { STAGES, STAGE_LABELS } from '../../../shared/events.js';
import type { StudioErrorData } from '../../../shared/errors.js';
import type { ArtifactInfo, ExportReport } from '../../../shared/report.js';
import type { JobEventBatch, JobQueueState } from '../../../shared/api.js';

export type StageStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'cancelled';

export interface StageState {
  id: StageId;
  label: string;
  status: StageStatus;
  detail?: string;
  /** Done, but its result misses its target (INT8 below target): shown in red, never as a tick. */
  alert?: boolean;
  startedAt?: number;
  endedAt?: number;
}

/** The latest progress event, without its tag. */
export type ProgressState = Omit<Extract<JobEvent, { type: 'progress' }>, 'type'> & {
  /** When the ETA arrived (ms since the epoch): the Run step counts it down between events. */
  etaAt?: number;
};

export interface LogLine {
  /** Monotonic id (stable React key, survives trimming). */
  seq: number;
  level: LogLevel;
  text: string;
  time: number;
}

export type JobStatus = 'idle' | 'starting' | 'running' | 'done' | 'failed' | 'cancelled';

/** A job the host has queued (its device is busy): what it waits for. */
export interface QueuedInfo {
  /** The device it will run on; null while it waits for any free GPU of its pool. */
  gpu: number | 'cpu' | null;
  /** Ids of the jobs holding that device. */
  waitingFor: string[];
}

export interface JobState {
  jobId: string | null;
  status: JobStatus;
  stages: StageState[];
  progress: ProgressState | null;
  log: LogLine[];
  /** Lines dropped from the front once the log passed LOG_LIMIT. */
  logDropped: number;
  nextSeq: number;
  artifacts: ArtifactInfo[];
  report: ExportReport | null;
  error: StudioErrorData | null;
  /** Set while the host's queue holds the job back (status stays 'running': it can be cancelled). */
  queued: QueuedInfo | null;
  /** Batches that arrived while startExport was still in flight (their job id was unknown). */
  early: JobEventBatch[];
}

/** Enough for any real export; a runaway verbose job cannot exhaust renderer memory. */
export const LOG_LIMIT = 50_000;

export function initialStages(): StageState[] {
  return STAGES.map((id) => ({ id, label: STAGE_LABELS[id], status: 'pending' }));
}

export function initialJobState(): JobState {
  return {
    jobId: null,
    status: 'idle',
    stages: initialStages(),
    progress: null,
    log: [],
    logDropped: 0,
    nextSeq: 0,
    artifacts: [],
    report: null,
    error: null,
    queued: null,
    early: [],
  };
}

/** The user pressed Start; the job id is not known yet. */
export function startingJob(): JobState {
  return { ...initialJobState(), status: 'starting' };
}

/** startExport answered: adopt the id and replay what already arrived for it. */
export function beginJob(state: JobState, jobId: string): JobState {
  let next: JobState = { ...initialJobState(), jobId, status: 'running' };
  for (const b of state.early) if (b.jobId === jobId) next = reduceJobEvents(applyQueueState(next, b.state), b.events);
  return next;
}

/** The host's queue state for the job: queued (and for what), or out of the queue. */
export function applyQueueState(state: JobState, q: JobQueueState | undefined): JobState {
  if (!q) return state;
  const queued: QueuedInfo | null = q.status === 'queued' ? { gpu: q.gpu, waitingFor: [...(q.waitingFor ?? [])] } : null;
  if (queued === null && state.queued === null) return state;
  return { ...state, queued };
}

/** Route one batch from the host: ours → reduce; unknown while starting → keep; else drop. */
export function receiveBatch(state: JobState, batch: JobEventBatch): JobState {
  if (state.jobId !== null && batch.jobId === state.jobId) return reduceJobEvents(applyQueueState(state, batch.state), batch.events);
  if (state.status === 'starting') return { ...state, early: [...state.early, batch].slice(-200) };
  return state;
}

function setStage(stages: StageState[], id: StageId, patch: Partial<StageState>): StageState[] {
  return stages.map((s) => (s.id === id ? { ...s, ...patch } : s));
}

/**
 * Fold a batch of job events into the state. Pure; copies each array at most once per batch so
 * a batch of thousands of log lines stays linear.
 */
export function reduceJobEvents(state: JobState, events: readonly JobEvent[], now = Date.now()): JobState {
  if (events.length === 0) return state;
  let { stages, progress, logDropped, nextSeq, report, error, status, queued } = state;
  const newLines: LogLine[] = [];
  const newArtifacts: ArtifactInfo[] = [];
  for (const e of events) {
    // A job that reports stages (or ended) has left the queue, whatever state batch was missed.
    if (e.type === 'stage' || e.type === 'result' || e.type === 'error') queued = null;
    switch (e.type) {
      case 'stage': {
        if (e.status === 'started') {
          stages = setStage(stages, e.stage, { status: 'running', startedAt: e.time, ...(e.detail ? { detail: e.detail } : {}) });
        } else {
          stages = setStage(stages, e.stage, { status: e.status, endedAt: e.time, ...(e.detail ? { detail: e.detail } : {}), ...(e.alert ? { alert: true } : {}) });
          if (progress?.stage === e.stage) progress = null;
        }
        break;
      }
      case 'progress': {
        const p: ProgressState = { stage: e.stage, done: e.done, total: e.total, unit: e.unit };
        if (e.rate !== undefined) p.rate = e.rate;
        if (e.eta !== undefined) {
          p.eta = e.eta;
          p.etaAt = now;
        }
        progress = p;
        break;
      }
      case 'log':
        newLines.push({ seq: nextSeq++, level: e.level, text: e.text, time: e.time });
        break;
      case 'artifact':
        newArtifacts.push({ role: e.role, path: e.path, bytes: e.bytes, sha256: e.sha256 });
        break;
      case 'result':
        report = e.report;
        status = 'done';
        progress = null;
        // A finished job resolves every stage: one that never reported is marked from the report
        // (or skipped), so the bar ends at 100 % and no stage stays "pending" or "running".
        stages = stages.map((s) => {
          if (s.status !== 'pending' && s.status !== 'running') return s;
          const r = (Array.isArray(e.report.stages) ? e.report.stages : []).find((x) => x.stage === s.id);
          return { ...s, status: r ? r.status : 'skipped', ...(r?.detail ? { detail: r.detail } : {}) };
        });
        break;
      case 'error':
        error = e.error;
        status = e.error.code === 'E_CANCELLED' ? 'cancelled' : 'failed';
        stages = stages.map((s) => (s.status === 'running' ? { ...s, status: status === 'cancelled' ? 'cancelled' : 'failed' } : s));
        progress = null;
        break;
    }
  }
  let log = state.log;
  if (newLines.length > 0) {
    log = log.concat(newLines);
    if (log.length > LOG_LIMIT) {
      const drop = log.length - LOG_LIMIT;
      logDropped += drop;
      log = log.slice(drop);
    }
  }
  const artifacts = newArtifacts.length > 0 ? mergeArtifacts(state.artifacts, newArtifacts) : state.artifacts;
  return { ...state, stages, progress, log, logDropped, nextSeq, artifacts, report, error, status, queued };
}

/** An artifact announced twice (e.g. re-staged) keeps one row: the latest for its path. */
function mergeArtifacts(old: ArtifactInfo[], added: ArtifactInfo[]): ArtifactInfo[] {
  const byPath = new Map(old.map((a) => [a.path, a]));
  for (const a of added) byPath.set(a.path, a);
  return [...byPath.values()];
}

/** Fraction 0–1 of the whole job, counting finished stages and the running stage's progress. */
export function overallFraction(state: JobState): number {
  if (state.status === 'done') return 1;
  const relevant = state.stages.filter((s) => s.status !== 'skipped');
  if (relevant.length === 0) return 0;
  let done = relevant.filter((s) => s.status === 'done').length;
  const p = state.progress;
  if (p && p.total > 0 && relevant.some((s) => s.id === p.stage && s.status === 'running')) {
    done += Math.min(1, p.done / p.total);
  }
  return Math.min(1, done / relevant.length);
}

export interface LogFilter {
  levels: ReadonlySet<LogLevel>;
  text: string;
}

export function filterLog(lines: readonly LogLine[], filter: LogFilter): LogLine[] {
  const needle = filter.text.trim().toLowerCase();
  return lines.filter((l) => filter.levels.has(l.level) && (needle === '' || l.text.toLowerCase().includes(needle)));
}

/** The text "Save log" and "Copy" produce: ISO time, level, message. */
export function formatLogLines(lines: readonly LogLine[]): string {
  return lines.map((l) => `${new Date(l.time).toISOString()} ${l.level.toUpperCase().padEnd(5)} ${l.text}`).join('\n') + (lines.length ? '\n' : '');
}

interface JobStore extends JobState {
  starting(): void;
  begin(jobId: string): void;
  receive(batch: JobEventBatch): void;
  fail(error: StudioErrorData): void;
  reset(): void;
}

export const useJobStore = create<JobStore>()((set) => ({
  ...initialJobState(),
  starting: () => set(startingJob()),
  begin: (jobId) => set((s) => beginJob(s, jobId)),
  receive: (batch) => set((s) => receiveBatch(s, batch)),
  fail: (error) => set((s) => reduceJobEvents(s, [{ type: 'error', error }])),
  reset: () => set(initialJobState()),
}));
