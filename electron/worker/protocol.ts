import type { Preflight, SpecSummary, TensorPreview } from '../../shared/api.js';
import type { StudioErrorData } from '../../shared/errors.js';
import type { JobEvent } from '../../shared/events.js';
import type { ExportReport, ModelSummary } from '../../shared/report.js';
import type { ExportRequest, Preprocessing, ResizeMode } from '../../shared/request.js';

/**
 * The job protocol between the host (JobManager, ReaderClient) and a worker process. Plain data
 * only: it crosses Node IPC (`serialization: 'advanced'`), Electron's parentPort (structured
 * clone) and the in-memory test pair unchanged. See docs/ARCHITECTURE.md.
 */

/** The wizard's heavy reads, answered by the long-lived reader worker. */
export interface ReaderCalls {
  inspectModel: { args: { path: string; key: string }; result: ModelSummary };
  /** `roots` (web mode): the data the spec names must lie inside them (checked before any is read). */
  parseSpec: { args: { path: string; roots?: string[] }; result: SpecSummary };
  listImages: { args: { dir: string }; result: { dir: string; images: { name: string; path: string; bytes: number }[] } };
  thumbnail: { args: { path: string; size: number }; result: { jpeg: Uint8Array; width: number; height: number } };
  previewTensor: {
    args: { path: string; specPath: string | null; preprocessing: Preprocessing | null; resize: ResizeMode; roots?: string[] };
    result: TensorPreview;
  };
  /** Problems the job would hit (it stats outputs and decodes every selected image's header). */
  preflight: { args: { request: ExportRequest; roots?: string[] }; result: Preflight };
  /** Web mode's startExport: the spec and the data it names inside the roots (reads the spec only). */
  checkSpecRoots: { args: { spec: string; roots: string[] }; result: null };
}
export type ReaderMethod = keyof ReaderCalls;
export const READER_METHODS = ['inspectModel', 'parseSpec', 'listImages', 'thumbnail', 'previewTensor', 'preflight', 'checkSpecRoots'] as const satisfies readonly ReaderMethod[];

export type CallMessage = { [M in ReaderMethod]: { type: 'call'; callId: number; method: M; args: ReaderCalls[M]['args'] } }[ReaderMethod];

/** Host → worker. */
export type HostMessage =
  /** `roots` (web mode): the browse roots; the worker opens no input and walks no folder outside them. */
  | { type: 'start'; jobId: string; request: ExportRequest; roots?: string[] }
  /** Cooperative cancel (aborts the job's signal). The JobManager also kills the process. */
  | { type: 'cancel'; jobId: string }
  | CallMessage
  /** Finish: the entry file exits the process. */
  | { type: 'shutdown' };

/** Worker → host. */
export type WorkerMessage =
  /** Sent once the worker listens; the host queues its messages until then. */
  | { type: 'ready'; pid: number }
  /** Events of one job, batched every ~50 ms (progress coalesced per stage). */
  | { type: 'events'; jobId: string; events: JobEvent[] }
  | { type: 'done'; jobId: string; ok: true; report: ExportReport }
  | { type: 'done'; jobId: string; ok: false; error: StudioErrorData }
  /** `rss`: the process's resident set size (bytes) after answering: the host recycles a reader that grew. */
  | { type: 'reply'; callId: number; ok: true; value: unknown; rss?: number }
  | { type: 'reply'; callId: number; ok: false; error: StudioErrorData; rss?: number };

/** The two-method port every transport is adapted to. */
export interface Port<In, Out> {
  post(msg: Out): void;
  onMessage(handler: (msg: In) => void): void;
}

export type WorkerPort = Port<HostMessage, WorkerMessage>;
export type HostPort = Port<WorkerMessage, HostMessage>;

/** Environment variables of the test-only hooks (read only when EXPORT_STUDIO_TEST_HOOKS=1). */
export const TEST_HOOKS_ENV = 'EXPORT_STUDIO_TEST_HOOKS';
/** `<stage>`: the worker kills itself with SIGKILL when that stage starts. */
export const TEST_CRASH_AT_ENV = 'EXPORT_STUDIO_TEST_CRASH_AT';
/** `<stage>`: the worker blocks (up to 60 s) when that stage starts, so a test can cancel mid-job. */
export const TEST_HOLD_AT_ENV = 'EXPORT_STUDIO_TEST_HOLD_AT';
/** With HOLD_AT: how long the hold lasts in ms (default 60000); the job then goes on normally. */
export const TEST_HOLD_MS_ENV = 'EXPORT_STUDIO_TEST_HOLD_MS';
