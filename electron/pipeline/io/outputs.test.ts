import { describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { OutputSet, sweepStale } from './outputs.js';
import { StudioError } from '../../../shared/errors.js';

async function tmp(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'outputs-'));
}
const list = async (d: string) => (await fs.readdir(d)).sort();

describe('OutputSet', () => {
  it('writes nothing visible until commit, then renames every file into place', async () => {
    const d = await tmp();
    const set = new OutputSet({ overwrite: false });
    await set.write(path.join(d, 'a.txt'), 'alpha');
    const { stream } = await set.createWriteStream(path.join(d, 'b.bin'));
    await new Promise<void>((res, rej) => stream.end(Buffer.from([1, 2, 3]), () => res()).on('error', rej));
    expect((await list(d)).filter((n) => !n.startsWith('.'))).toEqual([]);
    const committed = await set.commit();
    expect(await list(d)).toEqual(['a.txt', 'b.bin']);
    expect(committed.find((c) => c.path.endsWith('a.txt'))?.sha256).toBe('8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8');
    expect(committed.find((c) => c.path.endsWith('b.bin'))?.bytes).toBe(3);
  });

  it('abort removes temps and locks and leaves a previous file untouched', async () => {
    const d = await tmp();
    const target = path.join(d, 'model.etlt');
    await fs.writeFile(target, 'previous');
    const set = new OutputSet({ overwrite: true });
    await set.write(target, 'new contents');
    await set.abort();
    expect(await list(d)).toEqual(['model.etlt']);
    expect(await fs.readFile(target, 'utf8')).toBe('previous');
  });

  it('refuses to clobber an existing file unless overwrite is set', async () => {
    const d = await tmp();
    const target = path.join(d, 'cal.bin');
    await fs.writeFile(target, 'old');
    const err = await new OutputSet({ overwrite: false }).stage(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).code).toBe('E_OUTPUT_EXISTS');
    const set = new OutputSet({ overwrite: true });
    await set.write(target, 'new');
    await set.commit();
    expect(await fs.readFile(target, 'utf8')).toBe('new');
  });

  it('refuses a file that appears while the job runs', async () => {
    const d = await tmp();
    const target = path.join(d, 'x.txt');
    const set = new OutputSet({ overwrite: false });
    await set.write(target, 'ours');
    await fs.writeFile(target, 'someone else');
    await expect(set.commit()).rejects.toMatchObject({ code: 'E_OUTPUT_EXISTS' });
    expect(await fs.readFile(target, 'utf8')).toBe('someone else');
    expect(await list(d)).toEqual(['x.txt']);
  });

  it('locks a path so two jobs cannot write the same output', async () => {
    const d = await tmp();
    const target = path.join(d, 'same.etlt');
    const a = new OutputSet({ overwrite: false });
    await a.stage(target);
    await expect(new OutputSet({ overwrite: false }).stage(target)).rejects.toMatchObject({ code: 'E_OUTPUT_LOCKED' });
    await a.abort();
    const b = new OutputSet({ overwrite: false });
    await b.write(target, 'b');
    await b.commit();
    expect(await fs.readFile(target, 'utf8')).toBe('b');
  });

  it('maps a read-only folder and a missing folder to clear codes', async () => {
    const d = await tmp();
    await expect(new OutputSet({ overwrite: false }).stage(path.join(d, 'nope', 'x.etlt'))).rejects.toMatchObject({ code: 'E_OUTPUT_WRITE' });
    if (process.getuid?.() !== 0) {
      const ro = path.join(d, 'ro');
      await fs.mkdir(ro, { mode: 0o555 });
      await expect(new OutputSet({ overwrite: false }).stage(path.join(ro, 'x.etlt'))).rejects.toMatchObject({ code: 'E_OUTPUT_READONLY' });
    }
  });

  it('sweeps temp and lock files left by a killed process, but not those of live ones', async () => {
    const d = await tmp();
    // A real process that stages a file and is SIGKILLed before committing.
    const bundle = path.join(d, '..', `outputs-bundle-${process.pid}.mjs`);
    await build({ entryPoints: [new URL('./outputs.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
    const script = `
      const { OutputSet } = await import(${JSON.stringify(bundle)});
      const s = new OutputSet({ overwrite: false });
      await s.write(${JSON.stringify(path.join(d, 'victim.etlt'))}, 'partial');
      process.stdout.write('staged\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const staged = await new Promise<boolean>((res) => {
      child.stdout.on('data', (b: Buffer) => b.toString().includes('staged') && res(true));
      child.on('exit', () => res(false));
    });
    expect(staged).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const leftovers = await list(d);
    expect(leftovers.length).toBe(2); // temp + lock, no final file
    expect(leftovers).not.toContain('victim.etlt');
    const removed = await sweepStale(d);
    expect(removed).toHaveLength(2);
    expect(await list(d)).toEqual([]);
  });

  it('does not sweep the files of a live job', async () => {
    const d = await tmp();
    const s = new OutputSet({ overwrite: false });
    await s.write(path.join(d, 'live.txt'), 'x');
    expect(await sweepStale(d)).toEqual([]);
    await s.abort();
  });
});
