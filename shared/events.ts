import type { StudioErrorData } from './errors.js';
import type { ExportReport } from './report.js';

/** Pipeline stages, in the order they normally run. */
export const STAGES = [
  'validate',
  'spec',
  'model',
  'inspect',
  'calibrate',
  'fidelity',
  'search',
  'quantize',
  'write',
  'deepstream',
  'engine',
  'report',
] as const;
export type StageId = (typeof STAGES)[number];

export const STAGE_LABELS: Record<StageId, string> = {
  validate: 'Check request',
  spec: 'Parse experiment spec',
  model: 'Open model',
  inspect: 'Inspect ONNX graph',
  calibrate: 'INT8 calibration',
  quantize: 'Write INT8 cache and Q/DQ model',
  fidelity: 'INT8 fidelity check',
  search: 'INT8 search',
  write: 'Write model',
  deepstream: 'DeepStream config',
  engine: 'TensorRT engine (trtexec)',
  report: 'Report',
};

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type ArtifactRole =
  | 'etlt'
  | 'tlt'
  | 'onnx'
  | 'qdq'
  | 'cache'
  | 'cache-provenance'
  | 'calibration-report'
  | 'tensorfile'
  | 'ds-config'
  | 'labels'
  | 'report'
  | 'log'
  | 'engine'
  | 'status';

export type JobEvent =
  /** alert: the stage finished but its result misses its target (INT8 below target): shown in red, never as a tick. */
  | { type: 'stage'; stage: StageId; status: 'started' | 'done' | 'skipped'; detail?: string; alert?: boolean; time: number }
  | {
      type: 'progress';
      stage: StageId;
      done: number;
      total: number;
      unit: string;
      /** units per second, smoothed */
      rate?: number;
      /** seconds left */
      eta?: number;
    }
  | { type: 'log'; level: LogLevel; text: string; time: number }
  | { type: 'artifact'; role: ArtifactRole; path: string; bytes: number; sha256: string }
  | { type: 'result'; report: ExportReport }
  | { type: 'error'; error: StudioErrorData };

export type EventSink = (event: JobEvent) => void;
