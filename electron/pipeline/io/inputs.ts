import { constants } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { StudioError, type ErrorCode } from '../../../shared/errors.js';
import { checkInsideRoots, readRoots } from './roots.js';

/**
 * Inputs are regular files, opened so that nothing can hang: O_NONBLOCK makes open() of a FIFO
 * return at once (then fstat refuses it), O_NOCTTY keeps a terminal device from becoming ours.
 * /dev/zero, /dev/random, sockets and FIFOs are refused before a single byte is read, and every
 * whole-file read has a size limit checked before the read.
 */

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0);

/** A file-system error with a code, for callers that map errors by code. */
function errno(message: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** What the special file is, for messages. */
export function fileKind(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean; isDirectory(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export function notRegularError(file: string, what: string, kind: string): StudioError {
  return new StudioError('E_FILE_UNREADABLE', `${what} is ${kind}, not a regular file: ${file}`, 'Give a regular file. Pipes, devices and sockets are refused: they could block or never end.', { file }, { details: { kind } });
}

/**
 * Open a regular file for reading without blocking. Throws an errno-style error with code
 * EISDIR for a folder and ENOTREG (ours) for any other special file, so existing error mappers apply.
 */
export async function openRegular(file: string): Promise<{ fh: FileHandle; size: number }> {
  // A web-mode job: no input outside the browse roots is opened (roots.ts).
  const roots = readRoots();
  if (roots) await checkInsideRoots(file, roots);
  const fh = await fs.open(file, OPEN_FLAGS);
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw errno(`${file} is a directory`, 'EISDIR');
    if (!st.isFile()) throw Object.assign(errno(`${file} is ${fileKind(st)}, not a regular file`, 'ENOTREG'), { kind: fileKind(st) });
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

export function tooLargeError(file: string, what: string, size: number, limit: number, hint?: string): StudioError {
  return new StudioError(
    'E_INPUT_TOO_LARGE',
    `${what} is ${size} bytes, more than the ${limit}-byte limit: ${file}`,
    hint ?? 'Check that this is the right file; the limits are listed in docs/TESTING.md.',
    { file },
    { details: { bytes: size, limit } },
  );
}

/**
 * Read a whole regular file of at most `limit` bytes. Missing → `missingCode`; a folder or
 * special file → E_FILE_UNREADABLE (or `missingCode` for a folder, as before); too large →
 * E_INPUT_TOO_LARGE, before reading.
 */
export async function readRegularFile(file: string, limit: number, what: string, missingCode: ErrorCode = 'E_FILE_NOT_FOUND'): Promise<Buffer> {
  let opened: { fh: FileHandle; size: number };
  try {
    opened = await openRegular(file);
  } catch (e) {
    throw mapInputError(e, file, what, missingCode);
  }
  const { fh, size } = opened;
  try {
    if (size > limit) throw tooLargeError(file, what, size, limit);
    // Read at most limit + 1 bytes: a file that grows while read is still bounded.
    const buf = Buffer.allocUnsafe(Math.min(size, limit) + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got > limit) throw tooLargeError(file, what, got, limit);
    return buf.subarray(0, got);
  } catch (e) {
    throw mapInputError(e, file, what, missingCode);
  } finally {
    await fh.close();
  }
}

export function mapInputError(e: unknown, file: string, what: string, missingCode: ErrorCode = 'E_FILE_NOT_FOUND'): StudioError {
  if (e instanceof StudioError) return e;
  const err = e as NodeJS.ErrnoException & { kind?: string };
  switch (err?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new StudioError(missingCode, `${what} not found: ${file}`, 'Check the path.', { file }, { cause: e });
    case 'EISDIR':
      return new StudioError(missingCode, `${what} is a directory, not a file: ${file}`, 'Give the path of the file itself.', { file }, { cause: e });
    case 'ENOTREG':
      return notRegularError(file, what, err.kind ?? 'not a regular file');
    default:
      return new StudioError('E_FILE_UNREADABLE', `Cannot read ${what.toLowerCase()} ${file}: ${err?.message ?? String(e)}`, 'Check the file permissions.', { file }, { cause: e });
  }
}

/** Check (without opening) that an input exists and is a regular file. */
export async function checkRegularInput(file: string, what: string, missingCode: ErrorCode = 'E_FILE_NOT_FOUND'): Promise<void> {
  const st = await fs.stat(file).catch((e: unknown) => Promise.reject(mapInputError(e, file, what, missingCode)));
  if (st.isDirectory()) throw new StudioError(missingCode, `${what} is a directory, not a file: ${file}`, 'Give the path of the file itself.', { file });
  if (!st.isFile()) throw notRegularError(file, what, fileKind(st));
}
