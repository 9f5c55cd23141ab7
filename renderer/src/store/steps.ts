import type { Precision } from '../../../shared/request.js';

export const STEP_IDS = ['model', 'key', 'spec', 'precision', 'calibration', 'output', 'review', 'run', 'results'] as const;
export type StepId = (typeof STEP_IDS)[number];

export const STEP_LABELS: Record<StepId, string> = {
  model: 'Model',
  key: 'Key',
  spec: 'Spec',
  precision: 'Precision',
  calibration: 'Calibration',
  output: 'Output & GPU',
  review: 'Review',
  run: 'Run',
  results: 'Results',
};

/** Calibration only exists for INT8; the stepper shows it as skipped otherwise. */
export function isStepSkipped(step: StepId, precision: Precision): boolean {
  return step === 'calibration' && precision !== 'int8';
}

export function stepIndex(step: StepId): number {
  return STEP_IDS.indexOf(step);
}

export function nextStep(step: StepId, precision: Precision): StepId {
  for (let i = stepIndex(step) + 1; i < STEP_IDS.length; i++) {
    const s = STEP_IDS[i] as StepId;
    if (!isStepSkipped(s, precision)) return s;
  }
  return step;
}

export function prevStep(step: StepId, precision: Precision): StepId {
  for (let i = stepIndex(step) - 1; i >= 0; i--) {
    const s = STEP_IDS[i] as StepId;
    if (!isStepSkipped(s, precision)) return s;
  }
  return step;
}
