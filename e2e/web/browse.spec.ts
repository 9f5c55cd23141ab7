// Issue 12, smaller points: Browse opens at the field's folder (the nearest existing one above a
// path that does not exist yet), has a path box and "New folder"; Recent models only list models
// that opened.
import fs from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from '../fixtures/test.js';
import { fp32ToReview, expectStep, READ_TIMEOUT, typePath } from '../fixtures/wizard.js';

test('Browse: opens at the field’s folder, path box, New folder creates and enters it', async ({ app: page, studio, outDir }) => {
  const s = studio.sample;
  await fp32ToReview(page, { model: s.tlt, key: studio.key, spec: s.spec }, path.join(outDir, 'later', 'model.etlt'));
  await page.getByTestId('stepper-output').click();
  await expectStep(page, 'output');

  await page.getByTestId('output-etlt-browse').click();
  const dialog = page.getByTestId('file-browser');
  // outDir/later does not exist: the browser opens at outDir, not at home.
  await expect(dialog.getByTestId('file-browser-path')).toHaveText(path.basename(outDir), { timeout: READ_TIMEOUT });
  await expect(dialog.getByTestId('file-browser-path-input')).toHaveValue(outDir);

  await dialog.getByTestId('file-browser-new-folder').click();
  await dialog.getByTestId('file-browser-new-folder-name').fill('exports');
  await dialog.getByTestId('file-browser-create').click();
  await expect(dialog.getByTestId('file-browser-path')).toHaveText('exports');
  expect((await fs.stat(path.join(outDir, 'exports'))).isDirectory()).toBe(true);

  // The path box goes anywhere inside the roots by typing.
  await dialog.getByTestId('file-browser-path-input').fill(s.dir);
  await dialog.getByTestId('file-browser-path-input').press('Enter');
  await expect(dialog.getByTestId('file-browser-path')).toHaveText('sample');
  await dialog.getByTestId('file-browser-path-input').fill(path.join(outDir, 'exports'));
  await dialog.getByTestId('file-browser-path-input').press('Enter');
  await dialog.getByTestId('file-browser-choose-folder').click();
  await expect(page.getByTestId('output-etlt')).toHaveValue(path.join(outDir, 'exports', 'model.etlt'));
});

test('a file that only looks like a model never gets into Recent models', async ({ app: page, studio, outDir }) => {
  const fake = path.join(outDir, 'garbage.tlt');
  await fs.writeFile(fake, 'not a model at all, just text with a .tlt name');
  await typePath(page, 'model-path', fake);
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-status', /ok|error/, { timeout: READ_TIMEOUT });
  const recent = async () => {
    const r = await page.request.post(`${studio.origin}/api/recentFiles`, { data: { args: [] }, headers: { 'x-studio-token': studio.token } });
    return JSON.stringify(await r.json());
  };
  // Even with a key typed and checked, a garbage file is not a model that opened.
  if ((await page.getByTestId('model-status').getAttribute('data-status')) === 'ok') {
    await page.getByTestId('wizard-next').click();
    await page.getByTestId('key-input').fill('some-key');
    await page.getByTestId('key-input').press('Enter');
    await expect(page.getByTestId('key-status')).toHaveAttribute('data-status', 'error', { timeout: READ_TIMEOUT });
  }
  expect(await recent()).not.toContain('garbage.tlt');
});
