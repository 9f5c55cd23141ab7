import { create } from 'zustand';
import { isFinalJobStatus, type JobEventBatch, type JobSnapshot } from '../../../shared/api.js';
import { STAGE_LABELS } from '../../../shared/events.js';
import { recordJobEvents } from '../../../shared/jobs.js';
import type { StudioClient } from '../api/client.js';
import { useJobStore, type JobState, type JobStatus, type StageStatus } from './job.js';
import { useWizardStore } from './wizard.js';
import { ATTACHED_JOB_KEY, sessionStore } from './persist.js';

/**
 * The host's job registry as the page sees it (the Jobs view), kept current from the event
 * stream, and the reattach logic: after a reload or in a second tab the wizard picks up the job
 * it was showing (or the newest running one) from the host's snapshot, not from page memory.
 */
export interface JobsState {
  jobs: Record<string, JobSnapshot>;
  /** listJobs has answered at least once. */
  loaded: boolean;
}

/** Fold one batch into the registry copy. Unknown jobs wait for their snapshot (returns null). */
export function applyBatch(jobs: Record<string, JobSnapshot>, batch: JobEventBatch): Record<string, JobSnapshot> | null {
  if (batch.snapshot) {
    const have = jobs[batch.jobId];
    if (have && have.seq > batch.snapshot.seq) return jobs;
    return { ...jobs, [batch.jobId]: structuredClone(batch.snapshot) };
  }
  const cur = jobs[batch.jobId];
  if (!cur) return null;
  if (batch.seq !== undefined && batch.seq <= cur.seq) return jobs;
  const next: JobSnapshot = { ...cur, stages: cur.stages.map((s) => ({ ...s })), log: cur.log.slice(), artifacts: cur.artifacts.slice() };
  recordJobEvents(next, batch.events);
  if (batch.state) {
    next.status = batch.state.status;
    next.gpu = batch.state.gpu;
    if (batch.state.waitingFor) next.waitingFor = batch.state.waitingFor;
    else delete next.waitingFor;
    if (next.status === 'starting' && next.startedAt === null) next.startedAt = Date.now();
    if (isFinalJobStatus(next.status) && next.endedAt === null) next.endedAt = Date.now();
  }
  if (batch.seq !== undefined) next.seq = batch.seq;
  return { ...jobs, [batch.jobId]: next };
}

interface JobsStore extends JobsState {
  receive(batch: JobEventBatch): boolean;
  loadedList(list: JobSnapshot[]): void;
  forget(ids: string[] | null): void;
}

export const useJobsStore = create<JobsStore>()((set, get) => ({
  jobs: {},
  loaded: false,
  receive: (batch) => {
    const next = applyBatch(get().jobs, batch);
    if (next === null) return false;
    if (next !== get().jobs) set({ jobs: next });
    return true;
  },
  loadedList: (list) =>
    set((s) => {
      const jobs: Record<string, JobSnapshot> = {};
      for (const j of list) {
        const have = s.jobs[j.jobId];
        jobs[j.jobId] = have && have.seq > j.seq ? have : j;
      }
      return { jobs, loaded: true };
    }),
  forget: (ids) =>
    set((s) => {
      const jobs = { ...s.jobs };
      for (const [id, j] of Object.entries(jobs)) if (isFinalJobStatus(j.status) && (ids === null || ids.includes(id))) delete jobs[id];
      return { jobs };
    }),
}));

/**
 * "waiting for GPU 0 (model.tlt)": the device a queued job waits for and the models of the jobs
 * holding it (those the registry knows). Shared by the Jobs view and the Run step.
 */
export function queuedText(gpu: number | 'cpu' | null, waitingFor: readonly string[], all: Record<string, JobSnapshot>): string {
  const w = waitingFor.map((id) => all[id]).filter((x): x is JobSnapshot => x !== undefined);
  const dev = gpu === 'cpu' ? 'a CPU slot' : gpu === null ? 'a free GPU' : `GPU ${gpu}`;
  return w.length ? `waiting for ${dev} (${w.map((x) => baseName(x.request.model)).join(', ')})` : `waiting for ${dev}`;
}

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

/** Jobs, oldest first. */
export function jobList(jobs: Record<string, JobSnapshot>): JobSnapshot[] {
  return Object.values(jobs).sort((a, b) => a.createdAt - b.createdAt);
}

const STATUS_MAP: Record<JobSnapshot['status'], JobStatus> = {
  queued: 'running',
  starting: 'running',
  running: 'running',
  cancelling: 'running',
  done: 'done',
  failed: 'failed',
  crashed: 'failed',
  cancelled: 'cancelled',
};

/** The wizard's Run/Results state rebuilt from the host's snapshot of a job. */
export function jobStateFromSnapshot(s: JobSnapshot): JobState {
  return {
    jobId: s.jobId,
    status: STATUS_MAP[s.status],
    stages: s.stages.map((st) => ({
      id: st.id,
      label: STAGE_LABELS[st.id],
      status: st.status as StageStatus,
      ...(st.detail !== undefined ? { detail: st.detail } : {}),
      ...(st.startedAt !== undefined ? { startedAt: st.startedAt } : {}),
      ...(st.endedAt !== undefined ? { endedAt: st.endedAt } : {}),
    })),
    progress: s.progress,
    log: s.log.map((l, i) => ({ seq: s.logDropped + i, level: l.level, text: l.text, time: l.time })),
    logDropped: s.logDropped,
    nextSeq: s.logDropped + s.log.length,
    artifacts: s.artifacts,
    report: s.report,
    error: s.error,
    queued: s.status === 'queued' ? { gpu: s.gpu, waitingFor: [...(s.waitingFor ?? [])] } : null,
    early: [],
  };
}

/** The seq of the last batch the wizard's job state holds, per job id. */
let attached: { jobId: string; seq: number } | null = null;

/** Show one job in the wizard's Run (or Results) step, from its snapshot. */
export function attachWizard(s: JobSnapshot): void {
  attached = { jobId: s.jobId, seq: s.seq };
  useJobStore.setState(jobStateFromSnapshot(s));
  sessionStore()?.setItem(ATTACHED_JOB_KEY, s.jobId);
  const w = useWizardStore.getState();
  w.goto('review');
  w.goto(s.status === 'done' ? 'results' : 'run');
}

/** Route a batch to the registry and to the wizard's job (skipping what a snapshot already holds). */
export function routeBatch(batch: JobEventBatch, refresh: () => void): void {
  if (!useJobsStore.getState().receive(batch)) refresh();
  const w = useJobStore.getState();
  if (w.jobId !== null && batch.jobId === w.jobId) {
    if (batch.snapshot) {
      if (attached?.jobId === batch.jobId && attached.seq > batch.snapshot.seq) return;
      attached = { jobId: batch.jobId, seq: batch.snapshot.seq };
      useJobStore.setState(jobStateFromSnapshot(batch.snapshot));
      return;
    }
    if (batch.seq !== undefined) {
      if (attached?.jobId === batch.jobId && batch.seq <= attached.seq) return;
      attached = { jobId: batch.jobId, seq: batch.seq };
    }
  }
  // State-only batches too: they say when the job is queued, for what, and when it leaves the queue.
  if (batch.events.length > 0 || batch.state) w.receive(batch);
}

/**
 * Subscribe to job events and reattach: ask the host for its jobs; the wizard shows the job this
 * tab was showing before a reload (sessionStorage), else the newest live one (a second tab).
 * Returns the unsubscribe function.
 */
export function startJobSync(client: StudioClient): () => void {
  let refreshing = false;
  let closed = false;
  const refresh = () => {
    if (refreshing || closed) return;
    refreshing = true;
    void client.api.listJobs().then((r) => {
      refreshing = false;
      if (closed || !r.ok) return;
      useJobsStore.getState().loadedList(r.value);
    });
  };
  const off = client.api.onJobEvents((b) => routeBatch(b, refresh));
  // The wizard's own job id, as soon as startExport answers (for the next reload).
  const offJob = useJobStore.subscribe((s, prev) => {
    if (s.jobId && s.jobId !== prev.jobId) sessionStore()?.setItem(ATTACHED_JOB_KEY, s.jobId);
  });
  void client.api.listJobs().then((r) => {
    if (closed || !r.ok) return;
    useJobsStore.getState().loadedList(r.value);
    if (useJobStore.getState().jobId !== null) return; // the user already started one here
    const list = jobList(useJobsStore.getState().jobs);
    const mine = sessionStore()?.getItem(ATTACHED_JOB_KEY);
    const pick = list.find((j) => j.jobId === mine) ?? [...list].reverse().find((j) => !isFinalJobStatus(j.status));
    if (pick) attachWizard(pick);
  });
  return () => {
    closed = true;
    off();
    offJob();
  };
}
