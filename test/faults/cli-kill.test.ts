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
      '--qdq_file', path.join(dir, 'model.qdq.onnx'), '--no-cal_reuse',
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
