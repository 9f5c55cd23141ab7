import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** scripts/test-summary.mjs on hand-made vitest and Playwright JSON reports. */
const script = path.resolve(import.meta.dirname, 'test-summary.mjs');

function summary(vitest: unknown, playwright: unknown): { code: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'summary-'));
  fs.mkdirSync(path.join(dir, '.cache'));
  if (vitest !== null) fs.writeFileSync(path.join(dir, '.cache/vitest-report.json'), JSON.stringify(vitest));
  if (playwright !== null) fs.writeFileSync(path.join(dir, '.cache/playwright-report.json'), JSON.stringify(playwright));
  const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return { code: r.status, out: r.stdout };
}

const t = (status: string, fullName: string, meta: Record<string, string> = {}) => ({ status, fullName, meta });
const vitest = (tests: ReturnType<typeof t>[], fileStatus = 'passed', message = '') => ({ testResults: [{ name: '/r/a.test.ts', status: fileStatus, message, assertionResults: tests }] });
const playwright = (tests: { status: string; annotations?: { type: string; description?: string }[] }[], errors: { message: string }[] = []) => ({
  suites: [{ specs: [{ tests: tests.map((x) => ({ ...x, results: [{ status: x.status === 'skipped' ? 'skipped' : 'passed' }] })) }] }],
  errors,
});

describe('npm test summary line', () => {
  it('counts every skip under its reason, from names, meta and Playwright annotations', () => {
    const r = summary(
      vitest([t('passed', 'a'), t('skipped', 'h5py [skipped: python3-h5py is not installed (apt-get install -y python3-h5py)] x'), t('skipped', 'b', { skipReason: 'python3-h5py is not installed (apt-get install -y python3-h5py)' }), t('skipped', 'c')]),
      playwright([{ status: 'expected' }, { status: 'skipped', annotations: [{ type: 'skip', description: 'no Electron binary' }] }]),
    );
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual([
      'tests: 2 passed, 0 failed, 4 skipped',
      '  2 skipped: python3-h5py is not installed (apt-get install -y python3-h5py)',
      '  1 skipped: no reason given (give one: see test/support/needs.ts)',
      '  1 skipped: no Electron binary',
      '',
    ]);
  });

  it('fails on a failed test, a file that broke in setup, a Playwright global error or a missing report', () => {
    expect(summary(vitest([t('failed', 'a')]), playwright([])).code).toBe(1);
    const broken = summary(vitest([t('skipped', 'a'), t('skipped', 'b')], 'failed', 'Build failed'), playwright([]));
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/^tests: 0 passed, 1 failed, 0 skipped$/m);
    expect(broken.out).toContain('Build failed (2 test(s) not run)');
    const noChromium = summary(vitest([t('passed', 'a')]), playwright([], [{ message: 'No Chromium … Install it: sudo apt-get install -y chromium' }]));
    expect(noChromium.code).toBe(1);
    expect(noChromium.out).toContain('sudo apt-get install -y chromium');
    const noBrowserRun = summary(vitest([t('passed', 'a')]), null);
    expect(noBrowserRun.code).toBe(1);
    expect(noBrowserRun.out).toContain('the browser tests did not run');
  });
});
