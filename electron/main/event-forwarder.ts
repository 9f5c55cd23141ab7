import type { JobEventBatch } from '../../shared/api.js';
import { JOB_EVENTS_CHANNEL } from '../../shared/ipc-channels.js';

/** The slice of WebContents the forwarder uses. */
export interface EventSink {
  send(channel: typeof JOB_EVENTS_CHANNEL, batch: JobEventBatch): void;
  isDestroyed(): boolean;
}

/**
 * Job events → the window with webContents.send, coalesced: batches arriving within
 * `intervalMs` are merged per job (order kept) and sent as one message per job, so a chatty job
 * costs the renderer at most one structured clone per job every interval. Nothing is dropped;
 * a destroyed window simply stops receiving.
 */
export class JobEventForwarder {
  private pending: JobEventBatch[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly sink: EventSink,
    private readonly intervalMs = 50,
  ) {}

  push(batch: JobEventBatch): void {
    if (batch.events.length === 0) return;
    this.pending.push(batch);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batches = coalesce(this.pending);
    this.pending = [];
    if (this.sink.isDestroyed()) return;
    for (const b of batches) this.sink.send(JOB_EVENTS_CHANNEL, b);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
  }
}

/** One batch per job id, in order of first appearance, each job's events in arrival order. */
export function coalesce(batches: readonly JobEventBatch[]): JobEventBatch[] {
  const byJob = new Map<string, JobEventBatch>();
  for (const b of batches) {
    const cur = byJob.get(b.jobId);
    if (cur) cur.events.push(...b.events);
    else byJob.set(b.jobId, { jobId: b.jobId, events: [...b.events] });
  }
  return [...byJob.values()];
}
