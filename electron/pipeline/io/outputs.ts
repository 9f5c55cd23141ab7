import { randomBytes, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';

/**
 * Outputs are staged as hidden temp files beside their final path and put into place only when
 * the whole job succeeds (commit). A failed or cancelled job aborts: every temp file is removed
 * and any previous file at the final path is untouched. A lock file per final path, taken when
 * the job plans its outputs, stops two jobs from writing the same output at once.
 *
 * Commit is all-or-nothing across every file of the job:
 * 1. a journal naming every (temp, final, backup) triple is written and fsynced;
 * 2. each temp is linked into place with no-clobber semantics (`link()` fails with EEXIST, so a
 *    file created after the existence check is never replaced), or — under `--overwrite` — the
 *    existing file is first hard-linked to a hidden backup and the temp renamed over it;
 * 3. after the last one the folders are fsynced and the journal marked committed; backups and
 *    the temps' second links go, then the journal.
 * A failure at any point rolls back what was done (backups renamed back, our new links removed).
 * A process killed mid-commit leaves the journal; `sweepStale` (next run, or the host after a
 * crash) rolls the set back the same way. Temp, lock and journal names carry the owner's pid.
 */

const TEMP_TAG = '.export-studio-';
/** Longest part of a final name kept in its temp/lock names (NAME_MAX is 255 bytes on Linux). */
const NAME_KEEP = 120;
const NAME_MAX = 255;
/** A lock without a pid older than this is a lock whose creator died before writing it. */
const EMPTY_LOCK_STALE_MS = 5_000;

export interface StagedFile {
  /** Where the file will end up. */
  readonly finalPath: string;
  /** The hidden temp file being written. */
  readonly tempPath: string;
}

/** Write all of `buf` at the current position, looping over short writes. */
export async function writeFully(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.byteLength) {
    const { bytesWritten } = await fh.write(buf, off, buf.byteLength - off, null);
    if (bytesWritten <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
    off += bytesWritten;
  }
}

/**
 * A write stream to a staged temp file that hashes and counts what passes through it, so commit
 * need not read a large output back; `final` fsyncs before the stream reports 'finish'. Short
 * writes are continued, never dropped.
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
    writeFully(this.fh, chunk).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    const bufs = chunks.map((c) => c.chunk);
    for (const b of bufs) {
      this.hash.update(b);
      this.bytes += b.length;
    }
    writeFully(this.fh, Buffer.concat(bufs)).then(() => cb(), cb);
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
    case 'ENAMETOOLONG':
      return new StudioError('E_OUTPUT_WRITE', `Output file name is too long for the file system: ${file}`, `Use a name of at most ${NAME_MAX} bytes.`, { file }, { cause: e });
    case 'EEXIST':
      return new StudioError('E_OUTPUT_EXISTS', `Output appeared while the job ran: ${file}`, 'Pass --overwrite to replace it, or choose another path. The file was left untouched.', { file }, { cause: e });
    default:
      if (e instanceof StudioError) return e;
      return new StudioError('E_OUTPUT_WRITE', `Cannot write ${file}: ${(e as Error)?.message ?? String(e)}`, 'Check the output path and free space.', { file }, { cause: e });
  }
}

/** The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22); undefined where unknown. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

let ownStart: string | undefined | null = null;
/** `<pid> <start time>`: who owns a lock, robust against pid reuse. */
function ownerTag(): string {
  if (ownStart === null) ownStart = processStartTime(process.pid);
  return ownStart === undefined ? String(process.pid) : `${process.pid} ${ownStart}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the process that wrote `tag` (`<pid>[ <start>]`) is gone (dead, or its pid reused). */
export function ownerGone(tag: string): boolean {
  const [pidText, start] = tag.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return start !== undefined && ownStart !== null && ownStart !== undefined && start !== ownStart;
  if (!isAlive(pid)) return true;
  if (start === undefined) return false;
  const now = processStartTime(pid);
  return now !== undefined && now !== start;
}

/** A final name's base shortened so that our hidden names stay within NAME_MAX. */
function shortBase(finalPath: string): string {
  const base = path.basename(finalPath);
  if (Buffer.byteLength(base) <= NAME_KEEP) return base;
  const h = createHash('sha256').update(base).digest('hex').slice(0, 8);
  let cut = base.slice(0, NAME_KEEP);
  while (Buffer.byteLength(cut) > NAME_KEEP) cut = cut.slice(0, -1);
  return `${cut}~${h}`;
}

/** The hidden temp name for a final path: `.<name>.export-studio-<pid>-<random>.tmp`, swept when <pid> is dead. */
export function tempNameFor(finalPath: string, ext: 'tmp' | 'bak' = 'tmp'): string {
  return path.join(path.dirname(finalPath), `.${shortBase(finalPath)}${TEMP_TAG}${process.pid}-${randomBytes(4).toString('hex')}.${ext}`);
}

export function lockNameFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${shortBase(finalPath)}${TEMP_TAG}lock`);
}

const JOURNAL_RE = /^\.export-studio-(\d+)-[0-9a-f]+\.journal$/;

interface JournalEntry {
  final: string;
  temp: string;
  backup: string | null;
  ino: number;
  dev: number;
  /** Size and SHA-256 of the file placed (journals written since issue 11 carry them). */
  bytes?: number;
  sha256?: string;
}
interface Journal {
  owner: string;
  state: 'committing' | 'committed';
  entries: JournalEntry[];
  /** With keepCommittedJournals: what the job would have reported (its caller's `record`). */
  record?: unknown;
}

let keepJournals = false;

/**
 * Process-wide (a worker process of the JobManager turns it on): a commit that completes keeps its
 * journal, marked committed and carrying the caller's `record` (the job's report), instead of
 * removing it. If the process then dies before its result reaches the host, the host reads what
 * is really on disk from it (`recoverCommitsOf`) and removes it; otherwise the host's sweep after
 * the worker exits removes it (any later `sweepStale` would too: its owner is dead).
 */
export function keepCommittedJournals(on: boolean): void {
  keepJournals = on;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r').catch(() => null);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // some file systems refuse fsync on a directory; the renames are still ordered by the kernel
  } finally {
    await fh.close();
  }
}

async function writeJournal(file: string, j: Journal): Promise<void> {
  const fh = await fs.open(file, 'w', 0o600);
  try {
    await writeFully(fh, Buffer.from(JSON.stringify(j)));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(path.dirname(file));
}

/** Undo the done part of a commit: old files back from their backups, our new links removed. */
async function rollBack(entries: readonly JournalEntry[]): Promise<string[]> {
  const problems: string[] = [];
  for (const e of [...entries].reverse()) {
    try {
      const backupExists = e.backup !== null && (await fs.lstat(e.backup).then(() => true, () => false));
      if (e.backup !== null && backupExists) {
        await fs.rename(e.backup, e.final);
      } else {
        const st = await fs.lstat(e.final).catch(() => null);
        if (st && st.ino === e.ino && st.dev === e.dev) await fs.unlink(e.final);
      }
    } catch (err) {
      problems.push(`${e.final}: ${(err as Error).message}`);
    }
    await fs.rm(e.temp, { force: true });
  }
  for (const d of new Set(entries.map((e) => path.dirname(e.final)))) await fsyncDir(d);
  return problems;
}

/** Finish or undo the commit of a dead process from its journal. Returns the paths it removed or restored. */
async function recoverJournal(file: string): Promise<string[]> {
  let j: Journal;
  try {
    j = JSON.parse(await fs.readFile(file, 'utf8')) as Journal;
  } catch {
    await fs.rm(file, { force: true });
    return [file];
  }
  const touched: string[] = [];
  if (j.state === 'committed') {
    for (const e of j.entries) {
      if (e.backup) await fs.rm(e.backup, { force: true });
      await fs.rm(e.temp, { force: true });
    }
  } else {
    await rollBack(j.entries);
    touched.push(...j.entries.map((e) => e.final));
  }
  await fs.rm(file, { force: true });
  touched.push(file);
  return touched;
}

/** What a dead process's commit left on disk, read from its journal (then recovered and removed). */
export interface CommitRecovery {
  journal: string;
  /** committed: every file is in place (the journal said so); committing: it died midway and was rolled back. */
  state: 'committed' | 'committing';
  /** committed: each file, `onDisk` when the final path still is the file that was placed (same inode and size). */
  files: { path: string; bytes: number | null; sha256: string | null; onDisk: boolean }[];
  /** The caller's record (the job's report), when the journal was kept with one. */
  record?: unknown;
  /** committing: files the rollback could not restore (check by hand). */
  problems: string[];
}

/**
 * The journals in `dir` of the dead process `pid`: read what its commit did, then apply the
 * journal's rule (committed → leftover backups and temps removed, the files stay; committing →
 * rolled back: the placed files removed, the previous ones restored) and remove the journal.
 * A journal whose owner still runs is left alone.
 */
export async function recoverCommitsOf(dir: string, pid: number): Promise<CommitRecovery[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const out: CommitRecovery[] = [];
  for (const name of names) {
    const m = JOURNAL_RE.exec(name);
    if (!m || Number(m[1]) !== pid) continue;
    const file = path.join(dir, name);
    let j: Journal;
    try {
      j = JSON.parse(await fs.readFile(file, 'utf8')) as Journal;
    } catch {
      continue; // unreadable: sweepStale removes it
    }
    if (!ownerGone(j.owner)) continue;
    if (j.state === 'committed') {
      const files: CommitRecovery['files'] = [];
      for (const e of j.entries) {
        const st = await fs.lstat(e.final).catch(() => null);
        const onDisk = !!st && st.isFile() && st.ino === e.ino && st.dev === e.dev && (e.bytes === undefined || st.size === e.bytes);
        files.push({ path: e.final, bytes: e.bytes ?? st?.size ?? null, sha256: e.sha256 ?? null, onDisk });
      }
      await recoverJournal(file);
      out.push({ journal: file, state: 'committed', files, ...(j.record !== undefined ? { record: j.record } : {}), problems: [] });
    } else {
      const problems = await rollBack(j.entries);
      await fs.rm(file, { force: true });
      out.push({ journal: file, state: 'committing', files: j.entries.map((e) => ({ path: e.final, bytes: e.bytes ?? null, sha256: e.sha256 ?? null, onDisk: false })), problems });
    }
  }
  return out;
}

/** The pid of a live process (not this one) holding the lock on `finalPath`, or null (a stale lock — dead or reused pid — has no owner). */
export async function lockOwner(finalPath: string): Promise<number | null> {
  const tag = (await fs.readFile(lockNameFor(path.resolve(finalPath)), 'utf8').catch(() => '')).trim();
  const pid = Number(tag.split(/\s+/)[0]);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !ownerGone(tag) ? pid : null;
}

/** Remove temp and lock files left by dead export-studio processes in a folder; roll back their half-done commits. */
export async function sweepStale(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return removed;
  }
  // Journals first: a rollback needs the temps and backups they name.
  for (const name of names) {
    const m = JOURNAL_RE.exec(name);
    if (!m) continue;
    const full = path.join(dir, name);
    const owner = await fs.readFile(full, 'utf8').then((t) => (JSON.parse(t) as Journal).owner, () => m[1] as string);
    if (!ownerGone(owner)) continue;
    removed.push(...(await recoverJournal(full)));
  }
  for (const name of names) {
    if (!name.startsWith('.') || !name.includes(TEMP_TAG)) continue;
    const full = path.join(dir, name);
    const m = /\.export-studio-(\d+)-[0-9a-f]+\.tmp$/.exec(name);
    if (m) {
      if (ownerGone(m[1] as string)) {
        if (await fs.rm(full).then(() => true, () => false)) removed.push(full);
      }
    } else if (name.endsWith(`${TEMP_TAG}lock`)) {
      if (await lockIsStale(full)) {
        await fs.rm(full, { force: true });
        removed.push(full);
      }
    }
  }
  return removed;
}

async function lockIsStale(lock: string): Promise<boolean> {
  const st = await fs.stat(lock).catch(() => null);
  if (!st) return false;
  const text = (await fs.readFile(lock, 'utf8').catch(() => '')).trim();
  if (text === '') return Date.now() - st.mtimeMs > EMPTY_LOCK_STALE_MS;
  return ownerGone(text);
}

/** Take the lock of a final path (`wx`; a stale lock — dead owner, reused pid, empty and old — is replaced). */
export async function acquireLock(finalPath: string): Promise<string> {
  const lock = lockNameFor(finalPath);
  for (let attempt = 0; ; attempt++) {
    let fh: FileHandle;
    try {
      fh = await fs.open(lock, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw mapWriteError(e, finalPath);
      if (attempt === 0 && (await lockIsStale(lock))) {
        await fs.rm(lock, { force: true });
        continue;
      }
      const holder = (await fs.readFile(lock, 'utf8').catch(() => '')).trim().split(/\s+/)[0] || 'unknown';
      throw new StudioError(
        'E_OUTPUT_LOCKED',
        `Another export (pid ${holder}) is writing ${finalPath}`,
        `Wait for it to finish or choose another output path. If no export is running, delete the lock file ${lock}.`,
        { file: finalPath },
        { details: { lock, holder } },
      );
    }
    try {
      await writeFully(fh, Buffer.from(ownerTag() + '\n'));
      await fh.close();
    } catch (e) {
      // A lock we created but could not fill (disk full) has no pid: remove it now.
      await fh.close().catch(() => undefined);
      await fs.rm(lock, { force: true });
      throw mapWriteError(e, finalPath);
    }
    return lock;
  }
}

/** The ways a path can be refused as an output target, checked without following a final symlink. */
export async function checkOutputTarget(finalPath: string, overwrite: boolean): Promise<void> {
  const abs = path.resolve(finalPath);
  if (Buffer.byteLength(path.basename(abs)) > NAME_MAX) throw mapWriteError(Object.assign(new Error('name too long'), { code: 'ENAMETOOLONG' }), abs);
  const st = await fs.lstat(abs).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(mapWriteError(e, abs))));
  if (st?.isDirectory()) throw mapWriteError(Object.assign(new Error('is a directory'), { code: 'EISDIR' }), abs);
  if (st?.isSymbolicLink()) {
    throw new StudioError('E_OUTPUT_WRITE', `Output path is a symbolic link: ${abs}`, 'Give the real path of the file (or remove the link); Export Studio does not write through or replace links.', { file: abs });
  }
  if (st && !st.isFile()) {
    throw new StudioError('E_OUTPUT_WRITE', `Output path is not a regular file (device, FIFO or socket): ${abs}`, 'Choose a regular file path; special files are never replaced, not even with --overwrite.', { file: abs });
  }
  if (st && !overwrite) {
    throw new StudioError('E_OUTPUT_EXISTS', `Output already exists: ${abs}`, 'Pass --overwrite to replace it, or choose another output path. The existing file was left untouched.', { file: abs });
  }
  const dir = path.dirname(abs);
  const dst = await fs.stat(dir).catch(() => null);
  if (!dst) throw mapWriteError(Object.assign(new Error('no dir'), { code: 'ENOENT' }), abs);
  if (!dst.isDirectory()) throw mapWriteError(Object.assign(new Error('not a dir'), { code: 'ENOTDIR' }), abs);
  try {
    await fs.access(dir, fs.constants.W_OK);
  } catch (e) {
    throw mapWriteError(e, abs);
  }
}

/** Where a fault-injection hook is called during commit (tests). */
export interface CommitPoint {
  /** How many files are in place so far. */
  placed: number;
  total: number;
  /** The file about to be placed (undefined after the last). */
  next?: string;
}

export interface OutputSetOptions {
  /** Replace existing files (the CLI's --overwrite). Default: refuse. */
  overwrite: boolean;
  /** Called before each file is put into place and once after the last (tests inject faults here). */
  onCommitPoint?: (p: CommitPoint) => void | Promise<void>;
}

/**
 * Test hooks (only with EXPORT_STUDIO_TEST_HOOKS=1): the moments after the commit is complete, for
 * EXPORT_STUDIO_TEST_COMMIT_KILL_AFTER / _HOLD_AFTER = `committed` (the journal just marked
 * committed; backups and temps still there) or `released` (commit() about to return: everything
 * cleaned, locks released, a kept journal still there).
 */
async function envAfterCommitHook(moment: 'committed' | 'released'): Promise<void> {
  if (process.env.EXPORT_STUDIO_TEST_HOOKS !== '1') return;
  if (process.env.EXPORT_STUDIO_TEST_COMMIT_KILL_AFTER === moment) process.kill(process.pid, 'SIGKILL');
  if (process.env.EXPORT_STUDIO_TEST_COMMIT_HOLD_AFTER === moment) {
    const holdMs = Number(process.env.EXPORT_STUDIO_TEST_COMMIT_HOLD_MS ?? 1000);
    await new Promise((r) => setTimeout(r, Number.isFinite(holdMs) && holdMs >= 0 ? holdMs : 1000));
  }
}

/**
 * Test hooks (only with EXPORT_STUDIO_TEST_HOOKS=1): fail or SIGKILL after N files were placed, or
 * pause there for EXPORT_STUDIO_TEST_COMMIT_HOLD_MS (an async pause: signals are still handled, so
 * a test can cancel while the commit runs).
 */
function envCommitHook(): ((p: CommitPoint) => void | Promise<void>) | undefined {
  if (process.env.EXPORT_STUDIO_TEST_HOOKS !== '1') return undefined;
  const fail = process.env.EXPORT_STUDIO_TEST_COMMIT_FAIL_AFTER;
  const kill = process.env.EXPORT_STUDIO_TEST_COMMIT_KILL_AFTER;
  const hold = process.env.EXPORT_STUDIO_TEST_COMMIT_HOLD_AFTER;
  const holdMs = Number(process.env.EXPORT_STUDIO_TEST_COMMIT_HOLD_MS ?? 1000);
  if (fail === undefined && kill === undefined && hold === undefined) return undefined;
  return async (p) => {
    if (kill !== undefined && p.placed === Number(kill)) process.kill(process.pid, 'SIGKILL');
    if (fail !== undefined && p.placed === Number(fail)) throw Object.assign(new Error('injected I/O error during commit'), { code: 'EIO' });
    if (hold !== undefined && p.placed === Number(hold)) await new Promise((r) => setTimeout(r, Number.isFinite(holdMs) && holdMs >= 0 ? holdMs : 1000));
  };
}

const commitStartListeners = new Set<() => void>();

/**
 * Process-wide: call `listener` (synchronously) whenever an OutputSet in this process starts to
 * commit. From that moment the outputs are past the last cancel point: the commit runs to its end
 * (all or nothing), so a worker that is asked to stop lets its job finish and report. Returns the
 * unsubscribe function.
 */
export function onCommitStart(listener: () => void): () => void {
  commitStartListeners.add(listener);
  return () => commitStartListeners.delete(listener);
}

/** A set of outputs that appear together on commit or not at all. */
export class OutputSet {
  private readonly staged = new Map<string, StagedFile>();
  private readonly locks = new Map<string, string>();
  private readonly openStreams = new Set<HashingFileWriter>();
  private readonly streamed = new Set<string>();
  /** Hashes known without re-reading (whole-buffer writes and finished streams). */
  private readonly knownHashes = new Map<string, { bytes: number; sha256: string }>();
  private done = false;
  private committing = false;
  /** Set once every file is in place: a cancel after this point cannot undo the commit. */
  committed = false;

  constructor(private readonly options: OutputSetOptions) {}

  /** Check a final path is writable under the overwrite policy before any long work starts. */
  async preflight(finalPath: string): Promise<void> {
    await checkOutputTarget(finalPath, this.options.overwrite);
  }

  /**
   * Preflight and lock a final path now (validate stage), so a second job aiming at the same
   * output fails at once instead of racing this one to the commit.
   */
  async reserve(finalPath: string, options: { mayExist?: boolean } = {}): Promise<void> {
    if (this.done) throw new StudioError('E_INTERNAL', 'OutputSet used after commit/abort', 'This is a bug; please report it.');
    const abs = path.resolve(finalPath);
    if (this.locks.has(abs)) return;
    await checkOutputTarget(abs, this.options.overwrite || options.mayExist === true);
    await sweepStale(path.dirname(abs));
    this.locks.set(abs, await acquireLock(abs));
  }

  /** Reserve a final path (if not yet) and return the temp path to write. */
  async stage(finalPath: string): Promise<StagedFile> {
    if (this.done) throw new StudioError('E_INTERNAL', 'OutputSet used after commit/abort', 'This is a bug; please report it.');
    const abs = path.resolve(finalPath);
    const existing = this.staged.get(abs);
    if (existing) return existing;
    await this.reserve(abs);
    // Preflight again: the target may have changed kind since validate (e.g. a device node appeared).
    await this.preflight(abs);
    const file: StagedFile = { finalPath: abs, tempPath: tempNameFor(abs) };
    this.staged.set(abs, file);
    return file;
  }

  /** Stage and write a whole buffer/string. */
  async write(finalPath: string, data: string | Uint8Array, mode = 0o644): Promise<StagedFile> {
    const f = await this.stage(finalPath);
    try {
      const fh = await fs.open(f.tempPath, 'wx', mode);
      try {
        await writeFully(fh, typeof data === 'string' ? Buffer.from(data) : data);
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
    this.streamed.add(file.tempPath);
    stream.on('finish', () => this.knownHashes.set(file.tempPath, { bytes: stream.bytes, sha256: stream.hash.digest('hex') }));
    stream.on('close', () => this.openStreams.delete(stream));
    return { file, stream };
  }

  /** Paths staged so far (final paths). */
  get finalPaths(): string[] {
    return [...this.staged.keys()];
  }

  /** True while the files are being put into place (a cancel now waits for the outcome). */
  get isCommitting(): boolean {
    return this.committing;
  }

  /**
   * Put every staged file into place, all or nothing (see the file comment). `record` (called
   * with the committed files) is stored in the journal marked committed when journals are kept
   * (keepCommittedJournals): what the job reports, readable by the host if the process dies now.
   */
  async commit(options: { record?: (files: CommittedFile[]) => unknown } = {}): Promise<CommittedFile[]> {
    if (this.done) throw new StudioError('E_INTERNAL', 'OutputSet committed twice', 'This is a bug; please report it.');
    for (const t of this.streamed) {
      if (!this.knownHashes.has(t)) throw new StudioError('E_INTERNAL', 'OutputSet committed with a stream still open', 'This is a bug; please report it.');
    }
    this.committing = true;
    for (const l of [...commitStartListeners]) l();
    const files = [...this.staged.values()];
    const out: CommittedFile[] = [];
    const entries: JournalEntry[] = [];
    const placed: JournalEntry[] = [];
    const hook = this.options.onCommitPoint ?? envCommitHook();
    let journal: string | undefined;
    try {
      for (const f of files) {
        const { bytes, sha256 } = this.knownHashes.get(f.tempPath) ?? (await hashFile(f.tempPath));
        const st = await fs.stat(f.tempPath);
        if (st.size !== bytes) throw new StudioError('E_OUTPUT_WRITE', `Staged ${f.finalPath} holds ${st.size} bytes, ${bytes} were written`, 'The file system lost data; check the disk and run again.', { file: f.finalPath });
        // The target must still be something we may replace (no link, device or folder appeared).
        await checkOutputTarget(f.finalPath, this.options.overwrite);
        const exists = await fs.lstat(f.finalPath).then(() => true, () => false);
        entries.push({ final: f.finalPath, temp: f.tempPath, backup: exists ? tempNameFor(f.finalPath, 'bak') : null, ino: st.ino, dev: st.dev, bytes, sha256 });
        out.push({ path: f.finalPath, bytes, sha256 });
      }
      if (files.length) {
        journal = path.join(path.dirname(files[0]?.finalPath as string), `${TEMP_TAG}${process.pid}-${randomBytes(4).toString('hex')}.journal`);
        await writeJournal(journal, { owner: ownerTag(), state: 'committing', entries });
      }
      for (const e of entries) {
        await hook?.({ placed: placed.length, total: entries.length, next: e.final });
        try {
          if (e.backup !== null) {
            await fs.link(e.final, e.backup);
            placed.push(e);
            await fs.rename(e.temp, e.final);
          } else {
            await fs.link(e.temp, e.final); // EEXIST: someone created it since the check — never clobber
            placed.push(e);
          }
        } catch (err) {
          throw mapWriteError(err, e.final);
        }
      }
      await hook?.({ placed: placed.length, total: entries.length });
      for (const d of new Set(entries.map((e) => path.dirname(e.final)))) await fsyncDir(d);
      if (journal) {
        const record = keepJournals && options.record ? options.record(out) : undefined;
        await writeJournal(journal, { owner: ownerTag(), state: 'committed', entries, ...(record !== undefined ? { record } : {}) });
      }
    } catch (e) {
      const problems = await rollBack(placed);
      if (journal) await fs.rm(journal, { force: true });
      this.committing = false;
      await this.abort();
      if (problems.length) {
        throw new StudioError('E_OUTPUT_WRITE', `Commit failed and could not be fully undone: ${problems.join('; ')}`, 'Check these files by hand.', {}, { cause: e });
      }
      throw e instanceof StudioError ? e : mapWriteError(e, placed.at(-1)?.final ?? files[0]?.finalPath ?? 'the outputs');
    }
    this.committed = true;
    this.committing = false;
    this.done = true;
    await envAfterCommitHook('committed');
    // Cleanup cannot change the outcome any more: the files are in place.
    for (const e of entries) {
      if (e.backup) await fs.rm(e.backup, { force: true }).catch(() => undefined);
      await fs.rm(e.temp, { force: true }).catch(() => undefined);
    }
    for (const d of new Set(entries.map((e) => path.dirname(e.final)))) await fsyncDir(d);
    // Kept (a JobManager worker): the host reads it if this process dies before reporting.
    if (journal && !keepJournals) await fs.rm(journal, { force: true }).catch(() => undefined);
    await this.releaseLocks();
    await envAfterCommitHook('released');
    return out;
  }

  /** Remove every temp file and lock; final paths are untouched. Safe to call twice. */
  async abort(): Promise<void> {
    if (this.committed) return;
    for (const s of this.openStreams) s.destroy();
    this.openStreams.clear();
    for (const f of this.staged.values()) await fs.rm(f.tempPath, { force: true });
    this.done = true;
    await this.releaseLocks();
  }

  private async releaseLocks(): Promise<void> {
    for (const l of this.locks.values()) await fs.rm(l, { force: true });
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
