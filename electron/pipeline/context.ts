import type { EventSink, JobEvent, LogLevel, StageId } from '../../shared/events.js';
import { cancelledError } from './cancel.js';
import { redact } from '../../shared/redact.js';

/**
 * What every pipeline step gets: logging (redacted), progress (rate-limited), stage events and
 * cancellation. Redaction happens here, once, so no step can leak a key into an event.
 */
export class JobContext {
  private readonly secrets: string[];
  private lastProgressAt = 0;
  private pendingProgress: Extract<JobEvent, { type: 'progress' }> | null = null;
  /** When the pending event was computed: its ETA is aged by the time it waited. */
  private pendingAt = 0;
  private progressTimer: NodeJS.Timeout | null = null;
  private readonly rate = new RateMeter();
  readonly warnings: string[] = [];

  constructor(
    private readonly sink: EventSink,
    readonly signal: AbortSignal,
    secrets: readonly string[],
    private readonly options: { progressIntervalMs?: number; now?: () => number } = {},
  ) {
    this.secrets = secrets.filter((s) => s.length > 0);
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  /** Remove secrets from any text that leaves the pipeline. */
  clean(text: string): string {
    return redact(text, this.secrets);
  }

  emit(event: JobEvent): void {
    if (event.type === 'log') {
      this.sink({ ...event, text: this.clean(event.text) });
    } else if (event.type === 'stage' && event.detail !== undefined) {
      this.sink({ ...event, detail: this.clean(event.detail) });
    } else if (event.type === 'error') {
      const e = event.error;
      this.sink({
        type: 'error',
        error: { ...e, message: this.clean(e.message), hint: this.clean(e.hint), ...(e.excerpt ? { excerpt: this.clean(e.excerpt) } : {}) },
      });
    } else {
      this.sink(event);
    }
  }

  /**
   * Log text that was built with the key already masked (the equivalent command): it is not
   * redacted again, so a key that happens to equal a word of it ("export", a folder name) does
   * not blank that word out.
   */
  infoMasked(text: string): void {
    this.sink({ type: 'log', level: 'info', text, time: this.now() });
  }

  log(level: LogLevel, text: string): void {
    if (level === 'warn') this.warnings.push(this.clean(text));
    this.emit({ type: 'log', level, text, time: this.now() });
  }
  debug(text: string): void {
    this.log('debug', text);
  }
  info(text: string): void {
    this.log('info', text);
  }
  warn(text: string): void {
    this.log('warn', text);
  }

  stage(stage: StageId, status: 'started' | 'done' | 'skipped', detail?: string, alert?: boolean): void {
    if (status === 'started') this.rate.reset();
    this.flushProgress();
    this.emit({ type: 'stage', stage, status, time: this.now(), ...(detail !== undefined ? { detail } : {}), ...(alert ? { alert: true } : {}) });
  }

  /**
   * Report progress. Events are rate-limited (default 10/s) so a fast loop cannot flood a
   * renderer; the last value of a burst is delivered by a trailing timer, and done === total
   * always goes out at once. The ETA is the smoothed rate's unless the step planned its own
   * (`planned`: a StagePlan's, in seconds; then no rate is shown, the units being uneven).
   */
  progress(stage: StageId, done: number, total: number, unit: string, planned?: { eta?: number }): void {
    const t = this.now();
    let rate: number | undefined;
    let eta: number | undefined;
    if (planned) eta = planned.eta;
    else {
      this.rate.add(t, done);
      rate = this.rate.perSecond();
      eta = rate !== undefined && rate > 0 ? Math.max(0, (total - done) / rate) : undefined;
    }
    const ev: Extract<JobEvent, { type: 'progress' }> = {
      type: 'progress',
      stage,
      done,
      total,
      unit,
      ...(rate !== undefined ? { rate } : {}),
      ...(eta !== undefined ? { eta } : {}),
    };
    const interval = this.options.progressIntervalMs ?? 100;
    if (done >= total || t - this.lastProgressAt >= interval) {
      this.pendingProgress = null;
      if (this.progressTimer) {
        clearTimeout(this.progressTimer);
        this.progressTimer = null;
      }
      this.lastProgressAt = t;
      this.emit(ev);
      return;
    }
    this.pendingProgress = ev;
    this.pendingAt = t;
    if (!this.progressTimer) {
      this.progressTimer = setTimeout(() => {
        this.progressTimer = null;
        this.flushProgress();
      }, interval - (t - this.lastProgressAt));
      this.progressTimer.unref?.();
    }
  }

  flushProgress(): void {
    if (this.progressTimer) {
      clearTimeout(this.progressTimer);
      this.progressTimer = null;
    }
    if (this.pendingProgress) {
      const now = this.now();
      // Delivered late (a long synchronous run held the thread): the ETA counts the wait down.
      const ev = this.pendingProgress.eta !== undefined ? { ...this.pendingProgress, eta: Math.max(0, this.pendingProgress.eta - (now - this.pendingAt) / 1000) } : this.pendingProgress;
      this.pendingProgress = null;
      this.lastProgressAt = now;
      this.emit(ev);
    }
  }

  /** Throw E_CANCELLED if the job was cancelled. Call between units of work. */
  checkCancelled(): void {
    if (this.signal.aborted) throw cancelledError();
  }
}


/** Exponentially smoothed rate over progress samples. */
class RateMeter {
  private lastT: number | undefined;
  private lastDone = 0;
  private smoothed: number | undefined;

  reset(): void {
    this.lastT = undefined;
    this.lastDone = 0;
    this.smoothed = undefined;
  }

  add(t: number, done: number): void {
    if (this.lastT === undefined) {
      this.lastT = t;
      this.lastDone = done;
      return;
    }
    const dt = (t - this.lastT) / 1000;
    if (dt < 0.05) return;
    const inst = (done - this.lastDone) / dt;
    this.smoothed = this.smoothed === undefined ? inst : 0.7 * this.smoothed + 0.3 * inst;
    this.lastT = t;
    this.lastDone = done;
  }

  perSecond(): number | undefined {
    return this.smoothed;
  }
}
