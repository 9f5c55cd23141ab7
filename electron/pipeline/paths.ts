import path from 'node:path';
import type { ExportRequest } from '../../shared/request.js';

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

function stripExt(p: string): string {
  const ext = path.extname(p);
  return ext ? p.slice(0, -ext.length) : p;
}

export function planOutputs(r: ExportRequest, cwd: string = process.cwd()): OutputPlan {
  const abs = (p: string) => path.resolve(cwd, p);
  const etlt = abs(r.outputs.etlt);
  const dir = path.dirname(etlt);
  const plan: OutputPlan = { etlt };
  if (r.outputs.onnx) plan.onnx = abs(r.outputs.onnx);
  else if (r.outputs.dsConfig) {
    // Never the input itself: `-m x.onnx` beside `x.etlt` would otherwise name the model as its own copy.
    const onnx = `${stripExt(etlt)}.onnx`;
    plan.onnx = onnx === abs(r.model) ? `${stripExt(etlt)}.deepstream.onnx` : onnx;
  }
  if (r.outputs.dsConfig) {
    plan.dsConfig = path.join(dir, 'nvinfer_config.txt');
    if (r.outputs.labels) plan.labels = path.join(dir, 'labels.txt');
  }
  if (r.precision === 'int8') {
    const cache = abs(r.outputs.cache ?? './cal.bin');
    plan.cache = cache;
    plan.provenance = `${cache}.json`;
    plan.calibrationReport = `${stripExt(cache)}.calibration.json`;
    if (r.outputs.qdq) plan.qdq = abs(r.outputs.qdq);
    if (r.calibration?.writeTensorfile && r.calibration.tensorfile) plan.tensorfile = abs(r.calibration.tensorfile);
  }
  if (r.outputs.report) plan.report = abs(r.outputs.report);
  if (r.outputs.engine) plan.engine = abs(r.outputs.engine);
  return plan;
}
