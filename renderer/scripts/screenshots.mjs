// Screenshots of every wizard step, light and dark, against the demo (mock) build.
//   npx vite build --config renderer/vite.config.ts --mode mock && node renderer/scripts/screenshots.mjs
// Serves out/renderer-mock with the production CSP header, drives it with Playwright + Debian
// Chromium, writes test-results/screenshots/<theme>-<nn>-<step>.png and fails on console errors
// or CSP violations.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const repo = path.resolve(import.meta.dirname, '../..');
const root = path.join(repo, 'out/renderer-mock');
const outDir = path.join(repo, 'test-results/screenshots');
const only = process.argv[2]; // optional: 'light' | 'dark'

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png' };

function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rel = path.normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
    const file = path.join(root, rel || 'dev.html');
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function run(browser, base, theme) {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, colorScheme: theme, deviceScaleFactor: 1 });
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // A string, so it runs in the page (where `document` exists) without a DOM lint env here.
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
  );
  let n = 0;
  // Controls without an accessible name, from Playwright's ARIA snapshot.
  const unnamed = async (where) => {
    const snap = await page.locator('body').ariaSnapshot();
    for (const line of snap.split('\n')) {
      if (/^\s*- (button|textbox|checkbox|radio|combobox|switch|spinbutton|option|slider|link)( \[[^\]]*\])*:?$/.test(line)) problems.push(`unnamed control on ${where}: ${line.trim()}`);
    }
  };
  const shot = async (name, opts = {}) => {
    await sleep(250);
    await unnamed(name);
    const file = path.join(outDir, `${theme}-${String(++n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: opts.fullPage ?? true });
    console.log('  ', path.relative(repo, file));
  };
  const next = () => page.getByTestId('wizard-next').click();

  await page.goto(`${base}/dev.html?theme=${theme}&speed=0.6`);
  await page.getByTestId('step-model').waitFor();
  await shot('model-empty');
  await page.getByTestId('model-path').fill('/home/ml/models/broken.onnx');
  await page.getByTestId('model-path').press('Enter');
  await page.getByTestId('error-alert').waitFor();
  await shot('model-error');
  await page.getByTestId('model-path-browse').click();
  await page.getByTestId('file-browser').waitFor();
  await page.getByTestId('file-entry-maskrcnn_resnet50.tlt').waitFor();
  await shot('model-browse', { fullPage: false });
  await page.getByTestId('file-entry-maskrcnn_resnet50.tlt').click();
  await page.getByTestId('model-encrypted').waitFor();
  await shot('model-encrypted');
  await next();

  await page.getByTestId('key-input').fill('wrong-key');
  await page.getByTestId('key-input').press('Enter');
  await page.getByTestId('error-alert').waitFor();
  await shot('key-wrong');
  // Next with an unchecked key checks it and moves on when it is right.
  await page.getByTestId('key-input').fill('nvidia_tlt');
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('step-spec').waitFor();
  await page.getByTestId('wizard-back').click();
  await page.getByTestId('model-card').waitFor();
  await shot('key-ok');
  await next();

  await page.getByTestId('spec-path').fill('/home/ml/specs/maskrcnn_typo.txt');
  await page.getByTestId('spec-path').press('Enter');
  await page.getByTestId('error-excerpt').waitFor();
  await shot('spec-error');
  await page.getByTestId('spec-path').fill('/home/ml/specs/maskrcnn_retrain.txt');
  await page.getByTestId('spec-path').press('Enter');
  await page.getByTestId('spec-summary').waitFor();
  await shot('spec-ok');
  await next();

  // Keyboard: the precision cards are one radio group (arrow keys move and select).
  await page.getByRole('radio', { name: 'FP32' }).focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  if (!(await page.getByRole('radio', { name: 'INT8' }).isChecked())) problems.push('error: arrow keys did not select INT8');
  await shot('precision');
  await next();

  await shot('calibration-spec-loader');
  await page.getByTestId('cal-source-image-dir').check();
  await page.getByTestId('cal-image-dir').fill('/home/ml/data/calib_images');
  await page.getByTestId('cal-image-dir').press('Enter');
  await page.getByTestId('thumb-0').waitFor();
  await page.getByTestId('select-none').click();
  await page.getByTestId('thumb-2').click();
  await page.getByTestId('thumb-9').click({ modifiers: ['Shift'] });
  await page.getByTestId('tensor-preview-image').waitFor();
  await shot('calibration-images-short');
  // Keyboard on the grid: Space toggles the focused tile.
  await page.getByTestId('thumb-grid').focus();
  const before = await page.getByTestId('thumb-9').getAttribute('aria-selected');
  await page.keyboard.press('Space');
  if ((await page.getByTestId('thumb-9').getAttribute('aria-selected')) === before) problems.push('error: Space did not toggle the focused tile');
  await page.getByTestId('select-random').click();
  await page.getByTestId('thumb-grid').press('ArrowRight');
  await page.getByTestId('cal-algorithm').click();
  await page.getByRole('option', { name: 'Percentile' }).click();
  await sleep(400);
  await shot('calibration-images-random');
  await next();

  await page.getByTestId('gpu-0').waitFor();
  await shot('output');
  await next();

  await page.getByText('--cal_images').waitFor();
  await shot('review');
  await page.getByTestId('start-export').click();
  await page.locator('[data-testid="stage-calibrate"][data-status="running"]').waitFor();
  await page.getByTestId('log-level-debug').click();
  await page.getByText('ETA').waitFor();
  await shot('run-progress');
  await page.getByTestId('run-results').waitFor({ timeout: 30_000 });
  await shot('run-done');
  await page.getByTestId('run-results').click();
  await page.getByTestId('calibration-charts').waitFor();
  await sleep(600);
  await shot('results');

  // A cancelled run and a failed one (output exists).
  await page.getByTestId('results-edit').click();
  await page.getByTestId('start-export').click();
  await page.locator('[data-testid="stage-calibrate"][data-status="running"]').waitFor();
  await page.getByTestId('run-cancel').click();
  await page.getByTestId('run-cancelled').waitFor();
  await shot('run-cancelled');

  // Production page: no token → a plain message; with one → the URL is cleaned and the app renders
  // even though this static server has no /api (calls fail as Results, nothing throws).
  await page.goto(`${base}/index.html`);
  await page.getByTestId('fatal-error').waitFor();
  await page.goto(`${base}/index.html?token=secret-token-123`);
  await page.getByTestId('step-model').waitFor();
  if (page.url().includes('secret-token-123')) problems.push('error: token left in the URL');
  problems.splice(0, problems.length, ...problems.filter((p) => !/404/.test(p)));
  await page.close();
  return problems;
}

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
fs.mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let failed = false;
try {
  for (const theme of only ? [only] : ['light', 'dark']) {
    console.log(theme);
    const problems = await run(browser, base, theme);
    for (const p of problems) console.log('   !', p);
    if (problems.some((p) => /CSP|pageerror|error:|unnamed/.test(p))) failed = true;
  }
} finally {
  await browser.close();
  server.close();
}
process.exit(failed ? 1 : 0);
