import type { JobEvent } from '../../shared/events.js';

/**
 * Collects a job's events and hands them out in batches every `intervalMs` (default 50 ms), so a
 * fast job sends at most ~20 messages a second whatever it logs. Within a batch only the latest
 * progress event of each stage is kept; every other event is kept in order. A batch that reaches
 * `maxBatch` events goes out at once (bounded memory for a log flood).
 */
export class EventBatcher {
  private queue: JobEvent[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (events: JobEvent[]) => void,
    private readonly intervalMs = 50,
    private readonly maxBatch = 500,
  ) {}

  push(event: JobEvent): void {
    if (event.type === 'progress') {
      const i = this.queue.findIndex((e) => e.type === 'progress' && e.stage === event.stage);
      if (i >= 0) this.queue.splice(i, 1);
    }
    this.queue.push(event);
    if (this.queue.length >= this.maxBatch) {
      this.flush();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.intervalMs);
      this.timer.unref?.();
    }
  }

  /** Send what is queued now (before `done`, before a test-hook crash). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.send(batch);
  }
}
