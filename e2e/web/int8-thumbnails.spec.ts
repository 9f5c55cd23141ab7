// INT8 with calibration images picked by clicking thumbnails (image folder source): click,
// Shift-click a range, the count against batches × batch size, the tensor preview, then a real
// calibration whose TensorRT cache and provenance are checked on disk.
import fs from 'node:fs/promises';
import path from 'node:path';
import { SAMPLE_CAL_IMAGES } from '../fixtures/env.js';
import { shot } from '../fixtures/shot.js';
import { expect, listAll, test } from '../fixtures/test.js';
import { choosePrecision, next, READ_TIMEOUT, setNumber, setOutput, startExport, throughSpec, typePath, waitForDone, webStorageDump } from '../fixtures/wizard.js';

test('INT8: pick calibration images by clicking thumbnails, calibrate, cache on disk', async ({ app: page, studio, outDir }) => {
  const s = studio.sample;
  await throughSpec(page, { model: s.tlt, key: studio.key, spec: s.spec });
  await choosePrecision(page, 'int8');
  await expect(page.getByTestId('int8-note')).toBeVisible();
  await shot(page, 'precision-int8');
  await next(page, 'calibration');

  // Image folder source: every image starts selected.
  await page.getByTestId('cal-source-image-dir').check();
  await typePath(page, 'cal-image-dir', s.calImages);
  const grid = page.getByTestId('thumb-grid');
  await expect(grid).toBeVisible({ timeout: READ_TIMEOUT });
  const count = page.getByTestId('selection-count');
  const selected = (n: number) => expect(count).toHaveText(new RegExp(`^${n} selected of ${SAMPLE_CAL_IMAGES} · `));
  await selected(SAMPLE_CAL_IMAGES);
  // Real thumbnails came back from the server's /thumb route (token + cookie).
  await expect
    .poll(() => page.getByTestId('thumb-0').locator('img').evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth), { timeout: READ_TIMEOUT })
    .toBeGreaterThan(0);
  await shot(page, 'calibration-folder-loaded');

  await setNumber(page, 'cal-batches', 2);
  await setNumber(page, 'cal-batch-size', 3);
  await expect(count).toContainText('2 batches × 3 = 6 needed');

  // Select none, then one click and a Shift-click range 2..7.
  await page.getByTestId('select-none').click();
  await selected(0);
  await page.getByTestId('thumb-2').click();
  await expect(page.getByTestId('thumb-2')).toHaveAttribute('data-selected', 'true');
  await selected(1);
  await expect(page.getByTestId('selection-short')).toContainText('5 image(s) short of 2 × 3');
  await shot(page, 'calibration-one-selected-short');
  await page.getByTestId('thumb-7').click({ modifiers: ['Shift'] });
  await selected(6);
  for (let i = 0; i <= 9; i++) {
    await expect(page.getByTestId(`thumb-${i}`), `thumb-${i}`).toHaveAttribute('data-selected', String(i >= 2 && i <= 7));
  }
  // A plain click toggles one off and on again.
  await page.getByTestId('thumb-4').click();
  await selected(5);
  await expect(page.getByTestId('selection-short')).toBeVisible();
  await page.getByTestId('thumb-4').click();
  await selected(6);
  await expect(page.getByTestId('selection-short')).toBeHidden();

  // The focused tile's exact model input: 320×512 NCHW from the spec, letterboxed.
  const focusedName = await page.getByTestId('thumb-4').getAttribute('aria-label');
  const preview = page.getByTestId('tensor-preview');
  await expect(preview).toContainText(`Model input for ${focusedName}`);
  await expect(page.getByTestId('tensor-preview-image')).toBeVisible({ timeout: READ_TIMEOUT });
  await expect(page.getByTestId('tensor-preview-stats')).toContainText('NCHW 320×512');
  await expect(page.getByTestId('tensor-preview-stats')).toContainText('size from spec image_size (320, 512)');
  await shot(page, 'calibration-six-selected-preview');

  await next(page, 'output');
  const etlt = path.join(outDir, 'model.etlt');
  await setOutput(page, etlt);
  await expect(page.getByTestId('output-cache')).toHaveValue(path.join(outDir, 'cal.bin'));
  // The target TensorRT the page shows (remembered across jobs, so another spec may have changed it):
  // the cache header must carry exactly that version.
  const trtShown = /TensorRT (\d+)\.(\d+)\.(\d+)/.exec((await page.getByTestId('output-trt-version').textContent()) ?? '');
  expect(trtShown, 'the Output step names the target TensorRT').not.toBeNull();
  const [, major, minor, patch] = trtShown!.map(Number);
  const trtInt = major! * 10000 + minor! * 100 + patch!;
  await shot(page, 'output-int8');

  await next(page, 'review');
  await expect(page.getByTestId('review-summary')).toContainText('6 selected images; 2 × 3, seed 42, entropy');
  await expect(page.getByTestId('review-command')).toContainText('--data_type int8');
  await shot(page, 'review-int8');

  await startExport(page);
  await expect(page.getByTestId('stage-calibrate')).toHaveAttribute('data-status', /running|done/, { timeout: READ_TIMEOUT });
  await shot(page, 'run-int8');
  await waitForDone(page);
  await expect(page.getByTestId('stage-calibrate')).toHaveAttribute('data-status', 'done');
  await shot(page, 'run-int8-done');
  await page.getByTestId('run-results').click();
  await expect(page.getByTestId('result-calibration')).toContainText('6 of 6 samples');
  const cacheFile = path.join(outDir, 'cal.bin');
  await expect(page.getByTestId('result-artifacts').locator('[data-role="cache"]')).toContainText(cacheFile);
  await shot(page, 'results-int8');

  // The TensorRT calibration cache: header line, then `tensor: <float32 scale as hex>` lines.
  const cache = (await fs.readFile(cacheFile, 'utf8')).trimEnd().split('\n');
  expect(cache[0]).toBe(`TRT-${trtInt}-EntropyCalibration2`);
  expect(cache.length).toBeGreaterThan(5);
  for (const line of cache.slice(1)) expect(line).toMatch(/^\S.*: [0-9a-f]{8}$/);
  // Its provenance records exactly the six picked images, in batches of 3.
  const prov = JSON.parse(await fs.readFile(`${cacheFile}.json`, 'utf8')) as { data: { count: number; source: string }; batches: number; batchSize: number; samplesUsed: number };
  expect(prov.data).toMatchObject({ count: 6, source: 'images' });
  expect(prov).toMatchObject({ batches: 2, batchSize: 3, samplesUsed: 6 });
  for (const name of await listAll(outDir)) expect(name, `unexpected leftover ${name}`).not.toMatch(/^\.|\.tmp|\.lock|\.partial/);
  expect(await webStorageDump(page)).not.toContain(studio.key);
});
