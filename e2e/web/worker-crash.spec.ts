// A worker that dies in the middle of an export (the test-only crash hook SIGKILLs it when a
// stage starts): the UI shows E_WORKER_CRASHED, no partial file remains, and the same page and
// server run the next export fine. Each test starts its own server with the hooks on.
import path from 'node:path';
import type { Page } from '@playwright/test';
import { shot } from '../fixtures/shot.js';
import { expect, listAll, test, withHookedServer } from '../fixtures/test.js';
import { choosePrecision, EXPORT_TIMEOUT, expectStep, next, setNumber, setOutput, startExport, throughSpec, waitForDone, fp32ToReview } from '../fixtures/wizard.js';

async function expectCrashed(page: Page, stage: string): Promise<void> {
  await expect(page.getByTestId('progress-bar')).toHaveAttribute('data-status', 'failed', { timeout: EXPORT_TIMEOUT });
  const alert = page.getByTestId('error-alert');
  await expect(alert).toHaveAttribute('data-code', 'E_WORKER_CRASHED');
  await expect(alert).toContainText('The export failed');
  await expect(page.getByTestId('error-hint')).not.toBeEmpty();
  await expect(page.getByTestId(`stage-${stage}`)).toHaveAttribute('data-status', 'failed');
  await expect(page.getByTestId('run-cancel')).toBeHidden();
}

test('a worker crash during calibration: clear error, no partial files, the next export works', async ({ page, studio, outDir, pageProblems }) => {
  await withHookedServer(studio, { crashAt: 'calibrate' }, async (server) => {
    await page.goto(server.url);
    await expectStep(page, 'model');
    const s = studio.sample;
    await throughSpec(page, { model: s.tlt, key: studio.key, spec: s.spec });
    await choosePrecision(page, 'int8');
    await next(page, 'calibration');
    await setNumber(page, 'cal-batches', 2);
    await setNumber(page, 'cal-batch-size', 4);
    await next(page, 'output');
    const etlt = path.join(outDir, 'model.etlt');
    await setOutput(page, etlt);
    await next(page, 'review');
    await startExport(page);

    await expectCrashed(page, 'calibrate');
    await shot(page, 'worker-crashed');
    expect(await listAll(outDir)).toEqual([]);

    // Same page, same server: FP32 does not calibrate, so the hook does not fire and it succeeds.
    await page.getByTestId('run-back').click();
    await expectStep(page, 'review');
    await page.getByTestId('stepper-precision').click();
    await expectStep(page, 'precision');
    await choosePrecision(page, 'fp32');
    await next(page, 'output');
    await expect(page.getByTestId('output-etlt')).toHaveValue(etlt);
    await next(page, 'review');
    await startExport(page);
    await waitForDone(page);
    await shot(page, 'after-crash-fp32-done');
    const files = await listAll(outDir);
    expect(files).toEqual(expect.arrayContaining(['model.etlt', 'model.onnx', 'nvinfer_config.txt', 'labels.txt']));
    for (const name of files) expect(name).not.toMatch(/^\.|\.tmp|\.lock|\.partial|cal\.bin/);
    expect(pageProblems, 'uncaught page errors or CSP violations').toEqual([]);
  });
});

test('a worker crash after the outputs were staged: its temp and lock files are swept', async ({ page, studio, outDir, pageProblems }) => {
  // When 'deepstream' starts, the .etlt and .onnx are written to hidden temp files and locked, not yet renamed.
  await withHookedServer(studio, { crashAt: 'deepstream' }, async (server) => {
    await page.goto(server.url);
    await expectStep(page, 'model');
    const s = studio.sample;
    await fp32ToReview(page, { model: s.tlt, key: studio.key, spec: s.spec }, path.join(outDir, 'model.etlt'));
    await startExport(page);
    await expectCrashed(page, 'deepstream');
    await expect(page.getByTestId('stage-write')).toHaveAttribute('data-status', 'done');
    // The host says what it cleaned: the .etlt and .onnx temp files and their locks.
    await expect(page.getByTestId('run-log')).toContainText(/Removed [1-9]\d* partial output file/);
    await shot(page, 'worker-crashed-at-deepstream');
    expect(await listAll(outDir)).toEqual([]);
    expect(pageProblems, 'uncaught page errors or CSP violations').toEqual([]);
  });
});
