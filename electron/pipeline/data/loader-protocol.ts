import type { StudioErrorData } from '../../../shared/errors.js';
import type { ImageInput } from './preprocess.js';
import type { ResolvedPreprocessing } from './types.js';

/** Main thread → preprocessing worker. */
export interface WorkerRequest {
  seq: number;
  input: ImageInput;
  pp: ResolvedPreprocessing;
  id: string;
}

/** Preprocessing worker → main thread. `data`'s buffer is transferred, not copied. */
export type WorkerReply = { seq: number; ok: true; data: Float32Array } | { seq: number; ok: false; error: StudioErrorData };
