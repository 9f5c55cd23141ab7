import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';
import { exitCodeFor } from '../../shared/errors.js';
import { exportArgs, stageCase } from './cases.js';
import { cli, listing } from './cli-run.js';
import { EDGE_CASES } from './edges.js';

let root: string;
let S: SampleLayout;
let sampleListing: string[];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-edges-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 4, valImages: 2, calImages: 4 });
  sampleListing = await listing(S.dir);
});
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** Our hidden temp, lock and journal names. */
const OURS = /\.export-studio-/;

describe('issue 11 edge classes: exact code, nothing modified, nothing half-written, no temp or lock, the next run works', () => {
  it('covers every class with several members and distinct names', () => {
    expect(new Set(EDGE_CASES.map((c) => c.name)).size).toBe(EDGE_CASES.length);
    for (const c of EDGE_CASES) expect(exitCodeFor(c.code), c.name).toBe(c.exit);
    expect(EDGE_CASES.filter((c) => c.name.startsWith('--log_file')).length).toBeGreaterThanOrEqual(10);
  });

  it.each(EDGE_CASES.map((c, i) => [`${c.group}: ${c.name}`, i] as const))('%s', async (_name, i) => {
    const hc = EDGE_CASES[i];
    if (!hc) throw new Error('no case');
    const base = path.join(root, `edge-${i}`);
    const { ctx, cwd, run, before } = await stageCase(base, S, hc);
    const outBefore = await listing(ctx.outDir);
    const inBefore = await listing(ctx.inDir);

    const t0 = Date.now();
    const r = await cli(run.args, run.env ?? {}, cwd);
    const seconds = (Date.now() - t0) / 1000;

    // (a) exact code, exit and a hint; (b) no trace.
    expect(r.all, r.all).toContain(`error ${hc.code}:`);
    expect(r.all).toMatch(/^\s*hint: \S/m);
    expect(r.code, r.all).toBe(hc.exit);
    if (hc.says) expect(r.all).toMatch(hc.says);
    expect(r.all).not.toMatch(/internal error|E_INTERNAL|TypeError|RangeError|node:internal/);
    // (f) bounded: nothing hangs on a FIFO, a device or a walk.
    expect(seconds).toBeLessThan(30);
    // (c) nothing written or left: outputs, inputs, cwd, sample, temp names anywhere.
    expect(await listing(ctx.outDir)).toEqual(outBefore);
    expect(await listing(ctx.inDir)).toEqual(inBefore);
    expect(await listing(cwd)).toEqual([]);
    expect(await listing(S.dir)).toEqual(sampleListing);
    expect((await listing(base)).filter((n) => OURS.test(n))).toEqual([]);
    // (d) inputs and the earlier output byte-identical.
    for (const [k, b] of before) expect(Buffer.compare(await fs.readFile(k), b), `${k} changed`).toBe(0);
    // (e) the next good run to the same output folder works (no stale lock, no leftover state).
    const good = await cli([...exportArgs(ctx), '--log_file', path.join(ctx.outDir, 'export.log')], {}, cwd);
    expect(good.code, good.all).toBe(0);
    expect((await listing(ctx.outDir)).filter((n) => OURS.test(n))).toEqual([]);
  }, 60_000);
});
