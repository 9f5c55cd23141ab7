import type { ExportRequest } from './request.js';
import { EXPORT_DEFAULTS, calibrationReportPath, defaultOnnxPath, dsConfigPaths, provenancePath, type OutputPlan } from './defaults.js';

/**
 * Every file a request writes, from the rules in shared/defaults.ts. `resolve` makes a request
 * path absolute (the pipeline: against its CWD; the app's mock: identity). Pure, so the worker,
 * the host API (planOutputs, web and desktop) and the renderer's mock share it.
 */
export function planOutputPaths(r: ExportRequest, resolve: (p: string) => string): OutputPlan {
  const etlt = resolve(r.outputs.etlt);
  const plan: OutputPlan = { etlt };
  if (r.outputs.onnx) plan.onnx = resolve(r.outputs.onnx);
  else if (r.outputs.dsConfig) plan.onnx = defaultOnnxPath(etlt, resolve(r.model));
  if (r.outputs.dsConfig) {
    const ds = dsConfigPaths(etlt);
    plan.dsConfig = ds.dsConfig;
    if (r.outputs.labels) plan.labels = ds.labels;
  }
  if (r.precision === 'int8') {
    const cache = resolve(r.outputs.cache ?? EXPORT_DEFAULTS.calCacheFile);
    plan.cache = cache;
    plan.provenance = provenancePath(cache);
    plan.calibrationReport = calibrationReportPath(cache);
    if (r.outputs.qdq) plan.qdq = resolve(r.outputs.qdq);
    if (r.calibration?.writeTensorfile && r.calibration.tensorfile) plan.tensorfile = resolve(r.calibration.tensorfile);
  }
  if (r.outputs.report) plan.report = resolve(r.outputs.report);
  if (r.outputs.engine) plan.engine = resolve(r.outputs.engine);
  return plan;
}
