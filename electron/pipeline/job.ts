import path from 'node:path';
import type { ExportRequest } from '../../shared/request.js';
import type { ArtifactRole, StageId } from '../../shared/events.js';
import type { ArtifactInfo, CalibrationSummary, ExportReport, FidelityReport, ModelSummary } from '../../shared/report.js';
import { StudioError } from '../../shared/errors.js';
import type { JobContext } from './context.js';
import type { OutputSet } from './io/outputs.js';
import type { OutputPlan } from './paths.js';
import type { MaskRcnnSpec } from './spec/index.js';
import type { ModelFormat } from './model/index.js';
import { deriveDeployment, type Deployment, type DeploymentInput, type DeploymentNode } from './deploy/index.js';
// Types only: calibrate-step.ts imports this module for its values.
import type { CalibrationOutcome } from './calibrate-step.js';

/**
 * What every pipeline step shares: the job's state, the Step shape and two helpers. The steps
 * (steps.ts, calibrate-step.ts, engine-step.ts, fidelity-step.ts) import this leaf module, never
 * each other's values, so the pipeline's import graph has no cycle (test/graph/cycles.test.ts).
 */
export interface SpecState {
  path: string;
  dir: string;
  parsed: MaskRcnnSpec;
  imageSize: [number, number];
  numClasses: number;
  warnings: string[];
}

export interface ModelState {
  format: ModelFormat;
  etltInputName?: string;
  onnx: Buffer;
  /** Size and sha256 of the model file as given (sealed or not). */
  fileBytes: number;
  sha256: string;
  /** Set by the inspect stage. */
  summary?: ModelSummary;
}

export interface JobState {
  request: ExportRequest;
  ctx: JobContext;
  outputs: OutputSet;
  command: string;
  plan?: OutputPlan;
  stageTimes: ExportReport['stages'];
  artifacts: ArtifactInfo[];
  /** final path → role, for the artifact events after commit. */
  roles: Map<string, ArtifactRole>;
  spec?: SpecState;
  model?: ModelState;
  calibration?: CalibrationSummary;
  calibrated?: CalibrationOutcome;
  fidelity?: FidelityReport;
  /** What deriveDeployment was given (set by the inspect stage); kept so floatTensors can change later. */
  deploymentInput?: DeploymentInput;
  /** Every consumer-facing setting (cache header, nvinfer keys, trtexec flags, float tensors), derived once. */
  deployment?: Deployment;
}

/**
 * Change the tensors kept in float (e.g. after an FP16-fallback search) and re-derive every
 * consumer-facing setting from the same input: the cache, the Q/DQ model, the trtexec line and
 * the DeepStream config written after this call all leave them in float.
 */
export function setFloatTensors(s: JobState, floatTensors: readonly string[], nodes?: readonly DeploymentNode[]): Deployment {
  const input = must(s.deploymentInput, 'deployment input');
  s.deploymentInput = { ...input, floatTensors: [...floatTensors], ...(nodes ? { nodes } : {}) };
  s.deployment = deriveDeployment(s.deploymentInput);
  return s.deployment;
}

export interface Step {
  stage: StageId;
  /** true: run; false: not applicable (no event); string: skipped, with the reason shown. */
  when(s: JobState): boolean | string;
  /** Returns a one-line detail for the 'done' event; `alert`: done, but the result misses its target (shown in red, never as a tick). */
  run(s: JobState): Promise<string | void | { detail: string; alert: true }>;
}

export function must<T>(v: T | undefined | null, what: string): T {
  if (v === undefined || v === null) throw new StudioError('E_INTERNAL', `${what} missing`, 'This is a bug in Export Studio; please report it.');
  return v;
}

/** Stage a file through the OutputSet and remember its role for the artifact list. */
export async function stageWrite(s: JobState, role: ArtifactRole, file: string, data: string | Uint8Array, mode?: number): Promise<void> {
  await s.outputs.write(file, data, mode);
  s.roles.set(path.resolve(file), role);
}

