import { defineConfig } from '@playwright/test';

/**
 * Electron e2e (merge as a project into the root playwright config, or run alone):
 *   npm run build && npm run sample && xvfb-run -a npx playwright test -c e2e/electron
 * Without an Electron binary the specs report "skipped" with the reason. No browser download
 * is needed: `_electron` drives the Electron binary itself.
 */
export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 120_000,
  reporter: [['list']],
  outputDir: '../../test-results/electron',
});
