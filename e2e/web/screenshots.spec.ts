// Issue 12: every step of a real INT8 export at 1440×900 and 1024×700, light and dark, saved as
// viewport screenshots under test-results/screenshots/<size>-<theme>/ (what a user sees without
// scrolling). Each step's own controls — Next, Start export, Cancel, New export — must be inside
// the viewport: nothing the user needs sits below the fold.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { REPO_ROOT } from '../fixtures/server.js';
import { expect, test } from '../fixtures/test.js';
import { choosePrecision, enterKey, expectStep, next, openModel, openSpec, READ_TIMEOUT, setNumber, setOutput, setSwitch, startExport, waitForDone, type StepId } from '../fixtures/wizard.js';

const DIR = path.join(REPO_ROOT, 'test-results/screenshots');
const SIZES = [
  { width: 1440, height: 900 },
  { width: 1024, height: 700 },
];

async function setTheme(page: Page, origin: string, token: string, theme: 'light' | 'dark' | 'system'): Promise<void> {
  const r = await page.request.post(`${origin}/api/setSettings`, { data: { args: [{ theme }] }, headers: { 'x-studio-token': token } });
  expect(r.ok()).toBe(true);
}

/** The control that moves the step on is fully inside the viewport, and so is the step's title. */
async function inView(page: Page, control: string | Locator): Promise<void> {
  const vp = page.viewportSize();
  const locator = typeof control === 'string' ? page.getByTestId(control) : control;
  const testId = typeof control === 'string' ? control : String(control);
  const box = await locator.boundingBox();
  expect(box, `${testId} is rendered`).not.toBeNull();
  if (!vp || !box) return;
  expect(box.y + box.height, `${testId} is above the fold (viewport ${vp.width}×${vp.height})`).toBeLessThanOrEqual(vp.height);
  expect(box.x + box.width, `${testId} is inside the viewport width`).toBeLessThanOrEqual(vp.width);
  // No horizontal scrollbar: nothing clipped at the right.
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), 'no horizontal overflow').toBe(true);
}

for (const size of SIZES) {
  for (const theme of ['light', 'dark'] as const) {
    test(`every step at ${size.width}×${size.height}, ${theme}`, async ({ app: page, studio, outDir }) => {
      const dir = path.join(DIR, `${size.width}x${size.height}-${theme}`);
      await fs.mkdir(dir, { recursive: true });
      let n = 0;
      const snap = async (id: StepId, control: string) => {
        await expectStep(page, id);
        await inView(page, control);
        await page.screenshot({ path: path.join(dir, `${String(++n).padStart(2, '0')}-${id}.png`), animations: 'disabled' });
      };
      await setTheme(page, studio.origin, studio.token, theme);
      try {
        await page.setViewportSize(size);
        await page.reload();
        await expect(page.getByTestId('app')).toHaveAttribute('data-theme', theme);
        const s = studio.sample;

        await openModel(page, s.tlt);
        await snap('model', 'wizard-next');
        await next(page, 'key');
        await enterKey(page, studio.key);
        await snap('key', 'wizard-next');
        await next(page, 'spec');
        await openSpec(page, s.spec);
        await snap('spec', 'wizard-next');
        await next(page, 'precision');
        await choosePrecision(page, 'int8');
        await snap('precision', 'wizard-next');
        await next(page, 'calibration');
        await setNumber(page, 'cal-batches', 2);
        await setNumber(page, 'cal-batch-size', 2);
        await snap('calibration', 'wizard-next');
        await next(page, 'output');
        await setOutput(page, path.join(outDir, 'model.etlt'));
        await setSwitch(page, 'output-fidelity', false);
        await snap('output', 'wizard-next');
        await next(page, 'review');
        await expect(page.getByTestId('start-export')).toBeEnabled({ timeout: READ_TIMEOUT });
        await snap('review', 'start-export');
        await startExport(page);
        // A small INT8 job can finish before this line runs (2 cores under load): the run step's action
        // is then Results, in the same place. Either must be inside the viewport.
        // The swap can also happen between resolving the locator and measuring it (Cancel unmounts,
        // Results mounts): measure again until one of them is measured in view.
        const runAction = page.getByTestId('run-cancel').or(page.getByTestId('run-results')).first();
        await expect(runAction).toBeVisible({ timeout: READ_TIMEOUT });
        await expect(async () => inView(page, runAction)).toPass({ timeout: READ_TIMEOUT });
        await page.screenshot({ path: path.join(dir, `${String(++n).padStart(2, '0')}-run-active.png`), animations: 'disabled' });
        await waitForDone(page);
        // The check was switched off: the run ends amber, not green, and says why (issue 10).
        await expect(page.getByTestId('run-done')).toHaveAttribute('data-outcome', 'int8-unchecked');
        await expect(page.getByTestId('run-done')).toContainText('not checked against a target');
        await snap('run', 'run-results');
        await page.getByTestId('run-results').click();
        await expect(page.getByTestId('calibration-charts')).toBeVisible({ timeout: READ_TIMEOUT });
        await expect(page.getByTestId('result-int8-unchecked')).toContainText('fidelity check was turned off');
        await snap('results', 'results-new');
        await page.screenshot({ path: path.join(dir, `${String(++n).padStart(2, '0')}-results-full.png`), fullPage: true, animations: 'disabled' });
      } finally {
        await setTheme(page, studio.origin, studio.token, 'system');
      }
    });
  }
}
