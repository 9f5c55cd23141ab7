import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { condition, named, needs } from '../support/needs.js';
import { StudioError } from '../../shared/errors.js';
import type { ExportRequest } from '../../shared/request.js';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';
import { runExport } from '../../electron/pipeline/run.js';
import { readModel } from '../../electron/pipeline/model/index.js';
import { PRECIOUS, entries, int8Request } from './helpers.js';

/**
 * Faults (c) disk full during each write, (d) a read-only output folder, (e) two jobs choosing
 * the same output. Disk full and read-only use real small tmpfs mounts (root only; CI runs as
 * root); where mounting is not permitted those tests are skipped with the reason.
 */

let root: string;
let S: SampleLayout;
const mounts: string[] = [];

function tryMount(dir: string, size: number): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    mounts.push(dir);
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0] ?? 'mount failed';
  }
}

let mountProblem: string | null = null;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'faults-disk-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 4 });
  const probe = path.join(root, 'probe');
  await fs.mkdir(probe);
  mountProblem = process.getuid?.() === 0 ? tryMount(probe, 4096) : 'not running as root';
  if (mountProblem) console.warn(`tmpfs faults skipped: cannot mount a tmpfs (${mountProblem}); run the suite as root (CI does) to cover disk full and read-only.`);
});
afterAll(async () => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'pipe' });
    } catch {
      // already gone
    }
  }
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** A tmpfs of `pages` 4 KiB pages holding the precious model.etlt (one page). */
async function smallDisk(name: string, pages: number): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir);
  const problem = tryMount(dir, pages * 4096);
  if (problem) throw new Error(problem);
  await fs.writeFile(path.join(dir, 'model.etlt'), PRECIOUS);
  return dir;
}

async function scratch(name: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

async function failure(req: ExportRequest): Promise<StudioError> {
  const err = await runExport(req, () => undefined).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof StudioError)) throw new Error(`expected a StudioError, got ${String(err)}`);
  return err;
}

const pagesOf = (bytes: number) => Math.ceil(bytes / 4096);

describe('(c) disk full during each write', () => {
  it.skipIf(process.getuid?.() !== 0)(named('mount probe (tmpfs available)', condition(process.getuid?.() === 0, 'not running as root (mounting a tmpfs needs root; CI runs as root)')), () => {
    expect(mountProblem).toBeNull();
  });

  it('at the .etlt (mid-stream): E_DISK_FULL, no partial file, the old file intact', async (ctx) => {
    if (mountProblem) return needs(ctx, condition(false, `cannot mount a tmpfs (${mountProblem}): run the suite as root (CI does) to cover disk full and read-only`));
    const disk = await smallDisk('full-etlt', 64); // 256 KiB: the 1.2 MiB .etlt cannot fit
    const side = await scratch('full-etlt-side');
    const err = await failure(await int8Request(S, side, { etlt: path.join(disk, 'model.etlt') }));
    expect(err.code).toBe('E_DISK_FULL');
    expect(err.location.file).toBe(path.join(disk, 'model.etlt'));
    expect(err.hint).toMatch(/nothing was written/i);
    expect(await entries(disk)).toEqual(['model.etlt']);
    expect(await fs.readFile(path.join(disk, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
    expect(await entries(side)).toEqual([]);
  });

  it('at the calibration cache: E_DISK_FULL, no partial file, the old file intact', async (ctx) => {
    if (mountProblem) return needs(ctx, condition(false, `cannot mount a tmpfs (${mountProblem}): run the suite as root (CI does) to cover disk full and read-only`));
    const disk = await smallDisk('full-cache', 1); // the precious file takes the only page
    const side = await scratch('full-cache-side');
    await fs.writeFile(path.join(side, 'model.etlt'), PRECIOUS);
    const err = await failure(await int8Request(S, side, { cache: path.join(disk, 'cal.bin') }));
    expect(err.code).toBe('E_DISK_FULL');
    expect(err.location.file).toBe(path.join(disk, 'cal.bin'));
    expect(await entries(disk)).toEqual(['model.etlt']);
    expect(await fs.readFile(path.join(disk, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
    expect(await entries(side)).toEqual(['model.etlt']);
    expect(await fs.readFile(path.join(side, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
  });

  it('at the DeepStream config (after the .etlt and .onnx were written): E_DISK_FULL, nothing partial', async (ctx) => {
    if (mountProblem) return needs(ctx, condition(false, `cannot mount a tmpfs (${mountProblem}): run the suite as root (CI does) to cover disk full and read-only`));
    const etltBytes = 4 + (await fs.stat(S.tlt)).size;
    const onnxBytes = (await fs.stat(S.onnx)).size;
    // precious + .etlt + .onnx + the four lock files taken at validate (.etlt, .onnx, DS config, labels):
    // the DS config's data page is the one missing.
    const disk = await smallDisk('full-ds', 1 + pagesOf(etltBytes) + pagesOf(onnxBytes) + 4);
    const side = await scratch('full-ds-side');
    const err = await failure(await int8Request(S, side, { etlt: path.join(disk, 'model.etlt') }));
    expect(err.code).toBe('E_DISK_FULL');
    expect(err.location.file).toBe(path.join(disk, 'nvinfer_config.txt'));
    expect(await entries(disk)).toEqual(['model.etlt']);
    expect(await fs.readFile(path.join(disk, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
    expect(await entries(side)).toEqual([]);
  });
});

describe('(d) read-only output folder', () => {
  it('a read-only mount: E_OUTPUT_READONLY before any work, the old file intact', async (ctx) => {
    if (mountProblem) return needs(ctx, condition(false, `cannot mount a tmpfs (${mountProblem}): run the suite as root (CI does) to cover disk full and read-only`));
    const disk = await smallDisk('readonly', 16);
    execFileSync('mount', ['-o', 'remount,ro', disk], { stdio: 'pipe' });
    const err = await failure(await int8Request(S, disk));
    expect(err.code).toBe('E_OUTPUT_READONLY');
    expect(err.exitCode).toBe(7);
    expect(await entries(disk)).toEqual(['model.etlt']);
    expect(await fs.readFile(path.join(disk, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
  });
});

describe('(e) two jobs choose the same output at once', () => {
  it('exactly one succeeds; the other gets E_OUTPUT_LOCKED or E_OUTPUT_EXISTS; the winner file is whole', async () => {
    const dir = await scratch('race');
    const req = { ...(await int8Request(S, dir)), overwrite: false, precision: 'fp32' as const, calibration: undefined };
    delete req.outputs.cache;
    delete req.outputs.qdq;
    const results = await Promise.allSettled([runExport(req, () => undefined), runExport(req, () => undefined)]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const bad = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(bad).toHaveLength(1);
    expect(['E_OUTPUT_LOCKED', 'E_OUTPUT_EXISTS']).toContain((bad[0]?.reason as StudioError).code);
    expect(await entries(dir)).toEqual(['labels.txt', 'model.etlt', 'model.onnx', 'nvinfer_config.txt', 'report.json']);
    const back = await readModel(path.join(dir, 'model.etlt'), req.key);
    expect(Buffer.compare(back.onnx, await fs.readFile(S.onnx))).toBe(0);
  });
});
