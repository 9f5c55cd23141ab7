// `npm run test:fast`: the unit tier (with lint, under a minute on a 2-core machine). The suites
// excluded here run real exports, worker processes, web servers or bundlers; `npm test` runs them.
import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/** Integration suites, left to the full tier (`npm test`). */
export const INTEGRATION = [
  'electron/cli/cli.test.ts',
  'electron/cli/cli-int8.test.ts',
  'electron/cli/cli-int8-gate.test.ts',
  'electron/cli/cli-int8-real.test.ts',
  'electron/cli/cli-int8-torchvision.test.ts',
  'electron/cli/batch/batch.test.ts',
  'electron/host/job-queue.test.ts',
  'electron/host/job-manager.test.ts',
  'electron/web/server.test.ts',
  'electron/worker/serve.test.ts',
  'electron/main/main-wiring.test.ts',
  'electron/main/preload-bundle.test.ts',
  'electron/main/packaging.test.ts',
  'electron/pipeline/data/loader.test.ts',
  'electron/pipeline/fidelity-step.test.ts',
  'electron/pipeline/calibrate/engine.test.ts',
  'electron/pipeline/calibrate/qdq-real.test.ts',
  'electron/pipeline/fidelity/fidelity.test.ts',
  'scripts/sample/model.test.ts',
  'bench/**',
  'test/faults/**',
  'test/hostile/**',
  'test/doors/**',
  'test/fixtures-gen/**',
  'test/cluster/**',
];

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    exclude: [...configDefaults.exclude, ...INTEGRATION],
    // Its own report, so a fast run never stands in for the full suite's in .cache/vitest-report.json.
    reporters: ['default', ['json', { outputFile: '.cache/vitest-fast-report.json' }]],
    // No model exports here: a test whose model is not made yet skips with its reason.
    globalSetup: [],
  },
});
