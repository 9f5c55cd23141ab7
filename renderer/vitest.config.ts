import { defineConfig } from 'vitest/config';

// Runs only the renderer's unit tests: `npx vitest run --config renderer/vitest.config.ts`.
// (The root vitest.config.ts should list 'renderer/**/*.test.ts' too.)
export default defineConfig({
  test: {
    root: `${import.meta.dirname}/..`,
    include: ['renderer/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 2,
  },
});
