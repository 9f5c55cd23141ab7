import { create } from 'zustand';
import { nextStep, prevStep, stepIndex, type StepId } from './steps.js';
import type { Precision } from '../../../shared/request.js';

interface WizardStore {
  step: StepId;
  /** Furthest step reached: steps up to it can be revisited from the stepper. */
  furthest: StepId;
  goto(step: StepId): void;
  next(precision: Precision): void;
  back(precision: Precision): void;
  restart(): void;
}

function further(a: StepId, b: StepId): StepId {
  return stepIndex(a) >= stepIndex(b) ? a : b;
}

export const useWizardStore = create<WizardStore>()((set) => ({
  step: 'model',
  furthest: 'model',
  goto: (step) => set((s) => ({ step, furthest: further(s.furthest, step) })),
  next: (p) => set((s) => {
    const step = nextStep(s.step, p);
    return { step, furthest: further(s.furthest, step) };
  }),
  back: (p) => set((s) => ({ step: prevStep(s.step, p) })),
  restart: () => set({ step: 'model', furthest: 'model' }),
}));
