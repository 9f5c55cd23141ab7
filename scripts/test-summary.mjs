#!/usr/bin/env node
// Prints one closing line "tests: N passed, N failed, N skipped" from the vitest and Playwright
// JSON reports that `npm test` leaves in .cache/ (used by .ci/run).
import fs from 'node:fs';

const read = (f) => {
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch {
    return null;
  }
};
let passed = 0;
let failed = 0;
let skipped = 0;
const v = read('.cache/vitest-report.json');
if (v) {
  passed += v.numPassedTests ?? 0;
  failed += v.numFailedTests ?? 0;
  skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
}
const p = read('.cache/playwright-report.json');
if (p?.stats) {
  passed += (p.stats.expected ?? 0) + (p.stats.flaky ?? 0);
  failed += p.stats.unexpected ?? 0;
  skipped += p.stats.skipped ?? 0;
}
if (!v && !p) {
  console.error('test-summary: no test reports found in .cache/');
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
