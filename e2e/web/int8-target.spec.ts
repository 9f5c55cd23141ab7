// The INT8 target in the wizard: the field on the Calibration step (with its validation), the note
// on the Precision step, and a real export whose INT8 misses the target: red stage, red run
// banner and a red verdict with the numbers and the next step on Results — never a green tick.
import path from 'node:path';
import { shot } from '../fixtures/shot.js';
import { expect, test } from '../fixtures/test.js';
import { choosePrecision, next, READ_TIMEOUT, setNumber, setOutput, startExport, throughSpec, waitForDone } from '../fixtures/wizard.js';

test('INT8 below its target is shown in red with the numbers and the next step', async ({ app: page, studio, outDir }) => {
  const s = studio.sample;
  await throughSpec(page, { model: s.tlt, key: studio.key, spec: s.spec });
  await choosePrecision(page, 'int8');
  await expect(page.getByTestId('int8-target-note')).toContainText('90 % detection agreement');
  await next(page, 'calibration');

  await setNumber(page, 'cal-batches', 4);
  await setNumber(page, 'cal-batch-size', 8);
  const field = page.getByTestId('int8-target-input');
  await field.fill('recall=0.9');
  await expect(page.getByTestId('int8-target')).toContainText('is not term=value');
  // Unreachable on purpose, and no search: the gate must say so.
  await field.fill('detections=0.9,snr=150');
  await expect(page.getByTestId('int8-target')).toContainText('Every term must hold: detections=0.9,snr=150');
  await page.getByTestId('int8-search').click();
  await shot(page, 'calibration-int8-target');

  await next(page, 'output');
  await setOutput(page, path.join(outDir, 'model.etlt'));
  await next(page, 'review');
  await expect(page.getByTestId('review-command')).toContainText('--int8_target detections=0.9,snr=150');
  await expect(page.getByTestId('review-command')).toContainText('--int8_search off');
  await startExport(page);
  await waitForDone(page);
  await expect(page.getByTestId('stage-fidelity')).toHaveAttribute('data-alert', 'true', { timeout: READ_TIMEOUT });
  await expect(page.getByTestId('run-done')).toHaveAttribute('data-outcome', 'int8-below-target');
  await expect(page.getByTestId('run-done')).toContainText('INT8 below target');
  await shot(page, 'run-int8-below-target');
  await page.getByTestId('run-results').click();
  const verdict = page.getByTestId('int8-verdict');
  await expect(verdict).toHaveAttribute('data-verdict', 'below');
  await expect(verdict).toContainText('worst output SNR');
  await expect(verdict).toContainText('target ≥ 150.0 dB');
  await expect(page.getByTestId('int8-next-step')).toContainText('INT8 search');
  await expect(page.getByTestId('int8-trtexec')).toContainText('trtexec --onnx=');
  await shot(page, 'results-int8-below-target');
});
