import { JOB_LOG_TAIL, type JobRequestSummary, type JobSnapshot } from './api.js';
import { STAGES, type JobEvent } from './events.js';

/** A fresh registry entry for a queued job (the host's JobManager and the demo client both use it). */
export function newSnapshot(jobId: string, request: JobRequestSummary, gpu: number | 'cpu' | null, now = Date.now()): JobSnapshot {
  return {
    jobId,
    seq: 0,
    status: 'queued',
    gpu,
    createdAt: now,
    startedAt: null,
    endedAt: null,
    request,
    stages: STAGES.map((s) => ({ id: s, status: 'pending' })),
    progress: null,
    log: [],
    logDropped: 0,
    artifacts: [],
    report: null,
    error: null,
  };
}

/** Fold events into a snapshot (the registry's copy of what the page shows). */
export function recordJobEvents(snap: JobSnapshot, events: readonly JobEvent[]): void {
  for (const e of events) {
    switch (e.type) {
      case 'stage': {
        const st = snap.stages.find((s) => s.id === e.stage);
        if (!st) break;
        if (e.status === 'started') {
          st.status = 'running';
          st.startedAt = e.time;
        } else {
          st.status = e.status;
          st.endedAt = e.time;
          if (snap.progress?.stage === e.stage) snap.progress = null;
        }
        if (e.detail) st.detail = e.detail;
        break;
      }
      case 'progress': {
        const { type: _t, ...p } = e;
        snap.progress = p;
        break;
      }
      case 'log':
        snap.log.push({ level: e.level, text: e.text, time: e.time });
        if (snap.log.length > JOB_LOG_TAIL) {
          const drop = snap.log.length - JOB_LOG_TAIL;
          snap.log.splice(0, drop);
          snap.logDropped += drop;
        }
        break;
      case 'artifact': {
        const a = { role: e.role, path: e.path, bytes: e.bytes, sha256: e.sha256 };
        const i = snap.artifacts.findIndex((x) => x.path === e.path);
        if (i >= 0) snap.artifacts[i] = a;
        else snap.artifacts.push(a);
        break;
      }
      case 'result':
        snap.report = e.report;
        snap.progress = null;
        break;
      case 'error': {
        snap.error = e.error;
        snap.progress = null;
        const to = e.error.code === 'E_CANCELLED' ? 'cancelled' : 'failed';
        for (const st of snap.stages) if (st.status === 'running') st.status = to;
        break;
      }
    }
  }
}

