import { randomBytes, createHash } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';

/**
 * Outputs are staged as hidden temp files beside their final path and renamed into place only
 * when the whole job succeeds (commit). A failed or cancelled job aborts: every temp file is
 * removed and any previous file at the final path is untouched. A lock file per final path
 * stops two jobs from writing the same output at once. A crashed job (SIGKILL) can leave temp
 * and lock files; they carry the owner's pid and are swept by `sweepStale` on the next run.
 */

const TEMP_TAG = '.export-studio-';

export interface StagedFile {
  /** Where the file will end up. */
  readonly finalPath: string;
  /** The hidden temp file being written. */
  readonly tempPath: string;
}

/**
 * A write stream to a staged temp file that hashes and counts what passes through it, so commit
 * need not read a large output back; `final` fsyncs before the stream reports 'finish'.
 */
export class HashingFileWriter extends Writable {
  readonly hash = createHash('sha256');
  bytes = 0;

  /** `path` is the final path, so that a write error (e.g. ENOSPC) names the file the user asked for. */
  constructor(
    private readonly fh: FileHandle,
    readonly path?: string,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.fh.write(chunk).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    const bufs = chunks.map((c) => c.chunk);
    for (const b of bufs) {
      this.hash.update(b);
      this.bytes += b.length;
    }
    this.fh.writev(bufs).then(() => cb(), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.fh.sync().then(() => this.fh.close()).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.fh.close().catch(() => undefined).then(() => cb(err));
  }
}

export interface CommittedFile {
  path: string;
  bytes: number;
  sha256: string;
}

export function mapWriteError(e: unknown, file: string): StudioError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StudioError('E_DISK_FULL', `No space left while writing ${file}`, 'Free disk space or choose another output folder; nothing was written.', { file }, { cause: e });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StudioError('E_OUTPUT_READONLY', `Cannot write ${file}: permission denied or read-only file system`, 'Choose an output folder you can write to.', { file }, { cause: e });
    case 'ENOENT':
    case 'ENOTDIR':
      return new StudioError('E_OUTPUT_WRITE', `Output folder does not exist: ${path.dirname(file)}`, 'Create the folder first or choose another output path.', { file }, { cause: e });
    case 'EISDIR':
      return new StudioError('E_OUTPUT_WRITE', `Output path is a directory: ${file}`, 'Give a file name, not a folder.', { file }, { cause: e });
    default:
      if (e instanceof StudioError) return e;
      return new StudioError('E_OUTPUT_WRITE', `Cannot write ${file}: ${(e as Error)?.message ?? String(e)}`, 'Check the output path and free space.', { file }, { cause: e });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The hidden temp name for a final path: `.<name>.export-studio-<pid>-<random>.tmp`, swept when <pid> is dead. */
export function tempNameFor(finalPath: string): string {
  const dir = path.dirname(finalPath);
  const base = path.basename(finalPath);
  return path.join(dir, `.${base}${TEMP_TAG}${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

function lockNameFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}${TEMP_TAG}lock`);
}

/** The pid of a live process (not this one) holding the lock on `finalPath`, or null. */
export async function lockOwner(finalPath: string): Promise<number | null> {
  const pid = Number((await fs.readFile(lockNameFor(path.resolve(finalPath)), 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : null;
}

/** Remove temp and lock files left by dead export-studio processes in a folder. */
export async function sweepStale(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith('.') || !name.includes(TEMP_TAG)) continue;
    const full = path.join(dir, name);
    let pid: number | undefined;
    const m = /\.export-studio-(\d+)-[0-9a-f]+\.tmp$/.exec(name);
    if (m) pid = Number(m[1]);
    else if (name.endsWith(`${TEMP_TAG}lock`)) {
      pid = Number((await fs.readFile(full, 'utf8').catch(() => '')).trim()) || undefined;
    }
    if (pid === undefined) continue; // not a name we make: leave it alone
    if (pid === process.pid || isAlive(pid)) continue;
    await fs.rm(full, { force: true });
    removed.push(full);
  }
  return removed;
}

export interface OutputSetOptions {
  /** Replace existing files (the CLI's --overwrite / -f). Default: refuse. */
  overwrite: boolean;
}

/** A set of outputs that appear together on commit or not at all. */
export class OutputSet {
  private readonly staged = new Map<string, StagedFile>();
  private readonly locks = new Set<string>();
  private readonly openStreams = new Set<HashingFileWriter>();
  /** Hashes known without re-reading (whole-buffer writes and finished streams). */
  private readonly knownHashes = new Map<string, { bytes: number; sha256: string }>();
  private done = false;

  constructor(private readonly options: OutputSetOptions) {}

  /** Check a final path is writable under the overwrite policy before any long work starts. */
  async preflight(finalPath: string): Promise<void> {
    const abs = path.resolve(finalPath);
    const st = await fs.stat(abs).catch(() => null);
    if (st?.isDirectory()) throw mapWriteError(Object.assign(new Error('is a directory'), { code: 'EISDIR' }), abs);
    if (st && !this.options.overwrite) {
      throw new StudioError('E_OUTPUT_EXISTS', `Output already exists: ${abs}`, 'Pass --overwrite (or -f) to replace it, or choose another output path. The existing file was left untouched.', { file: abs });
    }
    const dir = path.dirname(abs);
    const dst = await fs.stat(dir).catch(() => null);
    if (!dst) throw mapWriteError(Object.assign(new Error('no dir'), { code: 'ENOENT' }), abs);
    try {
      await fs.access(dir, fs.constants.W_OK);
    } catch (e) {
      throw mapWriteError(e, abs);
    }
  }

  /** Reserve a final path: preflight, sweep stale temps, take the lock. Returns the temp path to write. */
  async stage(finalPath: string): Promise<StagedFile> {
    if (this.done) throw new StudioError('E_INTERNAL', 'OutputSet used after commit/abort', 'This is a bug; please report it.');
    const abs = path.resolve(finalPath);
    const existing = this.staged.get(abs);
    if (existing) return existing;
    await this.preflight(abs);
    await sweepStale(path.dirname(abs));
    const lock = lockNameFor(abs);
    let created = false;
    try {
      const fh = await fs.open(lock, 'wx');
      created = true;
      try {
        await fh.writeFile(String(process.pid));
      } finally {
        await fh.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && !created) {
        throw new StudioError('E_OUTPUT_LOCKED', `Another export is writing ${abs}`, 'Wait for the other job to finish or choose another output path.', { file: abs });
      }
      // A lock we created but could not fill (disk full) has no pid: no sweep could ever remove it.
      if (created) await fs.rm(lock, { force: true });
      throw mapWriteError(e, abs);
    }
    this.locks.add(lock);
    const file: StagedFile = { finalPath: abs, tempPath: tempNameFor(abs) };
    this.staged.set(abs, file);
    return file;
  }

  /** Stage and write a whole buffer/string. */
  async write(finalPath: string, data: string | Uint8Array): Promise<StagedFile> {
    const f = await this.stage(finalPath);
    try {
      const fh = await fs.open(f.tempPath, 'wx', 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      this.knownHashes.set(f.tempPath, { bytes, sha256: createHash('sha256').update(data).digest('hex') });
    } catch (e) {
      await fs.rm(f.tempPath, { force: true });
      throw mapWriteError(e, f.finalPath);
    }
    return f;
  }

  /** Stage a file and open a hashing write stream to its temp path (for large streamed outputs). */
  async createWriteStream(finalPath: string): Promise<{ file: StagedFile; stream: HashingFileWriter }> {
    const file = await this.stage(finalPath);
    let fh: FileHandle;
    try {
      fh = await fs.open(file.tempPath, 'wx', 0o644);
    } catch (e) {
      throw mapWriteError(e, file.finalPath);
    }
    const stream = new HashingFileWriter(fh, file.finalPath);
    this.openStreams.add(stream);
    stream.on('finish', () => this.knownHashes.set(file.tempPath, { bytes: stream.bytes, sha256: stream.hash.digest('hex') }));
    stream.on('close', () => this.openStreams.delete(stream));
    return { file, stream };
  }

  /** Paths staged so far (final paths). */
  get finalPaths(): string[] {
    return [...this.staged.keys()];
  }

  /** Rename every staged file into place. If any rename fails, the ones done so far stay (each is whole). */
  async commit(): Promise<CommittedFile[]> {
    if (this.done) throw new StudioError('E_INTERNAL', 'OutputSet committed twice', 'This is a bug; please report it.');
    const out: CommittedFile[] = [];
    try {
      for (const f of this.staged.values()) {
        const { bytes, sha256 } = this.knownHashes.get(f.tempPath) ?? (await hashFile(f.tempPath));
        if (!this.options.overwrite) {
          // Someone may have created the file since preflight: never clobber silently.
          const exists = await fs.stat(f.finalPath).then(() => true, () => false);
          if (exists) throw new StudioError('E_OUTPUT_EXISTS', `Output appeared while the job ran: ${f.finalPath}`, 'Pass --overwrite to replace it, or choose another path.', { file: f.finalPath });
        }
        try {
          await fs.rename(f.tempPath, f.finalPath);
        } catch (e) {
          throw mapWriteError(e, f.finalPath);
        }
        out.push({ path: f.finalPath, bytes, sha256 });
      }
    } catch (e) {
      await this.abort();
      throw e;
    }
    this.done = true;
    await this.releaseLocks();
    return out;
  }

  /** Remove every temp file and lock; final paths are untouched. Safe to call twice. */
  async abort(): Promise<void> {
    for (const s of this.openStreams) s.destroy();
    this.openStreams.clear();
    for (const f of this.staged.values()) await fs.rm(f.tempPath, { force: true });
    this.done = true;
    await this.releaseLocks();
  }

  private async releaseLocks(): Promise<void> {
    for (const l of this.locks) await fs.rm(l, { force: true });
    this.locks.clear();
  }
}

/** Stream a file through SHA-256 (constant memory). */
export async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { bytes, sha256: h.digest('hex') };
}
