#!/usr/bin/env node
// `npm test`: the full suite, in order — type-check of every layer, lint (layering rule included),
// vitest (unit, integration, hostile inputs, faults, security), the build, Playwright (web mode in
// Chromium; the Electron project skips itself without an Electron binary) — then ONE closing line
// from scripts/test-summary.mjs: "tests: N passed, N failed, N skipped" and every skip counted under
// its reason. The first failing step stops the run; the summary is printed either way.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

// Reports of an earlier run must not stand in for this one.
for (const f of ['.cache/vitest-report.json', '.cache/playwright-report.json']) rmSync(path.join(root, f), { force: true });

const steps = [
  ['type-check', npm, ['run', 'typecheck']],
  ['lint', npm, ['run', 'lint']],
  ['unit and integration tests', npx, ['vitest', 'run']],
  ['build', npm, ['run', 'build']],
  ['browser tests', npx, ['playwright', 'test']],
];

let failedStep = null;
for (const [name, cmd, args] of steps) {
  console.log(`\n▶ npm test: ${name} (${[path.basename(cmd), ...args].join(' ')})`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    failedStep = `${name} failed (exit ${r.status ?? r.signal})`;
    break;
  }
}

console.log('');
const summary = spawnSync(process.execPath, [path.join(root, 'scripts/test-summary.mjs')], { cwd: root, stdio: 'inherit' });
if (failedStep) console.log(`npm test: ${failedStep}`);
process.exit(failedStep || summary.status !== 0 ? 1 : 0);
