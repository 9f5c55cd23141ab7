// INT8 calibration: statistics engine, algorithms, TensorRT cache, provenance, Q/DQ ONNX, report.
export { runCalibration, clippedFraction, DEFAULT_SAMPLE_TARGET, type CalibrationOptions, type CalibrationResult, type TensorStats } from './engine.js';
export { entropyThreshold, type EntropyOptions, type ThresholdResult } from './entropy.js';
export { percentileThreshold } from './percentile.js';
export { AbsMax, minmaxThreshold } from './minmax.js';
export {
  DEFAULT_BINS,
  type AbsHistogram,
  type HistogramSummary,
  histogramOf,
  mergeHistograms,
  accumulate,
  emptyHistogram,
  summarize,
  widthExponent,
  binWidth,
} from './histogram.js';
export {
  type CacheEntry,
  type CacheHeaderAlgorithm,
  type CacheWriteInput,
  type ParsedCache,
  type ParsedCacheEntry,
  writeCalibrationCache,
  parseCalibrationCache,
  encodeTrtVersion,
  decodeTrtVersion,
  headerAlgorithmFor,
  scaleForAmax,
  isWritableScale,
  MIN_AMAX,
  ZERO_TENSOR_AMAX,
  CONSUMER_HEADER_ALGORITHM,
  scaleToHex,
  hexToScale,
} from './cache.js';
export {
  STATS_VERSION,
  ProvenanceSchema,
  type Provenance,
  type ProvenanceInput,
  type SelectedItem,
  buildProvenance,
  serializeProvenance,
  parseProvenance,
  compareProvenance,
  decideCacheReuse,
  dataSelectionDigest,
  statSelection,
  preprocessingDigest,
  sha256Hex,
} from './provenance.js';
export { buildQdqModel, buildQdqModelWithSummary, auditQdq, type QdqAudit, type QdqOptions, type QdqRule, type QdqSummary } from './qdq.js';
export { buildCalibrationReport, type CalibrationReport } from './report.js';
export { planGraph, type GraphPlan, type Uncalibrated } from './plan.js';
