import type { ArtifactRole, StageId } from './events.js';
import type { Precision, CalibrationAlgorithm, CalibrationSource } from './request.js';

export interface ArtifactInfo {
  role: ArtifactRole;
  path: string;
  bytes: number;
  sha256: string;
}

export interface TensorInfo {
  name: string;
  /** ONNX element type name, e.g. 'float32'. */
  type: string;
  /** Numbers for fixed dims, strings for symbolic ones, null when unknown. */
  shape: (number | string | null)[] | null;
}

export interface ModelSummary {
  format: 'onnx' | 'tlt' | 'etlt';
  /** .etlt header: the input node name (empty = ONNX payload). */
  etltInputName?: string;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  nodeCount: number;
  initializerCount: number;
  parameterCount: number;
  opCounts: Record<string, number>;
  /** Ops in domains ONNX Runtime cannot run (e.g. TensorRT plugins). */
  customOps: { domain: string; opType: string; count: number }[];
  externalData: boolean;
  sha256: string;
  bytes: number;
}

export interface CalibrationSummary {
  source: CalibrationSource;
  algorithm: CalibrationAlgorithm;
  samplesRequested: number;
  samplesUsed: number;
  skipped: { reason: string; count: number }[];
  tensors: number;
  reused: boolean;
  reuseReason: string;
  executionProvider: string;
  seconds: number;
}

export interface ExportReport {
  tool: { name: string; version: string };
  startedAt: string;
  finishedAt: string;
  seconds: number;
  precision: Precision;
  model: ModelSummary;
  spec?: { path: string; imageSize: [number, number]; numClasses: number; warnings: string[] };
  calibration?: CalibrationSummary;
  artifacts: ArtifactInfo[];
  warnings: string[];
  stages: { stage: StageId; status: 'done' | 'skipped'; seconds: number; detail?: string }[];
  /** The equivalent CLI command, key masked. */
  command: string;
}
