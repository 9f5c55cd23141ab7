/**
 * INT8 export of a real detector architecture through the CLI: torchvision's Mask R-CNN (ResNet-50
 * FPN, seeded random weights, 178 MB; loops, If, RoiAlign, data-dependent detection count,
 * RPN convolutions that share weights across pyramid levels) exported by Debian's
 * python3-torchvision (test/support/torchvision.ts), calibrated on a real photo. The artifacts must
 * be what their consumers take: a cache with a finite positive scale per line under the header
 * trtexec and nvinfer load, a Q/DQ model that ONNX Runtime runs with every weight quantized and no
 * dangling pair, and a DeepStream config with the preprocessing the calibration used.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { runCli, type CliIO } from './program.js';
import { met, named, skimagePhotos, SKIMAGE_DATA } from '../../test/support/needs.js';
import { TV_MASKRCNN_FILE, tvMaskRcnn } from '../../test/support/torchvision.js';
import { auditQdq, parseCalibrationCache } from '../pipeline/calibrate/index.js';
import { parseIni, sectionMap } from '../pipeline/deploy/index.js';
import type { ExportReport } from '../../shared/report.js';

const NEEDS = [tvMaskRcnn(), skimagePhotos('astronaut.png', 'coffee.png', 'chelsea.png')];

let work = '';
beforeAll(async () => {
  if (!met(...NEEDS)) return;
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'tv-int8-'));
  await fs.mkdir(path.join(work, 'photos'));
  for (const f of ['astronaut.png', 'coffee.png', 'chelsea.png']) await fs.copyFile(path.join(SKIMAGE_DATA, f), path.join(work, 'photos', f));
});

describe.skipIf(!met(...NEEDS))(named('INT8 of the torchvision Mask R-CNN (a real detector architecture)', ...NEEDS), () => {
  it('writes a cache, a Q/DQ model ONNX Runtime runs and a DeepStream config that match what the calibration used', async () => {
    const out = path.join(work, 'out');
    await fs.mkdir(out);
    let stdout = '';
    let stderr = '';
    const io: CliIO = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), isTTY: false, env: { PATH: process.env.PATH }, signal: new AbortController().signal };
    const code = await runCli(
      ['mask_rcnn', 'export', '-m', TV_MASKRCNN_FILE, '-k', 'tv-test-key', '-o', path.join(out, 'tv.etlt'), '--data_type', 'int8', '--cpu', '--cal_image_dir', path.join(work, 'photos'), '--batches', '1', '--batch_size', '1',
        '--preset', 'unit', '--no_fidelity', '--cal_cache_file', path.join(out, 'cal.bin'), '--qdq_file', path.join(out, 'tv.qdq.onnx'), '--gen_ds_config', '--report_file', path.join(out, 'report.json')],
      io,
    );
    expect(code, stderr).toBe(0);
    const report = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8')) as ExportReport;
    expect(report.calibration?.samplesUsed).toBe(1);

    // The cache: the header the consumers instantiate, one finite positive scale per tensor.
    const cache = parseCalibrationCache(await fs.readFile(path.join(out, 'cal.bin'), 'utf8'));
    expect(`TRT-${cache.header.version}-${cache.header.algorithm}`).toBe(report.deployment?.cacheHeader);
    expect(cache.header.algorithm).toBe('EntropyCalibration2');
    expect(cache.entries.length).toBeGreaterThan(400);
    for (const e of cache.entries) expect(Number.isFinite(e.scale) && e.scale > 0, e.name).toBe(true);
    // Tensors empty in every calibration batch (the mask pooler's per-level gathers) get no line, and the log says so.
    expect(stderr).toMatch(/could not be calibrated and are not in the cache/);

    // The Q/DQ model: every weight quantized (the RPN's shared weights once), nothing dangling, and it runs.
    const m = /Q\/DQ: weights (\d+) of (\d+) per-channel/.exec(stderr);
    expect(m, stderr).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    const qdq = new Uint8Array(await fs.readFile(path.join(out, 'tv.qdq.onnx')));
    const audit = auditQdq(qdq);
    expect(audit.dangling).toEqual([]);
    expect(audit.floatWeights).toEqual([]);
    const session = await ort.InferenceSession.create(qdq, { executionProviders: ['cpu'] });
    try {
      expect(session.outputNames).toEqual(['boxes', 'labels', 'scores', 'masks']);
      const input = new ort.Tensor('float32', new Float32Array(3 * 512 * 672).fill(0.5), [1, 3, 512, 672]);
      const r = await session.run({ image: input });
      expect(r.boxes!.dims[1]).toBe(4);
      expect((r.boxes!.data as Float32Array).every(Number.isFinite)).toBe(true);
    } finally {
      await session.release();
    }

    // DeepStream: the preprocessing and size the calibration used (unit preset: x/255, RGB, NCHW).
    const ds = sectionMap(parseIni(await fs.readFile(path.join(out, 'nvinfer_config.txt'), 'utf8')), 'property')!;
    expect(ds.get('infer-dims')).toBe('3;512;672');
    expect(Number(ds.get('net-scale-factor'))).toBeCloseTo(1 / 255, 6);
    expect(ds.get('model-color-format')).toBe('0');
    expect(ds.get('network-mode')).toBe('1');
    expect(ds.get('int8-calib-file')).toBe('cal.bin');
    expect(stdout.trim().split('\n').pop()).toMatch(/^! INT8 not checked/);
  }, 300_000);
});
