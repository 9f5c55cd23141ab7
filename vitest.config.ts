import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/**/*.test.ts', 'electron/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts', 'test/**/*.test.ts', 'eslint-rules/**/*.test.ts', 'renderer/**/*.test.ts'],
    environment: 'node',
    // Models the tests read, made once (the torchvision Mask R-CNN export when python3-torchvision is there).
    globalSetup: ['test/support/global-setup.ts'],
    // default for people; json for .ci/run's closing summary line.
    reporters: ['default', ['json', { outputFile: '.cache/vitest-report.json' }]],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores on CI: more forks only thrash.
    maxWorkers: 2,
  },
});
