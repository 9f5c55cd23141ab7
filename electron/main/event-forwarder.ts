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
    // A batch without events still matters when it carries a queue-state change or a snapshot.
    if (batch.events.length === 0 && !batch.state && !batch.snapshot) return;
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

/**
 * One batch per job id, in order of first appearance, each job's events in arrival order; the
 * merged batch keeps the latest queue state and the latest seq. A snapshot batch (it replaces the
 * job's state in the page) is never merged with what comes before or after it.
 */
export function coalesce(batches: readonly JobEventBatch[]): JobEventBatch[] {
  const out: JobEventBatch[] = [];
  const open = new Map<string, JobEventBatch>();
  for (const b of batches) {
    const cur = open.get(b.jobId);
    if (cur && !b.snapshot) {
      cur.events.push(...b.events);
      if (b.state) cur.state = b.state;
      if (b.seq !== undefined) cur.seq = b.seq;
      continue;
    }
    const copy: JobEventBatch = { jobId: b.jobId, events: [...b.events], ...(b.state ? { state: b.state } : {}), ...(b.seq !== undefined ? { seq: b.seq } : {}), ...(b.snapshot ? { snapshot: b.snapshot } : {}) };
    out.push(copy);
    // The page replaces the job with a snapshot and reads no events from that batch: what follows stays apart.
    if (b.snapshot) open.delete(b.jobId);
    else open.set(b.jobId, copy);
  }
  return out;
}
