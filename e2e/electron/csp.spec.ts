import { chromium, expect, test, type Browser } from '@playwright/test';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_CSP } from '../../electron/main/csp.js';
import { requireChromium } from '../fixtures/chromium.js';
import { createAppProtocolHandler } from '../../electron/main/protocols.js';

/**
 * The Electron window's page under the Electron CSP, without Electron: the production renderer
 * build is served through the very protocol handler main registers for studio://app (here behind
 * a 127.0.0.1 HTTP shim, so 'self' means the same thing) and loaded in Chromium. Any CSP
 * violation, console error or page error fails the test. Needs `npm run build` and a Chromium
 * (/usr/bin/chromium or $CHROMIUM).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rendererRoot = path.join(root, 'out/renderer');

test.skip(!existsSync(path.join(rendererRoot, 'index.html')), 'out/renderer is missing: run `npm run build` first');
// No Chromium fails (with the install command) instead of skipping.
const chromiumPath = requireChromium();

let server: http.Server;
let base: string;
let browser: Browser;

test.beforeAll(async () => {
  const handler = createAppProtocolHandler(rendererRoot);
  server = http.createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://x');
      // Map the HTTP request onto the app scheme the handler expects.
      const r = await handler(new Request(`studio://app${u.pathname}${u.search}`, { method: req.method ?? 'GET' }));
      res.writeHead(r.status, Object.fromEntries(r.headers.entries()));
      res.end(Buffer.from(await r.arrayBuffer()));
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
});

test.afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
});

test('the production renderer runs under the Electron CSP without a single violation', async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // A stand-in for the preload's window.studio, so the page takes its Electron path.
  await page.addInitScript(() => {
    const ok = (value: unknown) => Promise.resolve({ ok: true, value });
    const settings = { theme: 'light', rememberKeys: false };
    const calls: string[] = [];
    (window as unknown as { __calls: string[] }).__calls = calls;
    const known: Record<string, (...a: unknown[]) => unknown> = {
      info: () => ok({ version: '0.0.0-e2e', mode: 'electron', platform: 'linux', homeDir: '/home/e2e', canStoreKeys: true }),
      gpus: () => ok({ gpus: [], cudaProvider: 'missing' }),
      getSettings: () => ok(settings),
      setSettings: (patch) => ok({ ...settings, ...(patch as object) }),
      recentFiles: () => ok([]),
      addRecentFile: () => ok([]),
      thumbnailUrl: (id, size) => `studio-thumb://image/${String(id)}?size=${String(size)}`,
      onJobEvents: () => () => undefined,
      pathForFile: (f) => `/e2e/${(f as File).name}`,
    };
    (window as unknown as { studio: unknown }).studio = new Proxy(known, {
      get: (t, k: string) => {
        calls.push(k);
        return t[k] ?? (() => Promise.resolve({ ok: false, error: { code: 'E_USAGE', message: `fake bridge: ${k}`, hint: 'e2e' } }));
      },
    });
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __csp: string[] }).__csp ??= [];
      (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const res = await page.goto(`${base}/index.html`);
  expect(res?.headers()['content-security-policy']).toBe(APP_CSP);
  await expect(page.getByTestId('stepper')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('app-mode')).toContainText(/electron|desktop/i);
  await page.getByTestId('theme-toggle').click();
  await page.waitForTimeout(300);
  const csp = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
  expect(csp).toEqual([]);
  expect(problems).toEqual([]);

  // Drag-and-drop in Electron mode: the bridge's pathForFile turns the dropped File into a path.
  const dataTransfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array([8, 1])], 'dropped.onnx'));
    return dt;
  });
  await page.dispatchEvent('body', 'dragenter', { dataTransfer });
  await page.dispatchEvent('body', 'dragover', { dataTransfer });
  await page.dispatchEvent('body', 'drop', { dataTransfer });
  await expect(page.getByTestId('model-path')).toHaveValue('/e2e/dropped.onnx');
  const calls = await page.evaluate(() => (window as unknown as { __calls: string[] }).__calls);
  expect(calls).toContain('pathForFile');
  expect(calls).toContain('inspectModel');
});
