import type { StudioErrorData } from './errors.js';
import type { JobEvent, LogLevel, StageId } from './events.js';
import type { ArtifactInfo, ExportReport, ModelSummary } from './report.js';
import type { ExportRequest, ExportRequestInput, Preprocessing, ResizeMode } from './request.js';
import type { OutputPlan } from './defaults.js';

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
  /**
   * Whether onnxruntime-node's CUDA execution provider libraries are installed. 'missing': every
   * export runs on the CPU (identical results, slower) until `INSTALL_CUDA_COMMAND` is run.
   */
  cudaProvider: 'installed' | 'missing';
}

/** The one documented command that downloads onnxruntime-node's CUDA 12 provider (README, GPUs). */
export const INSTALL_CUDA_COMMAND = 'npm run install:cuda';

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
  /** The job's queue state, when it changed (queued → running on a GPU, cancelling, ended). */
  state?: JobQueueState;
  /** Position of this batch in the job's stream (1, 2, …): a snapshot with seq ≥ it already holds it. */
  seq?: number;
  /** Resync (web mode sends one per job when its socket (re)connects): replace what you hold of the job. */
  snapshot?: JobSnapshot;
}

// ---------------------------------------------------------------------------------------------
// Job queue and registry (issue 13: a queue across the GPUs; issue 12: jobs survive the page).
// The host keeps every job of this session (until cleared): a page that reloads, or a second
// tab, asks listJobs() and reattaches. Nothing here ever carries the model key.
// ---------------------------------------------------------------------------------------------

export type QueueJobStatus = 'queued' | 'starting' | 'running' | 'cancelling' | 'done' | 'failed' | 'cancelled' | 'crashed';

/** The request a job runs, with the key removed (the registry and the wire never hold it). */
export type JobRequestSummary = Omit<ExportRequest, 'key'>;

export interface JobQueueState {
  status: QueueJobStatus;
  /** The device the job runs (or will run) on; null while it waits for any free GPU of a pool. */
  gpu: number | 'cpu' | null;
  /** While queued: the jobs holding the device it waits for. */
  waitingFor?: string[];
}

export type JobStageStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'cancelled';

export interface JobSnapshot extends JobQueueState {
  jobId: string;
  /** The seq of the last batch folded in (see JobEventBatch.seq). */
  seq: number;
  /** ms since epoch. */
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  request: JobRequestSummary;
  stages: { id: StageId; status: JobStageStatus; detail?: string; startedAt?: number; endedAt?: number }[];
  /** The latest progress event of the running stage (null between stages). */
  progress: Omit<Extract<JobEvent, { type: 'progress' }>, 'type'> | null;
  /** The last lines of the job's log (JOB_LOG_TAIL), and how many came before them. */
  log: { level: LogLevel; text: string; time: number }[];
  logDropped: number;
  artifacts: ArtifactInfo[];
  report: ExportReport | null;
  error: StudioErrorData | null;
}

/** Log lines the host keeps per job for a page that reattaches. */
export const JOB_LOG_TAIL = 500;

export function isFinalJobStatus(s: QueueJobStatus): boolean {
  return s === 'done' || s === 'failed' || s === 'cancelled' || s === 'crashed';
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
  /** Every file the request would write, absolute, planned by the worker's own planner (nothing is written). */
  planOutputs(request: ExportRequestInput): Promise<Result<OutputPlan>>;
  startExport(request: ExportRequestInput): Promise<Result<JobHandle>>;
  cancelJob(jobId: string): Promise<Result<void>>;
  onJobEvents(listener: (batch: JobEventBatch) => void): () => void;
  // -- job registry (see the block above JobSnapshot) --
  /** Every job of this host session, oldest first: running, queued and finished (until cleared). */
  listJobs(): Promise<Result<JobSnapshot[]>>;
  /** Forget finished jobs (all of them with null); running ones are kept. Resolves to how many went. */
  clearJobs(jobIds: string[] | null): Promise<Result<number>>;
  getSettings(): Promise<Result<Settings>>;
  setSettings(patch: Partial<Settings>): Promise<Result<Settings>>;
  recentFiles(): Promise<Result<RecentFile[]>>;
  addRecentFile(file: Omit<RecentFile, 'openedAt'>): Promise<Result<RecentFile[]>>;
  /** Electron only: keep a key in the OS keyring (refused when only plain-text storage exists). */
  storeKey(modelPath: string, key: string): Promise<Result<void>>;
  loadKey(modelPath: string): Promise<Result<string | null>>;
  openFolder(path: string): Promise<Result<void>>;

  // ── issue 12 (wizard without the CLI): preflight at Review, New folder / create-folder fix ──
  /** Every problem the host can see before Start (outputs, folders, unreadable images, leftovers). */
  preflight(request: ExportRequestInput): Promise<Result<Preflight>>;
  /** Create a folder (and its parents) inside the allowed roots; resolves to its real path. */
  makeDir(path: string): Promise<Result<string>>;
  // ── end issue 12 ──
}

// ── issue 12: preflight problems, each with the one-click fix the app offers ──
export interface Preflight {
  /** Every file the job will write, resolved as the pipeline resolves them (role → absolute path). */
  outputs: { role: string; path: string }[];
  problems: PreflightProblem[];
}

export type PreflightFix =
  | { kind: 'mkdir'; dir: string }
  | { kind: 'overwrite' }
  | { kind: 'deselect-images'; paths: string[] }
  | { kind: 'accept' };

export interface PreflightProblem {
  /** Stable id: output-dir-missing, output-exists, output-not-writable, cache-exists, images-unreadable, leftover, no-held-out. */
  id: 'output-dir-missing' | 'output-exists' | 'output-is-input' | 'output-not-writable' | 'cache-exists' | 'images-unreadable' | 'leftover' | 'no-held-out';
  /** error: Start stays disabled until fixed; warning: until fixed or accepted. */
  severity: 'error' | 'warning';
  message: string;
  files: string[];
  /** Absent when only the user can act (e.g. choose another path). */
  fix?: PreflightFix;
  /** The button's label, naming what it does. */
  fixLabel?: string;
}
// ── end issue 12 ──

export type { ExportReport };
