import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIO } from '../../electron/cli/program.js';
import { bundleFromSource } from '../../electron/host/worker-process.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { PRECIOUS, entries, waitFor } from './helpers.js';

/**
 * Fault (f): the CLI process itself is SIGKILLed while outputs are staged. Only hidden temp and
 * lock files (named with the dead pid) may remain, the old file is intact, and the next run
 * sweeps them and succeeds.
 */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let root: string;
let S: SampleLayout;
let cliJs: string;

/** Bundle the CLI (and the image-loader thread it starts) from source, like the worker fork entry. */
async function bundleCli(): Promise<string> {
  const dir = await bundleFromSource(repo, 'cli', {
    'export-studio': path.join(repo, 'electron/cli/export-studio.ts'),
    'loader-worker': path.join(repo, 'electron/pipeline/data/loader-worker.ts'),
  });
  return path.join(dir, 'export-studio.js');
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'faults-cli-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 4 });
  cliJs = await bundleCli();
});
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe('(f) SIGKILL of the CLI mid-job', () => {
  it('leaves only hidden temp/lock files of the dead pid, which the next run sweeps', async () => {
    const dir = path.join(root, 'out');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'model.etlt'), PRECIOUS);
    const images = (await fs.readdir(S.calImages)).sort().slice(0, 2).map((n) => path.join(S.calImages, n));
    const args = [
      'mask_rcnn', 'export', '-m', S.tlt, '-k', SAMPLE_KEY, '-e', S.spec, '-o', path.join(dir, 'model.etlt'), '--gen_ds_config', '--overwrite', '--cpu',
      '--data_type', 'int8', '--cal_images', images.join(','), '--batches', '1', '--batch_size', '2', '--cal_cache_file', path.join(dir, 'cal.bin'),
      '--qdq_file', path.join(dir, 'model.qdq.onnx'), '--no-cal_reuse', '--no_fidelity',
    ];
    const child = spawn(process.execPath, [cliJs, ...args], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    // The cache is staged after calibration; the Q/DQ, .etlt and DS config follow: kill in between.
    await waitFor(async () => (await entries(dir)).some((n) => n.endsWith('.tmp')), 60_000, 2);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const left = await entries(dir);
    const debris = left.filter((n) => n !== 'model.etlt');
    expect(debris.length).toBeGreaterThan(0);
    for (const n of debris) expect(n).toMatch(new RegExp(`^\\..+\\.export-studio-(${child.pid}-[0-9a-f]+\\.tmp|lock)$`));
    expect(await fs.readFile(path.join(dir, 'model.etlt'), 'utf8')).toBe(PRECIOUS);

    // The next run (in-process) sweeps the dead pid's files and succeeds.
    let err = '';
    const io: CliIO = { stdout: () => undefined, stderr: (s) => void (err += s), isTTY: false, env: { PATH: process.env.PATH }, signal: new AbortController().signal };
    expect(await runCli(args, io), err).toBe(0);
    const after = await entries(dir);
    expect(after.filter((n) => n.startsWith('.'))).toEqual([]);
    expect(after).toEqual(['cal.bin', 'cal.bin.json', 'cal.calibration.json', 'labels.txt', 'model.etlt', 'model.onnx', 'model.qdq.onnx', 'nvinfer_config.txt']);
  });
});

describe('SIGINT / SIGTERM of the CLI at any moment (issue 11)', () => {
  it('exit 130 with nothing written, or — once the commit started — exit 0 with exactly the reported files; never a temp or lock', async () => {
    const images = (await fs.readdir(S.calImages)).sort().slice(0, 2).map((n) => path.join(S.calImages, n));
    const full = ['cal.bin', 'cal.bin.json', 'cal.calibration.json', 'labels.txt', 'model.etlt', 'model.onnx', 'model.qdq.onnx', 'nvinfer_config.txt'];
    const outcomes: string[] = [];
    const moments: { name: string; when: (dir: string) => Promise<boolean> }[] = [
      { name: 'at once', when: async () => true },
      { name: 'first lock (validate)', when: async (dir) => (await entries(dir)).some((n) => n.endsWith('-lock')) },
      { name: 'first staged temp', when: async (dir) => (await entries(dir)).some((n) => n.endsWith('.tmp')) },
      { name: 'three staged temps', when: async (dir) => (await entries(dir)).filter((n) => n.endsWith('.tmp')).length >= 3 },
      { name: 'journal (commit running)', when: async (dir) => (await entries(dir)).some((n) => n.endsWith('.journal')) },
    ];
    for (const [k, m] of moments.entries()) {
      const dir = path.join(root, `sigint-${k}`);
      await fs.mkdir(dir);
      await fs.writeFile(path.join(dir, 'model.etlt'), PRECIOUS);
      const args = [
        'mask_rcnn', 'export', '-m', S.tlt, '-k', SAMPLE_KEY, '-e', S.spec, '-o', path.join(dir, 'model.etlt'), '--gen_ds_config', '--overwrite', '--cpu',
        '--data_type', 'int8', '--cal_images', images.join(','), '--batches', '1', '--batch_size', '2', '--cal_cache_file', path.join(dir, 'cal.bin'),
        '--qdq_file', path.join(dir, 'model.qdq.onnx'), '--no-cal_reuse', '--no_fidelity',
      ];
      const child = spawn(process.execPath, [cliJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => void (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => void (out += b.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      let running = true;
      void exited.then(() => (running = false));
      await waitFor(async () => !running || (await m.when(dir)), 60_000, 1);
      if (running) child.kill(k === 2 ? 'SIGTERM' : 'SIGINT');
      const code = await exited;
      const names = await entries(dir);
      expect(names.filter((n) => n.startsWith('.')), `${m.name}: ${out}`).toEqual([]);
      if (code === 130 || code === null) {
        // null: the signal came before the CLI installed its handlers (the default action ended it).
        expect(names, m.name).toEqual(['model.etlt']);
        expect(await fs.readFile(path.join(dir, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
        if (code === 130) expect(out).toContain('error E_CANCELLED');
      } else {
        expect(code, `${m.name}: ${out}`).toBe(0);
        expect(names).toEqual(full);
        for (const n of full) expect(out).toContain(path.join(dir, n));
      }
      outcomes.push(`${m.name}: ${code}`);
    }
    console.info(`SIGINT outcomes: ${outcomes.join(', ')}`);
    expect(outcomes.filter((o) => o.endsWith(': 130')).length).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
