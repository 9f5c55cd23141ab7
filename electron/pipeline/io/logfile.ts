import fs from 'node:fs';
import path from 'node:path';
import type { JobEvent } from '../../../shared/events.js';
import { formatError } from '../../../shared/errors.js';
import { mapWriteError, tempNameFor } from './outputs.js';

/** One line of the full log (--log_file), timestamped like TAO's Python logging. */
export function formatLogLine(e: JobEvent): string | null {
  const ts = (t: number) => new Date(t).toISOString().replace('T', ' ').replace('Z', '');
  switch (e.type) {
    case 'log':
      return `${ts(e.time)} [${e.level.toUpperCase()}] ${e.text}`;
    case 'stage':
      return `${ts(e.time)} [STAGE] ${e.stage} ${e.status}${e.detail ? `: ${e.detail}` : ''}`;
    case 'artifact':
      return `${ts(Date.now())} [ARTIFACT] ${e.role} ${e.path} (${e.bytes} bytes, sha256 ${e.sha256})`;
    case 'error':
      return `${ts(Date.now())} [ERROR] ${formatError(e.error).replace(/\n/g, '\n    ')}`;
    case 'progress':
    case 'result':
      return null;
  }
}

/**
 * The job log. Unlike outputs it is kept when the job fails (that is when it is needed most),
 * but it is still written to a temp file and renamed, so a reader never sees half a log; an
 * existing log file is appended to, as TAO's --log_file redirection does.
 */
export class LogFile {
  private readonly tmp: string;
  private readonly fd: number;
  private closed = false;

  private constructor(readonly file: string) {
    this.tmp = tempNameFor(file);
    this.fd = fs.openSync(this.tmp, 'w', 0o600);
  }

  static open(file: string): LogFile {
    const abs = path.resolve(file);
    try {
      return new LogFile(abs);
    } catch (e) {
      throw mapWriteError(e, abs);
    }
  }

  write(e: JobEvent): void {
    if (this.closed) return;
    const line = formatLogLine(e);
    if (line !== null) fs.writeSync(this.fd, line + '\n');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    const previous = fs.existsSync(this.file) ? fs.readFileSync(this.file) : null;
    if (previous) {
      const combined = Buffer.concat([previous, fs.readFileSync(this.tmp)]);
      fs.writeFileSync(this.tmp, combined);
    }
    fs.renameSync(this.tmp, this.file);
  }
}
