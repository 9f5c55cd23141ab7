import { StudioError } from '../../shared/errors.js';

/** The one E_CANCELLED error every stage throws when the job's AbortSignal fires. */
export function cancelledError(what = 'The export'): StudioError {
  return new StudioError('E_CANCELLED', `${what} was cancelled`, 'Nothing was written; run it again when ready.');
}

export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw cancelledError(what);
}
