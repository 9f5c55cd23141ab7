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
  /** The algorithm that produced the scales (the cache header names the consumers' calibrator instead). */
  algorithm: CalibrationAlgorithm;
  /** The cache's first line, e.g. TRT-101600-EntropyCalibration2. */
  cacheHeader?: string;
  samplesRequested: number;
  samplesUsed: number;
  skipped: { reason: string; count: number }[];
  tensors: number;
  reused: boolean;
  reuseReason: string;
  executionProvider: string;
  seconds: number;
  /**
   * Per-tensor statistics for the Results charts (issue 8/12: fed by the real pipeline). amax =
   * max |x| seen; threshold = the clip the algorithm chose (threshold / 127 is the cache's scale);
   * histogram of |x| (bin i spans edges[i]..edges[i+1]; absent for minmax and a reused cache).
   */
  tensorStats?: { name: string; amax: number; threshold: number; histogram?: { edges: number[]; counts: number[] } }[];
}

/** FP32 vs INT8 (Q/DQ) agreement on held-out images (never the calibration images). */
export interface FidelityReport {
  /** Images compared, and where they came from. */
  images: number;
  source: string;
  outputs: { name: string; cosine: number; snrDb: number; maxAbsError: number }[];
  /** Mask R-CNN-shaped outputs: detections matched by IoU ≥ 0.5 and class. */
  detections?: {
    fp32: number;
    int8: number;
    matched: number;
    /** matched / max(fp32, int8) */
    agreement: number;
    meanBoxIoU: number;
    classAgreement: number;
    meanAbsScoreDelta: number;
  };
  masks?: { meanMaskIoU: number; compared: number };
  /** Tensors ranked by the output damage when quantized alone (worst first). */
  sensitivity: { name: string; snrDb: number; cosine: number }[];
  /** Tensors to keep in FP16 (e.g. trtexec --layerPrecisions / ModelOpt exclusions). */
  suggestedFp16: string[];
  /** Node names for trtexec --layerPrecisions (the producers/consumers of suggestedFp16). */
  suggestedLayers?: string[];
  /** Tensors pre-screened, and how many were run quantized alone. */
  sensitivityCandidates?: number;
  sensitivityEvaluated?: number;
  seconds: number;
}

/** The consumer-facing settings the job derived (deriveDeployment), for the record. */
export interface DeploymentReport {
  trtVersion: string;
  /** INT8: the cache header every consumer loads, and the algorithm its scales came from. */
  cacheHeader?: string;
  calibrationAlgorithm?: CalibrationAlgorithm;
  /** Tensors kept in float, and the layers pinned for them. */
  floatTensors: string[];
  floatLayers: string[];
  /** A trtexec command that builds the engine from the written files. */
  trtexec: string;
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
  fidelity?: FidelityReport;
  deployment?: DeploymentReport;
  artifacts: ArtifactInfo[];
  warnings: string[];
  stages: { stage: StageId; status: 'done' | 'skipped'; seconds: number; detail?: string }[];
  /** The equivalent CLI command, key masked. */
  command: string;
}
