import path from 'node:path';
import type { ExportRequest } from '../../shared/request.js';
import type { OutputPlan } from '../../shared/defaults.js';
import { planOutputPaths } from '../../shared/plan.js';

export type { OutputPlan } from '../../shared/defaults.js';

/**
 * Every file a request will write, absolute, resolved once so preflight, stages and the report
 * agree: relative request paths against `cwd` (the CLI's CWD; the host passes its own). The rules
 * are shared/plan.ts + shared/defaults.ts, the ones the CLI and the app use for their defaults.
 */
export function planOutputs(r: ExportRequest, cwd: string = process.cwd()): OutputPlan {
  return planOutputPaths(r, (p) => path.resolve(cwd, p));
}
