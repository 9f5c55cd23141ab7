import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { JobEvent } from '../../../shared/events.js';
import { formatError, StudioError } from '../../../shared/errors.js';
import { acquireLock, checkOutputTarget, mapWriteError, tempNameFor } from './outputs.js';

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

/** The start of every line we write: `2026-01-02 03:04:05.678 [`. */
const LOG_LINE_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[[A-Z]+\] /;

/** True when the file is empty or starts like a log this tool wrote (the only files a log is appended to). */
export async function looksLikeOurLog(file: string): Promise<boolean> {
  const fh = await fsp.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === 0 || LOG_LINE_RE.test(buf.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await fh.close();
  }
}

export type LogMode = 'create' | 'append' | 'replace';

/**
 * Decide how the log file is written, refusing what must never be touched: a folder, a FIFO or
 * device, a symbolic link, or an existing file that is not a log of ours (unless --overwrite).
 * Collisions with inputs and other outputs are checked by the caller (`checkPathCollisions`).
 */
export async function planLogFile(file: string, overwrite: boolean): Promise<LogMode> {
  const abs = path.resolve(file);
  // Same rules as any output, except that an existing log of ours is appended to (TAO's behaviour).
  const st = await fsp.lstat(abs).catch(() => null);
  if (st?.isFile() && (await looksLikeOurLog(abs).catch(() => false))) {
    await checkOutputTarget(abs, true);
    return 'append';
  }
  try {
    await checkOutputTarget(abs, overwrite);
  } catch (e) {
    if (e instanceof StudioError && e.code === 'E_OUTPUT_EXISTS') {
      throw new StudioError('E_OUTPUT_EXISTS', `--log_file exists and is not an Export Studio log: ${abs}`, 'Logs are appended only to an earlier Export Studio log. Choose another --log_file, or pass --overwrite to replace that file.', { file: abs });
    }
    throw e;
  }
  return st ? 'replace' : 'create';
}

/**
 * The job log. Unlike outputs it is kept when the job fails (that is when it is needed most).
 * It is written to a hidden temp file and put in place when the job ends, so a reader never sees
 * half a log; an existing log of ours is appended to, as TAO's --log_file redirection does. The
 * log path is locked like an output. A write error (disk full) stops the log, never the job:
 * `close()` then removes the temp and returns a warning.
 */
export class LogFile {
  private fd: number | null;
  private closed = false;
  private failure: StudioError | null = null;

  private constructor(
    readonly file: string,
    private readonly tmp: string,
    fd: number,
    private readonly mode: LogMode,
    private readonly lock: string,
  ) {
    this.fd = fd;
  }

  static async open(file: string, overwrite: boolean): Promise<LogFile> {
    const abs = path.resolve(file);
    const mode = await planLogFile(abs, overwrite);
    const lock = await acquireLock(abs);
    const tmp = tempNameFor(abs);
    try {
      const fd = fs.openSync(tmp, 'wx', 0o644);
      return new LogFile(abs, tmp, fd, mode, lock);
    } catch (e) {
      await fsp.rm(lock, { force: true });
      throw mapWriteError(e, abs);
    }
  }

  /** Why the log stopped, if it did. */
  get error(): StudioError | null {
    return this.failure;
  }

  write(e: JobEvent): void {
    if (this.closed || this.fd === null) return;
    const line = formatLogLine(e);
    if (line === null) return;
    try {
      const buf = Buffer.from(line + '\n');
      let off = 0;
      while (off < buf.length) {
        const n = fs.writeSync(this.fd, buf, off, buf.length - off);
        if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
        off += n;
      }
    } catch (err) {
      this.failure = mapWriteError(err, this.file);
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  /** Drop the log without touching its target (it turned out to be an input). */
  async discard(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    await fsp.rm(this.tmp, { force: true });
    await fsp.rm(this.lock, { force: true });
  }

  /** Put the log in place. Returns a warning text when it could not be (the temp is removed then). */
  async close(): Promise<string | null> {
    if (this.closed) return null;
    this.closed = true;
    let tmp2: string | null = null;
    try {
      if (this.failure) throw this.failure;
      const fd = this.fd as number;
      this.fd = null;
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      const now = await fsp.lstat(this.file).catch(() => null);
      if (this.mode === 'append' && now?.isFile()) {
        // previous log + this run's lines, into a second temp, then one rename.
        tmp2 = tempNameFor(this.file);
        await fsp.copyFile(this.file, tmp2, fs.constants.COPYFILE_EXCL);
        const out = await fsp.open(tmp2, 'a');
        try {
          const data = await fsp.readFile(this.tmp);
          await out.appendFile(data);
          await out.sync();
        } finally {
          await out.close();
        }
        await fsp.rename(tmp2, this.file);
        tmp2 = null;
        await fsp.rm(this.tmp, { force: true });
      } else if (this.mode === 'replace') {
        if (now && !now.isFile()) throw new StudioError('E_OUTPUT_WRITE', `--log_file became a special file while the job ran: ${this.file}`, 'Choose a regular file.', { file: this.file });
        await fsp.rename(this.tmp, this.file);
      } else {
        await fsp.link(this.tmp, this.file); // never clobber a file that appeared meanwhile
        await fsp.rm(this.tmp, { force: true });
      }
      return null;
    } catch (e) {
      const err = mapWriteError(e, this.file);
      await fsp.rm(this.tmp, { force: true }).catch(() => undefined);
      if (tmp2) await fsp.rm(tmp2, { force: true }).catch(() => undefined);
      return `The log could not be written to ${this.file} (${err.code}): ${err.message}. The export itself is not affected.`;
    } finally {
      if (this.fd !== null) fs.closeSync(this.fd);
      await fsp.rm(this.lock, { force: true }).catch(() => undefined);
    }
  }
}
