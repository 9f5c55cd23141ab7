import type { ResizeMode } from '../../../shared/request.js';

/**
 * Preprocessing with every value decided: what the model sees. One object drives calibration
 * from TFRecords, from images, the fidelity check and the UI preview (DESIGN.md).
 */
export interface ResolvedPreprocessing {
  /** Network input height and width. */
  height: number;
  width: number;
  /** Per-channel mean in 0–255 pixel units, in the model's channel order. */
  mean: [number, number, number];
  /** Per-channel multiplier applied after subtracting the mean. */
  scale: [number, number, number];
  order: 'rgb' | 'bgr';
  layout: 'nchw' | 'nhwc';
  resize: ResizeMode;
  /** Where the values came from, for logs and the report ("spec image_size (832, 1344)", "preset imagenet"). */
  origin: string;
}

/** One preprocessed model input (one image). */
export interface Sample {
  /** Stable id: the file path, or `file#recordIndex` for TFRecords. */
  id: string;
  /** height × width × 3 values in `layout` order. */
  data: Float32Array;
}

/** A batch ready to feed: `data` holds `count` samples back to back. */
export interface Batch {
  ids: string[];
  count: number;
  /** [count, 3, H, W] or [count, H, W, 3]. */
  dims: number[];
  data: Float32Array;
}

/**
 * A calibration data source. It decides which items it will use up front (seeded, without
 * decoding every image), then yields preprocessed samples in a deterministic order. Items that
 * cannot be used are skipped and counted by reason, never silently.
 */
export interface SampleSource {
  /** For logs and the report: "spec loader: 4 files, 1 200 records". */
  readonly description: string;
  /** How many samples it was asked for. */
  readonly requested: number;
  /** How many items it selected (may exceed requested to allow for skips, or be fewer). */
  readonly planned: number;
  /** What it selected, in order (ids), for provenance hashing before any decoding. */
  readonly selection: readonly string[];
  samples(signal?: AbortSignal): AsyncIterable<Sample>;
  /** reason → count, filled while iterating. */
  readonly skipped: ReadonlyMap<string, number>;
}
