#!/usr/bin/env node
// Prints the closing line of `npm test` from the vitest and Playwright JSON reports it leaves in
// .cache/: "tests: N passed, N failed, N skipped", then every skip counted under its reason
// ("  2 skipped: python3-h5py is not installed (apt-get install -y python3-h5py)"). Reasons come
// from test/support/needs.ts (a `[skipped: …]` suffix in the name, or meta.skipReason) and from
// Playwright's test.skip(condition, reason) annotations. A skip without a reason is listed as
// such, never hidden. Exits 1 when a test failed, a report is missing, or a run did not complete.
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
const reasons = new Map();
const problems = [];
const skip = (reason) => {
  skipped++;
  const r = reason?.trim() || 'no reason given (give one: see test/support/needs.ts)';
  reasons.set(r, (reasons.get(r) ?? 0) + 1);
};

const v = read('.cache/vitest-report.json');
if (v) {
  for (const file of v.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    // A file that failed outside its tests (load error, a beforeAll that threw) counts as a failure;
    // its tests did not run, so they are not skips either.
    const brokenFile = file.status === 'failed' && !tests.some((t) => t.status === 'failed');
    if (brokenFile) {
      failed++;
      problems.push(`${file.name}: ${(file.message || 'failed to load').split('\n')[0]}${tests.length ? ` (${tests.length} test(s) not run)` : ''}`);
      continue;
    }
    for (const t of tests) {
      if (t.status === 'passed') passed++;
      else if (t.status === 'failed') failed++;
      else if (t.status === 'skipped' || t.status === 'pending' || t.status === 'todo') {
        const inName = /\[skipped: (.+?)\]/.exec(t.fullName ?? '')?.[1];
        skip(t.meta?.skipReason ?? inName);
      }
    }
  }
} else problems.push('no vitest report (.cache/vitest-report.json): the unit tests did not run');

const p = read('.cache/playwright-report.json');
if (p) {
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        const last = t.results?.[t.results.length - 1];
        const status = t.status ?? last?.status;
        if (status === 'skipped') skip(t.annotations?.find((a) => a.type === 'skip' || a.type === 'fixme')?.description);
        else if (status === 'expected' || status === 'flaky') passed++;
        else failed++;
      }
    }
    for (const s of suite.suites ?? []) walk(s);
  };
  for (const s of p.suites ?? []) walk(s);
  // Errors outside tests (global setup: no Chromium, no build) fail the run.
  for (const e of p.errors ?? []) {
    failed++;
    problems.push(`playwright: ${(e.message ?? String(e)).split('\n')[0]}`);
  }
} else problems.push('no Playwright report (.cache/playwright-report.json): the browser tests did not run');

console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
for (const [r, n] of [...reasons].sort((a, b) => b[1] - a[1])) console.log(`  ${n} skipped: ${r}`);
for (const m of problems) console.log(`  problem: ${m}`);
process.exit(failed > 0 || problems.length > 0 ? 1 : 0);
