import type { ArtifactRole, StageId } from './events.js';
import type { Precision, CalibrationAlgorithm, CalibrationSource } from './request.js';
import type { Int8Target, TargetCheck } from './int8-target.js';

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
  /**
   * Per output. zeroReference: both runs gave zeros (or no values) on every image: nothing to
   * measure (the gate skips the output). sizeMismatch: images where INT8 gave the output a different
   * size than FP32 (values one run lacks count as error against 0).
   */
  outputs: { name: string; cosine: number; snrDb: number; maxAbsError: number; zeroReference?: boolean; sizeMismatch?: number }[];
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
  /** The gate: the INT8 target and whether the final INT8 (after the search) meets it. */
  verdict?: Int8Verdict;
  /** The automatic search: per-tensor algorithm choice and float fallback. */
  search?: Int8SearchReport;
  /** trtexec line for the written files: the cache, with the layers kept in FP16 pinned (--precisionConstraints/--layerPrecisions). */
  trtexec?: string;
  /** The check was not run again: a matching earlier result (same model, cache, held-out set, target) was reused. */
  reused?: boolean;
}

export interface Int8Verdict {
  meetsTarget: boolean;
  target: Int8Target;
  /** 'default' = chosen by output kind (docs/FORMATS.md), 'request' = --int8_target / wizard field. */
  targetOrigin: 'default' | 'request';
  checks: TargetCheck[];
  /** One line, e.g. "INT8 below target: detection agreement 0.0 % (target ≥ 90.0 %)". */
  summary: string;
  /** What to do next when the target is missed. */
  nextStep?: string;
  /** --allow_below_target: the job still exits 0. */
  allowed: boolean;
}

/** A tensor kept out of INT8 (no scale in the cache, no Q/DQ, pinned by trtexec/DeepStream). */
export interface FloatTensor {
  name: string;
  /** ONNX node names (= TensorRT layer names) that produce or read it. */
  layers: string[];
  precision: 'fp16';
  reason: string;
}

export interface Int8SearchStep {
  /** What changed, e.g. "per-tensor algorithm (12 entropy, 3 percentile, 5 minmax)", "float fallback: 2 tensors". */
  step: string;
  floatTensors: number;
  /** The target terms after this step. */
  checks: { term: TargetCheck['term']; value: number | null }[];
  meetsTarget: boolean;
  /** Kept as the current best. */
  kept: boolean;
  seconds: number;
}

export interface Int8SearchReport {
  mode: 'auto' | 'off';
  /** Why it ended. */
  stoppedBy: 'already-met' | 'target-met' | 'budget' | 'exhausted' | 'off' | 'cancelled';
  steps: Int8SearchStep[];
  /** How many tensors use each algorithm's threshold in the final mix. */
  algorithms: Partial<Record<CalibrationAlgorithm, number>>;
  /** Per tensor, when it differs from the requested algorithm. */
  algorithmOf?: Record<string, CalibrationAlgorithm>;
  floatTensors: FloatTensor[];
  evaluations: number;
  seconds: number;
  /** The bound: 2 × the calibration time. */
  budgetSeconds: number;
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
  /** 'int8-below-target': every file was written, but the INT8 misses its fidelity target (see fidelity.verdict). */
  outcome?: 'success' | 'int8-below-target';
  artifacts: ArtifactInfo[];
  warnings: string[];
  stages: { stage: StageId; status: 'done' | 'skipped'; seconds: number; detail?: string; alert?: boolean }[];
  /** The equivalent CLI command, key masked. */
  command: string;
}

/**
 * Why an INT8 export carries no fidelity verdict (check switched off, or skipped), or null when it
 * is not INT8 or it has a verdict. No verdict is not a pass: the CLI and the app both say so.
 */
export function int8UncheckedReason(report: Pick<ExportReport, 'precision' | 'fidelity' | 'stages'>): string | null {
  if (report.precision !== 'int8' || report.fidelity?.verdict) return null;
  const st = report.stages.find((s) => s.stage === 'fidelity');
  return st?.detail ?? 'the fidelity check did not run';
}
