// Cancel while the INT8 calibration runs: the UI says cancelled, and the output folder holds
// nothing at all afterwards (no output, no temp or lock file, hidden or not). Then the same
// with outputs already staged (held by the test hook), so there are partial files to clean.
import path from 'node:path';
import { SAMPLE_RECORDS } from '../fixtures/env.js';
import { shot } from '../fixtures/shot.js';
import { expect, listAll, test, withHookedServer } from '../fixtures/test.js';
import { choosePrecision, EXPORT_TIMEOUT, expectStep, next, READ_TIMEOUT, setNumber, setOutput, startExport, throughSpec, fp32ToReview } from '../fixtures/wizard.js';

test('Cancel during calibration leaves no partial file', async ({ app: page, studio, outDir }) => {
  const s = studio.sample;
  await throughSpec(page, { model: s.tlt, key: studio.key, spec: s.spec });
  await choosePrecision(page, 'int8');
  await next(page, 'calibration');
  // The spec's data loader over every record: long enough (seconds) to cancel in the middle.
  await expect(page.getByTestId('cal-source-spec-loader')).toBeChecked();
  await setNumber(page, 'cal-batches', SAMPLE_RECORDS / 8);
  await setNumber(page, 'cal-batch-size', 8);
  await next(page, 'output');
  await setOutput(page, path.join(outDir, 'model.etlt'));
  await next(page, 'review');
  await startExport(page);

  const stage = page.getByTestId('stage-calibrate');
  await expect(stage).toHaveAttribute('data-status', 'running', { timeout: READ_TIMEOUT });
  await page.getByTestId('run-cancel').click();
  const bar = page.getByTestId('progress-bar');
  await expect(bar).toHaveAttribute('data-status', /cancelled|done|failed/, { timeout: EXPORT_TIMEOUT });
  expect(await bar.getAttribute('data-status'), 'the job ended cancelled (if "done": calibration finished before the click — make the sample bigger)').toBe('cancelled');
  await expect(page.getByTestId('run-cancelled')).toBeVisible();
  await expect(stage).toHaveAttribute('data-status', 'cancelled');
  await expect(page.getByTestId('stage-write')).toHaveAttribute('data-status', 'pending');
  await expect(page.getByTestId('run-cancel')).toBeHidden();
  await shot(page, 'run-cancelled');
  // The host removes a killed job's partial outputs before it reports the cancel.
  expect(await listAll(outDir)).toEqual([]);

  // The wizard is usable again: back to Review, Start is offered.
  await page.getByTestId('run-back').click();
  await expect(page.getByTestId('start-export')).toBeEnabled();
});

test('Cancel while outputs are staged removes their temp and lock files', async ({ page, studio, outDir, pageProblems }) => {
  // The hold hook blocks the worker when 'deepstream' starts: the .etlt and .onnx are then hidden
  // temp files with their locks beside them, so this proves the cancel path cleans real files.
  await withHookedServer(studio, { holdAt: 'deepstream' }, async (server) => {
    await page.goto(server.url);
    await expectStep(page, 'model');
    const s = studio.sample;
    await fp32ToReview(page, { model: s.tlt, key: studio.key, spec: s.spec }, path.join(outDir, 'model.etlt'));
    await startExport(page);
    await expect(page.getByTestId('stage-deepstream')).toHaveAttribute('data-status', 'running', { timeout: EXPORT_TIMEOUT });
    const staged = await listAll(outDir);
    expect(staged.length, 'partial files exist while the worker holds').toBeGreaterThan(0);
    for (const name of staged) expect(name, 'only hidden temp/lock files before the commit').toMatch(/^\..*export-studio/);
    expect(staged).toEqual(expect.arrayContaining(['.model.etlt.export-studio-lock', expect.stringMatching(/^\.model\.etlt\.export-studio-\d+-[0-9a-f]+\.tmp$/)]));
    test.info().annotations.push({ type: 'staged while held', description: staged.join(', ') });
    await shot(page, 'held-with-staged-outputs');
    await page.getByTestId('run-cancel').click();
    await expect(page.getByTestId('run-cancelled')).toBeVisible({ timeout: EXPORT_TIMEOUT });
    expect(await listAll(outDir)).toEqual([]);
    await expect(page.getByTestId('run-log')).toContainText(/Removed [1-9]\d* partial output file/);
    expect(pageProblems, 'uncaught page errors or CSP violations').toEqual([]);
  });
});
