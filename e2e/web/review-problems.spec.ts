// Issue 12, "problems caught before Start": each problem the job would otherwise hit at run time
// is listed at Review with its one-click fix, and Start stays disabled until every one is fixed
// (or, a warning, accepted). Real server, real files.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { shot } from '../fixtures/shot.js';
import { expect, test } from '../fixtures/test.js';
import { choosePrecision, fp32ToReview, next, READ_TIMEOUT, setNumber, setOutput, setSwitch, startExport, throughSpec, typePath, waitForDone, expectStep } from '../fixtures/wizard.js';

/** Model, key and spec; INT8 calibrated from every image of `imgs` in batches × batch size; the output set. */
async function int8FromFolder(page: Page, m: { model: string; key: string; spec: string }, imgs: string, [batches, batchSize]: [number, number], etlt: string): Promise<void> {
  await throughSpec(page, m);
  await choosePrecision(page, 'int8');
  await next(page, 'calibration');
  await page.getByTestId('cal-source-image-dir').check();
  await typePath(page, 'cal-image-dir', imgs);
  await expect(page.getByTestId('thumb-grid')).toBeVisible({ timeout: READ_TIMEOUT });
  await setNumber(page, 'cal-batches', batches);
  await setNumber(page, 'cal-batch-size', batchSize);
  await next(page, 'output');
  await setOutput(page, etlt);
}

test('missing folder, existing output, leftovers of a previous run: each shown with its fix; Start waits for all', async ({ app: page, studio, outDir }) => {
  const s = studio.sample;
  const deep = path.join(outDir, 'exports', 'v2');
  await fp32ToReview(page, { model: s.tlt, key: studio.key, spec: s.spec }, path.join(deep, 'model.etlt'));

  const start = page.getByTestId('start-export');
  const missing = page.getByTestId('problem-output-dir-missing');
  await expect(missing).toContainText(deep);
  await expect(start).toBeDisabled();
  await shot(page, 'review-folder-missing');
  await page.getByTestId('fix-output-dir-missing').click();
  await expect(missing).toBeHidden({ timeout: READ_TIMEOUT });
  expect((await fs.stat(deep)).isDirectory()).toBe(true);
  await expect(start).toBeEnabled({ timeout: READ_TIMEOUT });

  // A previous run's outputs: the .etlt exists (an error: Overwrite fixes it) and, with the
  // DeepStream config off now, its DeepStream files would stay beside the new ones (a warning).
  await fs.writeFile(path.join(deep, 'model.etlt'), 'previous run');
  await fs.writeFile(path.join(deep, 'nvinfer_config.txt'), '[property]\n# previous run\n');
  await fs.writeFile(path.join(deep, 'labels.txt'), 'BG\nold\n');
  await page.getByTestId('stepper-output').click();
  await expectStep(page, 'output');
  await setSwitch(page, 'output-ds-config', false);
  await page.getByTestId('stepper-review').click();
  await expectStep(page, 'review');

  const exists = page.getByTestId('problem-output-exists');
  const leftover = page.getByTestId('problem-leftover');
  await expect(exists).toContainText(path.join(deep, 'model.etlt'), { timeout: READ_TIMEOUT });
  await expect(leftover).toContainText(path.join(deep, 'nvinfer_config.txt'));
  await expect(leftover).toContainText(path.join(deep, 'labels.txt'));
  await expect(page.getByTestId('review-blockers')).toHaveText('2 problems to resolve before Start');
  await expect(start).toBeDisabled();
  await shot(page, 'review-exists-and-leftovers');

  await page.getByTestId('fix-output-exists').click();
  await expect(exists).toBeHidden({ timeout: READ_TIMEOUT });
  await expect(page.getByTestId('review-summary')).toContainText('overwrite');
  await expect(start).toBeDisabled();
  await page.getByTestId('accept-leftover').click();
  await expect(leftover).toHaveAttribute('data-resolved', 'true');
  await expect(start).toBeEnabled({ timeout: READ_TIMEOUT });

  await startExport(page);
  await waitForDone(page);
  // The export replaced the .etlt and left the accepted leftovers exactly as they were.
  expect((await fs.readFile(path.join(deep, 'model.etlt'))).length).toBeGreaterThan(1000);
  expect(await fs.readFile(path.join(deep, 'nvinfer_config.txt'), 'utf8')).toBe('[property]\n# previous run\n');
});

test('unreadable images and a calibration shortage: deselect them, accept fewer samples', async ({ app: page, studio, outDir }) => {
  const s = studio.sample;
  // A folder bigger than the grid shows at once, with one garbage ".jpg" at the end of the list.
  const imgs = path.join(outDir, 'cal');
  await fs.mkdir(imgs);
  const originals = (await fs.readdir(s.calImages)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  for (let i = 0; i < 120; i++) {
    const src = originals[i % originals.length]!;
    await fs.copyFile(path.join(s.calImages, src), path.join(imgs, `img_${String(i).padStart(3, '0')}${path.extname(src)}`));
  }
  await fs.writeFile(path.join(imgs, 'zz_broken.jpg'), 'this is not a JPEG');

  await int8FromFolder(page, { model: s.tlt, key: studio.key, spec: s.spec }, imgs, [2, 4], path.join(outDir, 'model.etlt'));
  await setSwitch(page, 'output-fidelity', false);
  await next(page, 'review');

  const start = page.getByTestId('start-export');
  const unreadable = page.getByTestId('problem-images-unreadable');
  await expect(unreadable).toContainText(path.join(imgs, 'zz_broken.jpg'), { timeout: READ_TIMEOUT });
  await expect(start).toBeDisabled();
  await shot(page, 'review-unreadable');
  await page.getByTestId('fix-images-unreadable').click();
  await expect(unreadable).toBeHidden({ timeout: READ_TIMEOUT });
  await expect(page.getByTestId('review-summary')).toContainText('120 selected images');
  await expect(start).toBeEnabled({ timeout: READ_TIMEOUT });

  // The grid marks it and does not count it.
  await page.getByTestId('stepper-calibration').click();
  await expectStep(page, 'calibration');
  await expect(page.getByTestId('selection-count')).toContainText('120 selected of 121 (1 unreadable, not used)');
  await page.getByTestId('thumb-filter').fill('zz_');
  await expect(page.getByTestId('thumb-0')).toHaveAttribute('data-unreadable', 'true');
  await expect(page.getByTestId('thumb-0')).toHaveAttribute('data-selected', 'false');
  // aria-disabled: a click (forced past Playwright's check) still does not select it.
  await page.getByTestId('thumb-0').click({ force: true });
  await expect(page.getByTestId('thumb-0')).toHaveAttribute('data-selected', 'false');
  await page.getByTestId('thumb-filter').fill('');

  // More samples than images: the Calibration step flags it; Review offers to accept fewer.
  await setNumber(page, 'cal-batches', 40);
  await expect(page.getByTestId('selection-short')).toBeVisible();
  await page.getByTestId('stepper-review').click();
  await expectStep(page, 'review');
  const short = page.getByTestId('problem-too-few-samples');
  await expect(short).toContainText('40 × 4 = 160 samples but there are 120 selected images');
  await expect(start).toBeDisabled();
  await shot(page, 'review-too-few');
  await page.getByTestId('fix-too-few-samples').click();
  await expect(short).toBeHidden();
  await expect(page.getByTestId('review-summary')).toContainText('fewer samples accepted');
  await expect(page.getByTestId('review-command')).toContainText('--cal_accept_fewer');
  await expect(start).toBeEnabled({ timeout: READ_TIMEOUT });
});

test('an INT8 check that would have no held-out image: a warning at Review, accepted as "Export without the check"', async ({ app: page, studio, outDir }) => {
  const s = studio.sample;
  // A spec without validation_file_pattern (its training records by absolute path), and a folder
  // of 4 images that 2 × 2 calibration reads entirely: nothing is left to hold out.
  const spec = path.join(outDir, 'no-val.txt');
  const text = (await fs.readFile(s.spec, 'utf8'))
    .replace(/^\s*validation_file_pattern:.*\n/m, '')
    .replace(/training_file_pattern: "([^"]+)"/, (_m, p: string) => `training_file_pattern: "${path.join(path.dirname(s.spec), p)}"`);
  await fs.writeFile(spec, text);
  const imgs = path.join(outDir, 'four');
  await fs.mkdir(imgs);
  const originals = (await fs.readdir(s.calImages)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().slice(0, 4);
  for (const f of originals) await fs.copyFile(path.join(s.calImages, f), path.join(imgs, f));

  await int8FromFolder(page, { model: s.tlt, key: studio.key, spec }, imgs, [2, 2], path.join(outDir, 'model.etlt'));
  await next(page, 'review');

  const start = page.getByTestId('start-export');
  const warning = page.getByTestId('problem-no-held-out');
  await expect(warning).toContainText('The INT8 check has no held-out images', { timeout: READ_TIMEOUT });
  await expect(warning).toContainText('calibration reads every image of the folder (4)');
  await expect(start).toBeDisabled();
  await shot(page, 'review-no-held-out');
  await expect(page.getByTestId('accept-no-held-out')).toHaveText('Export without the check');
  await page.getByTestId('accept-no-held-out').click();
  await expect(warning).toHaveAttribute('data-resolved', 'true');
  await expect(start).toBeEnabled({ timeout: READ_TIMEOUT });

  // Calibrating on fewer images than the folder holds leaves some to hold out: no warning.
  await page.getByTestId('stepper-calibration').click();
  await expectStep(page, 'calibration');
  await setNumber(page, 'cal-batches', 1);
  await page.getByTestId('stepper-review').click();
  await expectStep(page, 'review');
  await expect(page.getByTestId('review-summary')).toBeVisible();
  await expect(warning).toBeHidden({ timeout: READ_TIMEOUT });
  await expect(start).toBeEnabled({ timeout: READ_TIMEOUT });
});
