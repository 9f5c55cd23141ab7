import { useEffect, useRef, type ReactNode } from 'react';
import { Box, Button, Paper, Stack, Step, StepButton, StepLabel, Stepper, Typography } from '@mui/material';
import ArrowBackIcon from '@mui/icons-material/ArrowBack';
import ArrowForwardIcon from '@mui/icons-material/ArrowForward';
import { STEP_IDS, STEP_LABELS, isStepSkipped, stepIndex, type StepId } from '../store/steps.js';
import { useWizardStore } from '../store/wizard.js';
import { useOptionsStore } from '../store/options.js';
import { useSourceStore } from '../store/source.js';
import { useImagesStore } from '../store/images.js';
import { useJobStore } from '../store/job.js';
import { KEY_BLOCKER, stepBlockers } from '../store/request.js';
import { keyVerified, needsKey } from '../store/source.js';
import { useClient } from '../app/client-context.js';
import { checkKey } from './actions.js';
import { StickyFooter } from './StickyFooter.js';
import { ModelStep } from './steps/ModelStep.js';
import { KeyStep } from './steps/KeyStep.js';
import { SpecStep } from './steps/SpecStep.js';
import { PrecisionStep } from './steps/PrecisionStep.js';
import { CalibrationStep } from './steps/CalibrationStep.js';
import { OutputStep } from './steps/OutputStep.js';
import { ReviewStep } from './steps/ReviewStep.js';
import { RunStep } from './steps/RunStep.js';
import { ResultsStep } from './steps/ResultsStep.js';

const PANELS: Record<StepId, () => ReactNode> = {
  model: () => <ModelStep />,
  key: () => <KeyStep />,
  spec: () => <SpecStep />,
  precision: () => <PrecisionStep />,
  calibration: () => <CalibrationStep />,
  output: () => <OutputStep />,
  review: () => <ReviewStep />,
  run: () => <RunStep />,
  results: () => <ResultsStep />,
};

const TITLES: Record<StepId, string> = {
  model: 'Choose the model',
  key: 'Model key',
  spec: 'Experiment spec',
  precision: 'Precision',
  calibration: 'INT8 calibration',
  output: 'Outputs and GPU',
  review: 'Review',
  run: 'Exporting',
  results: 'Results',
};

/** Steps whose own footer drives navigation (Start, Cancel, New export). */
const OWN_FOOTER = new Set<StepId>(['review', 'run', 'results']);

export function Wizard() {
  const step = useWizardStore((s) => s.step);
  const furthest = useWizardStore((s) => s.furthest);
  const precision = useOptionsStore((s) => s.precision);
  const jobStatus = useJobStore((s) => s.status);
  const source = useSourceStore();
  const options = useOptionsStore();
  const images = useImagesStore();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const client = useClient();
  const jobActive = jobStatus === 'running' || jobStatus === 'starting';

  // Keyboard and screen-reader users land on the new step's heading.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    headingRef.current?.focus();
  }, [step]);

  let blockers = stepBlockers(step, source, options, images);
  const { next, back, goto } = useWizardStore.getState();
  // Key typed but not checked yet: Next checks it and moves on only if it is right.
  const keyToCheck = step === 'key' && needsKey(source.modelPath) && source.key !== '' && (source.checkedKey !== source.key || source.keyCheck.status === 'checking');
  if (keyToCheck) blockers = blockers.filter((b) => b !== KEY_BLOCKER);
  const onNext = async () => {
    if (keyToCheck) {
      await checkKey(client);
      if (!keyVerified(useSourceStore.getState())) return;
    }
    next(precision);
  };

  return (
    <Stack spacing={2}>
      <Paper sx={{ p: { xs: 1, md: 2 }, overflowX: 'auto', overflowY: 'hidden' }}>
        <Stepper nonLinear activeStep={stepIndex(step)} alternativeLabel aria-label="Export steps" data-testid="stepper">
          {STEP_IDS.map((id) => {
            const skipped = isStepSkipped(id, precision);
            let canVisit: boolean;
            if (skipped) canVisit = false;
            else if (jobActive) canVisit = id === 'run';
            else if (id === 'run') canVisit = jobStatus !== 'idle';
            else if (id === 'results') canVisit = jobStatus === 'done';
            else canVisit = stepIndex(id) <= stepIndex(furthest);
            return (
              <Step key={id} completed={stepIndex(id) < stepIndex(furthest) && !skipped && id !== step} disabled={skipped}>
                <StepButton
                  onClick={() => goto(id)}
                  disabled={!canVisit && id !== step}
                  data-testid={`stepper-${id}`}
                  aria-current={id === step ? 'step' : undefined}
                  optional={skipped ? <Typography variant="caption">INT8 only</Typography> : undefined}
                >
                  <StepLabel>{STEP_LABELS[id]}</StepLabel>
                </StepButton>
              </Step>
            );
          })}
        </Stepper>
      </Paper>
      <Paper component="section" sx={{ p: { xs: 2, md: 3 } }} aria-labelledby="step-title" data-testid={`step-${step}`}>
        <Typography id="step-title" variant="h5" component="h2" tabIndex={-1} ref={headingRef} sx={{ mb: 2, outline: 'none' }}>
          {TITLES[step]}
        </Typography>
        {PANELS[step]()}
        {!OWN_FOOTER.has(step) && (
          <StickyFooter>
            <Button startIcon={<ArrowBackIcon />} onClick={() => back(precision)} disabled={step === 'model'} data-testid="wizard-back">
              Back
            </Button>
            <Box sx={{ flex: 1 }} />
            {blockers.length > 0 && (
              <Typography variant="body2" color="text.secondary" data-testid="wizard-blockers" role="status">
                {blockers[0]}
              </Typography>
            )}
            <Button variant="contained" endIcon={<ArrowForwardIcon />} onClick={() => void onNext()} disabled={blockers.length > 0} data-testid="wizard-next">
              Next
            </Button>
          </StickyFooter>
        )}
      </Paper>
    </Stack>
  );
}
