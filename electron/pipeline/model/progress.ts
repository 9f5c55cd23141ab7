import { StudioError } from '../../../shared/errors.js';

/** Bytes processed so far out of the total, reported once per chunk. */
export interface ByteProgress {
  done: number;
  total: number;
}

export interface StreamOptions {
  signal?: AbortSignal;
  onProgress?: (p: ByteProgress) => void;
}

export function cancelledError(what: string): StudioError {
  return new StudioError('E_CANCELLED', `${what} was cancelled`, 'Nothing was written. Start it again when ready.');
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelledError(what);
}
