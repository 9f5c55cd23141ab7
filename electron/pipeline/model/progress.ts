/** Bytes processed so far out of the total, reported once per chunk. */
export interface ByteProgress {
  done: number;
  total: number;
}

export interface StreamOptions {
  signal?: AbortSignal;
  onProgress?: (p: ByteProgress) => void;
}


