import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../shared/errors.js';
import { STAGES } from '../../shared/events.js';
import { steps } from '../../electron/pipeline/steps.js';

/**
 * Where the docs restate code (stage names, error codes, npm scripts, built files), the code wins
 * and this test says where a doc drifted. docs/CLI.md's flags, help and exit codes are checked in
 * electron/cli/flags.test.ts; the layer table's source is eslint-rules/layers.js.
 */
const root = path.resolve(import.meta.dirname, '../..');
const DOCS = ['README.md', 'docs/ARCHITECTURE.md', 'docs/CLI.md', 'docs/FORMATS.md', 'docs/TESTING.md', 'docs/BENCHMARKS.md'];
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

describe('docs agree with the code', () => {
  it('ARCHITECTURE.md lists every pipeline stage, in order, and no other', () => {
    const doc = read('docs/ARCHITECTURE.md');
    const table = doc.slice(doc.indexOf('| stage | what it does | modules |'));
    const rows = [...table.slice(0, table.indexOf('\n\n')).matchAll(/^\| (\w+)/gm)].map((m) => m[1]).filter((s) => s !== 'stage');
    expect(rows).toEqual([...STAGES]);
    // …and the pipeline runs them in that order (report is run.ts's closing stage).
    expect([...steps.map((s) => s.stage), 'report']).toEqual(STAGES.filter((s) => s !== 'engine' || steps.some((x) => x.stage === 'engine')));
  });

  it.each(DOCS)('%s names only error codes that exist', (file) => {
    const codes = new Set(Object.keys(ERROR_CODES));
    // `E_FILE_*` stands for a family: some code must start with `E_FILE_`.
    const unknown = [...read(file).matchAll(/\bE_[A-Z0-9_]*[A-Z0-9](_\*)?/g)]
      .filter((m) => !(m[1] ? [...codes].some((c) => c.startsWith(m[0].slice(0, -1))) : codes.has(m[0])))
      .map((m) => m[0]);
    expect([...new Set(unknown)]).toEqual([]);
  });

  it.each(DOCS)('%s names only npm scripts that exist', (file) => {
    const missing = [...read(file).matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!).filter((s) => !(s in pkg.scripts));
    expect([...new Set(missing)]).toEqual([]);
  });

  it('every `node out/…` in package.json runs a file the build makes', () => {
    const build = read('scripts/build.mjs');
    const entries = new Set([...build.matchAll(/^\s+'([\w/-]+)': '[\w/.-]+\.ts',$/gm)].map((m) => `out/${m[1]}.js`));
    expect(entries.size).toBeGreaterThan(4);
    const used = Object.values(pkg.scripts).flatMap((s) => [...s.matchAll(/node (out\/[\w/.-]+\.js)/g)].map((m) => m[1]!));
    expect(used.length).toBeGreaterThan(0);
    for (const f of used) expect(entries, `${f} is not built by scripts/build.mjs`).toContain(f);
  });

  it('the README documents the scripts a newcomer needs', () => {
    const readme = read('README.md');
    for (const s of ['demo', 'test', 'test:fast', 'install:cuda', 'build']) expect(readme).toMatch(new RegExp(`npm (run )?${s.replace(':', ':')}\\b`));
    // The first-run text must not tell people to set variables the project no longer needs.
    expect(readme).not.toMatch(/ONNXRUNTIME_NODE_INSTALL=skip|ELECTRON_SKIP_BINARY_DOWNLOAD|PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD/);
  });

  it('.ci/run runs the README quick start exactly as written, with no extra environment', () => {
    const readme = read('README.md');
    const quick = readme.slice(readme.indexOf('## Quick start'));
    const commands = [...quick.slice(0, quick.indexOf('```\n', quick.indexOf('```sh') + 5)).matchAll(/^(npm [^\n#]+?)\s*$/gm)].map((m) => m[1]!);
    expect(commands).toEqual(['npm ci && npm run demo', 'npm ci && npm test']);
    const ci = read('.ci/run');
    for (const c of commands) expect(ci).toMatch(new RegExp(`^${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    const exported = [...ci.matchAll(/^\s*export (\w+)=/gm)].map((m) => m[1]);
    expect(exported).toEqual(['CI']);
  });
});
