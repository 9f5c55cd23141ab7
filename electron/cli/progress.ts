import type { JobEvent } from '../../shared/events.js';
import { STAGE_LABELS } from '../../shared/events.js';
import { formatDuration, formatBytes } from '../../shared/format.js';
import { formatError } from '../../shared/errors.js';

export interface ConsoleOptions {
  /** Render a live progress bar (stderr is a TTY). */
  tty: boolean;
  verbose: boolean;
  /** Terminal width for the bar line. */
  columns?: number;
  write: (text: string) => void;
}

/**
 * Turns JobEvents into terminal output: one redrawn status line on a TTY, plain timestamped
 * lines otherwise (CI logs, `| tee`), so progress never floods a log file with carriage returns.
 */
export class ConsoleRenderer {
  private statusShown = false;
  private lastPlainPct = new Map<string, number>();

  constructor(private readonly o: ConsoleOptions) {}

  private clearStatus(): void {
    if (this.statusShown) {
      this.o.write('\r\x1b[2K');
      this.statusShown = false;
    }
  }

  private line(text: string): void {
    this.clearStatus();
    this.o.write(text + '\n');
  }

  handle(e: JobEvent): void {
    switch (e.type) {
      case 'log':
        if (e.level === 'debug' && !this.o.verbose) return;
        this.line(e.level === 'info' ? e.text : `${e.level.toUpperCase()}: ${e.text}`);
        return;
      case 'stage':
        if (e.status === 'started') this.line(`▶ ${STAGE_LABELS[e.stage]}`);
        else if (e.status === 'done') this.line(`${e.alert ? '✖' : '✔'} ${STAGE_LABELS[e.stage]}${e.detail ? ` — ${e.detail}` : ''}`);
        else if (e.detail) this.line(`· ${STAGE_LABELS[e.stage]} skipped (${e.detail})`);
        return;
      case 'progress': {
        const pct = e.total > 0 ? Math.min(100, (100 * e.done) / e.total) : 0;
        const rate = e.rate !== undefined ? ` ${e.rate.toFixed(e.rate < 10 ? 1 : 0)} ${e.unit}/s` : '';
        const eta = e.eta !== undefined ? ` ETA ${formatDuration(e.eta)}` : '';
        // A stage planned in seconds of work (INT8 check and search) reports a percentage.
        const amount = e.unit === '%' ? `${e.done} %` : `${e.done}/${e.total} ${e.unit}`;
        if (this.o.tty) {
          const width = Math.max(10, Math.min(40, (this.o.columns ?? 80) - 50));
          const filled = Math.round((pct / 100) * width);
          const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
          this.o.write(`\r\x1b[2K  ${bar} ${amount}${rate}${eta}`);
          this.statusShown = true;
        } else {
          // Plain mode: a line every 10 %.
          const step = Math.floor(pct / 10);
          const key = `${e.stage}`;
          if ((this.lastPlainPct.get(key) ?? -1) < step || e.done === e.total) {
            this.lastPlainPct.set(key, step);
            this.line(`  ${amount}${e.unit === '%' ? '' : ` (${pct.toFixed(0)}%)`}${rate}${eta}`);
          }
        }
        return;
      }
      case 'artifact':
        this.line(`  wrote ${e.role.padEnd(18)} ${e.path} (${formatBytes(e.bytes)})`);
        return;
      case 'error':
        this.line(formatError(e.error));
        return;
      case 'result':
        this.clearStatus();
        return;
    }
  }
}
