// End-to-end tests of the desktop app's UI. `web`: the React wizard served by
// `export-studio serve` (a real child process running the real pipeline in forked workers),
// driven in Debian's Chromium. `electron`: the packaged window (e2e/electron, skips itself when
// no Electron binary is available). Needs `npm run build` first; see docs/TESTING.md.
import { defineConfig } from '@playwright/test';
import { findChromium } from './e2e/fixtures/chromium.js';

// $CHROMIUM, Debian's or Playwright's; the global setup fails with the install command when there is none.
const CHROMIUM = findChromium();

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/',
  globalSetup: './e2e/fixtures/global-setup.ts',
  // One worker: the CI box has 2 cores and every export forks a worker process of its own.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  // A real INT8 calibration takes seconds; a loaded machine can make it tens.
  timeout: 240_000,
  expect: { timeout: 15_000 },
  // list for people; json for .ci/run's closing summary line.
  reporter: [['list'], ['json', { outputFile: '.cache/playwright-report.json' }]],
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
    viewport: { width: 1400, height: 1000 },
  },
  projects: [
    {
      name: 'web',
      testDir: 'e2e/web',
      use: {
        browserName: 'chromium',
        launchOptions: {
          ...(CHROMIUM ? { executablePath: CHROMIUM } : {}),
          // Root in a container: no sandbox; no GPU; nothing that phones home.
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
        },
      },
    },
    {
      name: 'electron',
      testDir: 'e2e/electron',
    },
  ],
});
