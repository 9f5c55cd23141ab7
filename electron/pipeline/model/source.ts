import type fs from 'node:fs/promises';
import { StudioError } from '../../../shared/errors.js';
import { mapInputError, openRegular, tooLargeError } from '../io/inputs.js';

/** Largest model file read: protobuf's 2 GiB message limit (ONNX without external data). */
export const MODEL_MAX_BYTES = 2 ** 31 - 1;

/** Counters a caller may pass to see how much of a file an operation read. */
export interface ReadStats {
  bytesRead: number;
}

/** A random-access view of a model file that counts what it reads. */
export interface ModelSource {
  readonly path: string;
  readonly size: number;
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export function mapReadError(e: unknown, file: string): StudioError {
  if (e instanceof StudioError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new StudioError('E_FILE_NOT_FOUND', `Model file not found: ${file}`, 'Check the path; drag the file onto the window or use the file picker.', { file }, { cause: e });
  }
  if (code === 'EISDIR') {
    return new StudioError('E_FILE_UNREADABLE', `Model path is a folder, not a file: ${file}`, 'Choose the .onnx, .etlt or .tlt file inside it.', { file }, { cause: e });
  }
  return new StudioError('E_FILE_UNREADABLE', `Cannot read ${file}: ${(e as Error | undefined)?.message ?? String(e)}`, 'Check that the file exists and that you have permission to read it.', { file }, { cause: e });
}

export async function openModelSource(file: string, stats?: ReadStats): Promise<ModelSource> {
  let fh: fs.FileHandle;
  let size: number;
  try {
    ({ fh, size } = await openRegular(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTREG') throw mapInputError(e, file, 'Model file');
    throw mapReadError(e, file);
  }
  if (size > MODEL_MAX_BYTES) {
    await fh.close();
    throw tooLargeError(file, 'Model file', size, MODEL_MAX_BYTES, 'An ONNX model is a single protobuf of at most 2 GiB; larger models keep weights in external data, which an .etlt cannot hold.');
  }
  return {
    path: file,
    size,
    async read(position: number, length: number): Promise<Buffer> {
      const want = Math.max(0, Math.min(length, size - position));
      const buf = Buffer.alloc(want);
      let got = 0;
      try {
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, position + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } catch (e) {
        throw mapReadError(e, file);
      }
      if (stats) stats.bytesRead += got;
      return got === want ? buf : buf.subarray(0, got);
    },
    close: () => fh.close(),
  };
}
