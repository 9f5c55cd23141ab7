import type { StudioErrorData } from './errors.js';
import type { JobEvent } from './events.js';
import type { ExportReport, ModelSummary } from './report.js';
import type { ExportRequestInput, Preprocessing, ResizeMode } from './request.js';

/**
 * The one API the renderer talks to, implemented three ways: over Electron IPC (preload
 * bridge), over HTTP/WebSocket (web mode) and in memory (tests). Every call resolves to a
 * Result: IPC drops custom Error properties, so errors travel as data.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; error: StudioErrorData };

export interface AppInfo {
  version: string;
  mode: 'electron' | 'web';
  platform: string;
  homeDir: string;
  /** Whether safeStorage can keep a key (Electron with a real keyring backend). */
  canStoreKeys: boolean;
}

export interface GpuEntry {
  index: number;
  name: string;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  utilizationPct: number | null;
  pciBusId: string;
}

export interface GpuList {
  gpus: GpuEntry[];
  reason?: string;
}

export type FileKind = 'model' | 'spec' | 'tensorfile' | 'cache' | 'images-dir' | 'output-dir' | 'any';

export interface DirEntry {
  name: string;
  path: string;
  kind: 'dir' | 'file';
  bytes?: number;
}

export interface DirListing {
  path: string;
  parent: string | null;
  entries: DirEntry[];
}

export interface SpecSummary {
  path: string;
  imageSize: [number, number];
  numClasses: number;
  trainingFilePattern: string;
  validationFilePattern: string;
  valJsonFile: string;
  /** Files matched by training_file_pattern with their record counts. */
  trainingFiles: { path: string; records: number }[];
  /** Whether val_json_file exists (labels.txt source). */
  valJsonFound: boolean;
  warnings: { message: string; line: number; column: number }[];
}

export interface ImageEntry {
  /** Opaque id for thumbnails and previews; never a path the renderer could turn into file://. */
  id: string;
  name: string;
  path: string;
  bytes: number;
}

export interface ImageList {
  dir: string;
  images: ImageEntry[];
}

export interface TensorPreview {
  /** PNG (data: URL) of the tensor the model sees, de-normalised for display. */
  png: string;
  width: number;
  height: number;
  /** The region the image occupies (rest is padding). */
  content: { width: number; height: number };
  stats: { min: number; max: number; mean: number };
  preprocessing: { mean: number[]; scale: number[]; order: string; layout: string; resize: ResizeMode; origin: string };
}

export interface Settings {
  theme: 'light' | 'dark' | 'system';
  lastOutputDir?: string;
  lastGpu?: number | 'cpu';
  rememberKeys: boolean;
  /** Target TensorRT version last chosen (the cache header and trtexec line follow it). */
  trtVersion?: string;
  /** custom-lib-path for DeepStream configs: where the Mask R-CNN parser is built on the target. */
  dsCustomLib?: string;
}

export interface RecentFile {
  path: string;
  kind: 'model' | 'spec' | 'images-dir';
  openedAt: string;
}

export interface JobHandle {
  jobId: string;
}

/** Batched events for one job (the host batches to keep a fast job from flooding the UI). */
export interface JobEventBatch {
  jobId: string;
  events: JobEvent[];
}

export interface StudioApi {
  info(): Promise<Result<AppInfo>>;
  gpus(): Promise<Result<GpuList>>;
  /** Native dialog in the app; null when cancelled or not available (web mode browses instead). */
  pickPath(kind: FileKind, options?: { defaultPath?: string }): Promise<Result<string | null>>;
  browse(dir: string | null, kind: FileKind): Promise<Result<DirListing>>;
  /** Key check in well under a second, then the model card. */
  inspectModel(path: string, key: string): Promise<Result<ModelSummary>>;
  parseSpec(path: string): Promise<Result<SpecSummary>>;
  listImages(dir: string): Promise<Result<ImageList>>;
  /** URL the renderer can put in <img src> for a thumbnail (custom protocol or web endpoint). */
  thumbnailUrl(imageId: string, size?: number): string;
  previewTensor(imageId: string, specPath: string | null, preprocessing: Preprocessing | null, resize: ResizeMode): Promise<Result<TensorPreview>>;
  /** The equivalent CLI command for a request, key masked. */
  commandFor(request: ExportRequestInput): Promise<Result<string>>;
  startExport(request: ExportRequestInput): Promise<Result<JobHandle>>;
  cancelJob(jobId: string): Promise<Result<void>>;
  onJobEvents(listener: (batch: JobEventBatch) => void): () => void;
  getSettings(): Promise<Result<Settings>>;
  setSettings(patch: Partial<Settings>): Promise<Result<Settings>>;
  recentFiles(): Promise<Result<RecentFile[]>>;
  addRecentFile(file: Omit<RecentFile, 'openedAt'>): Promise<Result<RecentFile[]>>;
  /** Electron only: keep a key in the OS keyring (refused when only plain-text storage exists). */
  storeKey(modelPath: string, key: string): Promise<Result<void>>;
  loadKey(modelPath: string): Promise<Result<string | null>>;
  openFolder(path: string): Promise<Result<void>>;
}

export type { ExportReport };
