import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';
import { exitCodeFor } from '../../shared/errors.js';
import { CASES, stageCase } from './cases.js';
import { cli, listing } from './cli-run.js';

let root: string;
let S: SampleLayout;
let sampleListing: string[];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 4, valImages: 2, calImages: 4 });
  sampleListing = await listing(S.dir);
});
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe('hostile corpus: every bad input gets its code, a hint, no trace, and writes nothing', () => {
  it('has at least 40 cases with distinct names and exit codes that match their error class', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    for (const c of CASES) expect(exitCodeFor(c.code), c.name).toBe(c.exit);
  });

  it.each(CASES.map((c, i) => [`${c.group}: ${c.name}`, i] as const))('%s', async (_name, i) => {
    const hc = CASES[i];
    if (!hc) throw new Error('no case');
    const { ctx, cwd, run, before } = await stageCase(path.join(root, `case-${i}`), S, hc);
    const outBefore = await listing(ctx.outDir);

    const r = await cli(run.args, run.env ?? {}, cwd);

    // (a) the exact code and exit, with a hint line.
    expect(r.all).toContain(`error ${hc.code}:`);
    expect(r.all).toMatch(/^\s*hint: \S/m);
    expect(r.code, r.all).toBe(hc.exit);
    if (hc.says) expect(r.all).toMatch(hc.says);
    // (b) no stack trace, no internal error.
    expect(r.all).not.toMatch(/internal error|E_INTERNAL|TypeError|RangeError|node:internal/);
    expect(r.all).not.toMatch(/^\s+at (?:async )?[\w.<>$]+ \(.+:\d+:\d+\)$/m);
    // (c) nothing written: no file, temp or lock in the output folder, the cwd or the sample.
    expect(await listing(ctx.outDir)).toEqual(outBefore);
    expect(await listing(cwd)).toEqual([]);
    expect(await listing(S.dir)).toEqual(sampleListing);
    // (d) the file that was at the target is byte-identical.
    for (const [k, b] of before) expect(Buffer.compare(await fs.readFile(k), b), `${k} changed`).toBe(0);
  });
});
