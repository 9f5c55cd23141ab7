import fs from 'node:fs/promises';
import type { Batch } from '../../electron/pipeline/data/types.js';

/**
 * Preprocessed samples stored once on disk (raw float32, sample after sample) so every
 * benchmark child reads the same bytes batch by batch: nothing proportional to the image
 * count stays in memory, which keeps peak RSS comparable between image counts.
 */
export interface DatasetInfo {
  /** The raw float32 file. */
  file: string;
  /** Per-sample dims, e.g. [3, H, W]. */
  sampleDims: number[];
  ids: string[];
}

export function sampleLength(info: Pick<DatasetInfo, 'sampleDims'>): number {
  return info.sampleDims.reduce((a, b) => a * b, 1);
}

/** Writes samples (each `sampleLength` floats) to `file`; returns the info to read it back. */
export async function writeDataset(file: string, sampleDims: number[], samples: AsyncIterable<{ id: string; data: Float32Array }>): Promise<DatasetInfo> {
  const len = sampleDims.reduce((a, b) => a * b, 1);
  const ids: string[] = [];
  const fh = await fs.open(file, 'w');
  try {
    for await (const s of samples) {
      if (s.data.length !== len) throw new Error(`sample ${s.id} has ${s.data.length} values, expected ${len}`);
      await fh.write(new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength));
      ids.push(s.id);
    }
  } finally {
    await fh.close();
  }
  return { file, sampleDims, ids };
}

/** Reads `count` samples (wrapping around the file if it holds fewer) as batches of `batchSize`, a fresh buffer per batch. */
export async function* readBatches(info: DatasetInfo, count: number, batchSize: number): AsyncGenerator<Batch> {
  const len = sampleLength(info);
  const have = info.ids.length;
  if (have === 0) throw new Error(`dataset ${info.file} is empty`);
  const fh = await fs.open(info.file, 'r');
  try {
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const data = new Float32Array(n * len);
      const ids: string[] = [];
      for (let k = 0; k < n; k++) {
        const idx = (start + k) % have;
        const view = new Uint8Array(data.buffer, k * len * 4, len * 4);
        const { bytesRead } = await fh.read(view, 0, view.byteLength, idx * len * 4);
        if (bytesRead !== view.byteLength) throw new Error(`dataset ${info.file} is truncated at sample ${idx}`);
        ids.push(info.ids[idx]!);
      }
      yield { ids, count: n, dims: [n, ...info.sampleDims], data };
    }
  } finally {
    await fh.close();
  }
}
