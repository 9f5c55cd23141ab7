export { runFidelity, SUGGEST_BELOW_DB, SUGGEST_SHARE_DB, type FidelityOptions, type FidelityResult } from './fidelity.js';
export { selectHeldOut, calibrationSelection, heldOutSeed, excluding, type HeldOut, type HeldOutRequest, type HeldOutSpec } from './heldout.js';
export { compareTensors, AgreementAccumulator, boxIoU, maskIoU, fakeQuantError, SNR_CAP_DB } from './metrics.js';
export { DetectionAccumulator, matchDetections, parseDetections, alignRows, findDetectionOutputs, DEFAULT_MIN_SCORE, DEFAULT_MIN_IOU } from './detections.js';
export { analyseQdq, keepQuantizers, withExtraOutputs, type QuantizedActivation } from './qdq-graph.js';
export { Int8Evaluator, runInt8Search, compareInto, type HeldImage, type Measured, type SearchOptions, type SearchResult } from './search.js';
