// Jobs survive the page: a reload and a second tab during an export reattach to the running job
// from the host's registry (stages, log, Jobs list), the wizard's choices come back (never the
// key), a second job on the same outputs is refused at Start naming the running one, and the
// job is cancelled from the second tab, leaving nothing behind.
import path from 'node:path';
import { shot } from '../fixtures/shot.js';
import { expect, listAll, test, withHookedServer } from '../fixtures/test.js';
import { enterKey, EXPORT_TIMEOUT, expectStep, fp32ToReview, READ_TIMEOUT, startExport, webStorageDump } from '../fixtures/wizard.js';

test('Reload and a second tab reattach to a running job, which the second tab cancels', async ({ page, studio, outDir, pageProblems }) => {
  await withHookedServer(studio, { holdAt: 'deepstream' }, async (server) => {
    await page.goto(server.url);
    await expectStep(page, 'model');
    const s = studio.sample;
    const etlt = path.join(outDir, 'model.etlt');
    await fp32ToReview(page, { model: s.tlt, key: studio.key, spec: s.spec }, etlt);
    await startExport(page);
    // The worker holds at 'deepstream' (test hook): the job is running, outputs staged.
    await expect(page.getByTestId('stage-deepstream')).toHaveAttribute('data-status', 'running', { timeout: EXPORT_TIMEOUT });
    const row = page.locator('[data-testid^="job-row-"]');
    await expect(row).toHaveCount(1);
    const jobId = ((await row.getAttribute('data-testid')) ?? '').replace('job-row-', '');
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);

    // 1. Reload: the Run step comes back with the host's state of the same job.
    await page.reload();
    await expectStep(page, 'run');
    await expect(page.getByTestId('stage-deepstream')).toHaveAttribute('data-status', 'running', { timeout: READ_TIMEOUT });
    await expect(page.getByTestId('stage-write')).toHaveAttribute('data-status', 'done');
    await expect(page.getByTestId('run-log')).toContainText(/\S/);
    await expect(page.getByTestId(`job-row-${jobId}`)).toHaveAttribute('data-status', 'running');
    await expect(page.getByTestId('run-cancel')).toBeEnabled();
    // The wizard's choices were kept for this tab, without the key.
    const storage = await webStorageDump(page);
    expect(storage).toContain(s.tlt);
    expect(storage).toContain(etlt);
    expect(storage).not.toContain(studio.key);
    await shot(page, 'jobs-reattached-after-reload');

    // 2. A second job on the same outputs is refused at Start, at once, naming the running job.
    await page.getByTestId('jobs-queue-another').click();
    await expectStep(page, 'review');
    await page.getByTestId('stepper-key').click();
    await expectStep(page, 'key');
    await enterKey(page, studio.key);
    await page.getByTestId('stepper-review').click();
    await expectStep(page, 'review');
    await expect(page.getByTestId('review-summary')).toContainText(path.basename(etlt));
    const t0 = Date.now();
    await page.getByTestId('start-export').click();
    const alert = page.getByTestId('error-alert');
    await expect(alert).toContainText('E_OUTPUT_LOCKED', { timeout: 10_000 });
    expect(Date.now() - t0, 'refused at Start, not when the worker reaches the file').toBeLessThan(5_000);
    await expect(alert).toContainText(jobId.slice(0, 8));
    // The first job is untouched.
    await expect(page.getByTestId(`job-row-${jobId}`)).toHaveAttribute('data-status', 'running');

    // 3. A second tab attaches to the running job and cancels it.
    const tab2 = await page.context().newPage();
    const problems2: string[] = [];
    tab2.on('pageerror', (e) => problems2.push(e.message));
    await tab2.goto(server.url);
    await expectStep(tab2, 'run');
    await expect(tab2.getByTestId('stage-deepstream')).toHaveAttribute('data-status', 'running', { timeout: READ_TIMEOUT });
    await expect(tab2.getByTestId(`job-row-${jobId}`)).toHaveAttribute('data-status', 'running');
    await shot(tab2, 'jobs-second-tab');
    await tab2.getByTestId(`job-cancel-${jobId}`).click();
    await expect(tab2.getByTestId('run-cancelled')).toBeVisible({ timeout: EXPORT_TIMEOUT });
    await expect(tab2.getByTestId(`job-row-${jobId}`)).toHaveAttribute('data-status', 'cancelled');
    // The first tab sees it too (same registry, live events).
    await expect(page.getByTestId(`job-row-${jobId}`)).toHaveAttribute('data-status', 'cancelled', { timeout: READ_TIMEOUT });
    expect(await listAll(outDir)).toEqual([]);

    // Finished jobs stay listed until cleared.
    await tab2.reload();
    await expect(tab2.getByTestId(`job-row-${jobId}`)).toHaveAttribute('data-status', 'cancelled', { timeout: READ_TIMEOUT });
    await tab2.getByTestId('jobs-clear').click();
    await expect(tab2.getByTestId(`job-row-${jobId}`)).toHaveCount(0);
    await tab2.close();
    expect(problems2).toEqual([]);
    expect(pageProblems, 'uncaught page errors or CSP violations').toEqual([]);
  });
});
