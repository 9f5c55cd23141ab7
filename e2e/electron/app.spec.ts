import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NO_ELECTRON_MESSAGE, findElectronBinary } from '../../build/electron-binary.mjs';

/**
 * Desktop-app flows through Playwright's `_electron` (experimental; it launches with --inspect,
 * which is why these run against the unpackaged app: the shipped build turns that fuse off).
 * Needs: an Electron binary (node_modules/electron/dist or ELECTRON_OVERRIDE_DIST_PATH), a
 * display (xvfb-run on CI), `npm run build` and `npm run sample`. Without a binary every test
 * is skipped with the reason; the binary is located by path, never by require('electron').
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const binary = findElectronBinary({ root });
const sample = (f: string) => path.join(root, 'sample', f);
const SAMPLE_KEY = 'nvidia_tlt';

if (binary === null) console.log(`[electron e2e] ${NO_ELECTRON_MESSAGE} Skipping the desktop-app specs.`);
test.skip(binary === null, `${NO_ELECTRON_MESSAGE} The Electron e2e specs need the binary (npx install-electron, then xvfb-run npx playwright test -c e2e/electron).`);

let app: ElectronApplication;
let page: Page;
let userData: string;
let outDir: string;

test.beforeAll(async () => {
  for (const f of ['out/electron/main.js', 'out/electron/preload.cjs', 'out/renderer/index.html', 'out/worker/utility.js', 'sample/model.tlt', 'sample/spec.txt']) {
    await fs.access(path.join(root, f)).catch(() => {
      throw new Error(`${f} is missing: run \`npm run build && npm run sample\` first`);
    });
  }
  userData = await fs.mkdtemp(path.join(os.tmpdir(), 'studio-e2e-userdata-'));
  outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'studio-e2e-out-'));
  const env = { ...process.env } as Record<string, string>;
  delete env.ELECTRON_RUN_AS_NODE;
  app = await electron.launch({
    executablePath: binary!,
    args: [path.join(root, 'out/electron/main.js'), `--user-data-dir=${userData}`],
    cwd: root,
    env,
    timeout: 60_000,
  });
  page = await app.firstWindow();
  await page.waitForLoadState('domcontentloaded');
});

test.afterAll(async () => {
  await app?.close();
  await fs.rm(userData, { recursive: true, force: true });
  await fs.rm(outDir, { recursive: true, force: true });
});

test('the window is the sandboxed app page with the bridge and the CSP', async () => {
  expect(page.url()).toMatch(/^studio:\/\/app\//);
  const probe = await page.evaluate(async () => {
    const csp = (await fetch(location.href)).headers.get('content-security-policy');
    const w = window as unknown as Record<string, unknown>;
    return {
      csp,
      require: typeof w.require,
      process: typeof w.process,
      studioKeys: Object.keys((w.studio ?? {}) as object).sort(),
      thumb: (w.studio as { thumbnailUrl(id: string, s: number): string }).thumbnailUrl('abc', 96),
    };
  });
  expect(probe.csp).toContain("script-src 'self'");
  expect(probe.require).toBe('undefined');
  expect(probe.process).toBe('undefined');
  expect(probe.studioKeys).toEqual(expect.arrayContaining(['info', 'startExport', 'onJobEvents', 'pathForFile', 'thumbnailUrl']));
  expect(probe.studioKeys).not.toContain('ipcRenderer');
  expect(probe.thumb).toBe('studio-thumb://image/abc?size=96');
  const info = await page.evaluate(() => (window as unknown as { studio: { info(): Promise<unknown> } }).studio.info());
  expect(info).toMatchObject({ ok: true, value: { mode: 'electron' } });
  // contextBridge hands the page a frozen copy (context isolation), not the preload's object.
  expect(await page.evaluate(() => Object.isFrozen((window as unknown as { studio: object }).studio))).toBe(true);
  // The main process sees exactly one window, on the app origin.
  const urls = await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().map((w) => w.webContents.getURL()));
  expect(urls).toEqual([expect.stringMatching(/^studio:\/\/app\//)]);
});

test('navigation away and window.open are refused', async () => {
  const before = page.url();
  await page.evaluate(() => {
    location.href = 'https://example.com/';
  });
  await page.waitForTimeout(500);
  expect(page.url()).toBe(before);
  const opened = await page.evaluate(() => window.open('https://example.com/') === null);
  expect(opened).toBe(true);
  expect(app.windows()).toHaveLength(1);
});

/** Drop a real file from disk: a file input gives a disk-backed File, which getPathForFile maps back. */
async function dropFile(p: Page, file: string): Promise<void> {
  await p.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'e2e-drop-source';
    input.style.display = 'none';
    document.body.append(input);
  });
  await p.setInputFiles('#e2e-drop-source', file);
  const dataTransfer = await p.evaluateHandle(() => {
    const dt = new DataTransfer();
    const f = (document.getElementById('e2e-drop-source') as HTMLInputElement).files![0]!;
    dt.items.add(f);
    return dt;
  });
  await p.dispatchEvent('body', 'dragenter', { dataTransfer });
  await p.dispatchEvent('body', 'dragover', { dataTransfer });
  await p.dispatchEvent('body', 'drop', { dataTransfer });
  await p.evaluate(() => document.getElementById('e2e-drop-source')?.remove());
}

test('drop a model, then run the wizard to an FP32 export', async () => {
  test.setTimeout(180_000);
  await dropFile(page, sample('model.tlt'));
  await expect(page.getByTestId('model-path')).toHaveValue(sample('model.tlt'));

  await page.getByTestId('wizard-next').click();
  await expect(page.getByTestId('step-key')).toBeVisible();
  await page.getByTestId('key-input').fill(SAMPLE_KEY);
  await page.getByTestId('key-input').press('Enter');
  await expect(page.getByTestId('key-status')).toHaveAttribute('data-status', 'ok', { timeout: 30_000 });
  await page.getByTestId('wizard-next').click();

  await expect(page.getByTestId('step-spec')).toBeVisible();
  await page.getByTestId('spec-path').fill(sample('spec.txt'));
  await page.getByTestId('spec-path').press('Enter');
  await expect(page.getByTestId('spec-status')).toHaveAttribute('data-status', 'ok', { timeout: 30_000 });
  await page.getByTestId('wizard-next').click();

  await expect(page.getByTestId('step-precision')).toBeVisible();
  await page.getByTestId('precision-fp32').click();
  await page.getByTestId('wizard-next').click();

  await expect(page.getByTestId('step-output')).toBeVisible();
  const etlt = path.join(outDir, 'model.fp32.etlt');
  await page.getByTestId('output-etlt').fill(etlt);
  await page.getByTestId('output-etlt').press('Enter');
  await page.getByTestId('gpu-cpu').click();
  await page.getByTestId('wizard-next').click();

  await expect(page.getByTestId('step-review')).toBeVisible();
  await expect(page.getByTestId('review-command')).not.toContainText(SAMPLE_KEY);
  await page.getByTestId('start-export').click();

  await expect(page.getByTestId('run-done')).toBeVisible({ timeout: 150_000 });
  await page.getByTestId('run-results').click();
  await expect(page.getByTestId('result-artifacts')).toContainText('model.fp32.etlt');
  const st = await fs.stat(etlt);
  expect(st.size).toBeGreaterThan(0);
});
