import path from 'node:path';
import type { ExportRequest } from '../../shared/request.js';
import { EXPORT_DEFAULTS, calibrationReportPath, defaultOnnxPath, dsConfigPaths, provenancePath } from '../../shared/defaults.js';

/** Every file a request will write, resolved once so preflight, stages and the report agree. */
export interface OutputPlan {
  etlt: string;
  /** Plain ONNX: when asked for, or with the DeepStream config (DeepStream cannot read our .etlt). */
  onnx?: string;
  qdq?: string;
  cache?: string;
  provenance?: string;
  calibrationReport?: string;
  tensorfile?: string;
  dsConfig?: string;
  labels?: string;
  report?: string;
  engine?: string;
}

/**
 * Absolute paths of every output, relative request paths resolved against `cwd` (the CLI's CWD;
 * the host passes its own). Derived names come from shared/defaults.ts, the same module the CLI
 * and the app use for their defaults.
 */
export function planOutputs(r: ExportRequest, cwd: string = process.cwd()): OutputPlan {
  const abs = (p: string) => path.resolve(cwd, p);
  const etlt = abs(r.outputs.etlt);
  const plan: OutputPlan = { etlt };
  if (r.outputs.onnx) plan.onnx = abs(r.outputs.onnx);
  else if (r.outputs.dsConfig) plan.onnx = defaultOnnxPath(etlt, abs(r.model));
  if (r.outputs.dsConfig) {
    const ds = dsConfigPaths(etlt);
    plan.dsConfig = ds.dsConfig;
    if (r.outputs.labels) plan.labels = ds.labels;
  }
  if (r.precision === 'int8') {
    const cache = abs(r.outputs.cache ?? EXPORT_DEFAULTS.calCacheFile);
    plan.cache = cache;
    plan.provenance = provenancePath(cache);
    plan.calibrationReport = calibrationReportPath(cache);
    if (r.outputs.qdq) plan.qdq = abs(r.outputs.qdq);
    if (r.calibration?.writeTensorfile && r.calibration.tensorfile) plan.tensorfile = abs(r.calibration.tensorfile);
  }
  if (r.outputs.report) plan.report = abs(r.outputs.report);
  if (r.outputs.engine) plan.engine = abs(r.outputs.engine);
  return plan;
}
