import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runCli, type CliIO } from './program.js';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';
import { parseCalibrationCache } from '../pipeline/calibrate/index.js';
import { parseIni, sectionMap } from '../pipeline/deploy/index.js';
import { decodeModel } from '../pipeline/onnx/index.js';
import { runExport } from '../pipeline/run.js';
import type { ExportReport } from '../../shared/report.js';

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), isTTY: false, env: { PATH: process.env.PATH, ...env }, signal: new AbortController().signal };
  const code = await runCli(args, io);
  return { code, out, err };
}

let S: SampleLayout;
let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'cli8-'));
  S = await makeSample({ dir: path.join(work, 'sample'), trainShards: 2, trainPerShard: 6, valImages: 2, calImages: 10 });
}, 240_000);

const dir = async (n: string) => {
  const d = path.join(work, n);
  await fs.mkdir(d, { recursive: true });
  return d;
};

describe('INT8 from an image folder', () => {
  it('calibrates a spec-less plain ONNX from images, writes the TAO tensorfile, and the tensorfile reproduces the cache', async () => {
    const out = await dir('imgdir');
    const tf = path.join(out, 'cal.h5');
    const a = await cli(['mask_rcnn', 'export', '-m', S.onnx, '-k', 'seal-key', '-o', path.join(out, 'a.etlt'), '--data_type', 'int8', '--cal_image_dir', S.calImages, '--cal_data_file', tf, '--batches', '2', '--batch_size', '4', '--cal_cache_file', path.join(out, 'a.bin'), '--cal_algorithm', 'minmax']);
    expect(a.code, a.err).toBe(0);
    expect(a.err).toMatch(/No experiment spec/);
    const h5 = await fs.readFile(tf);
    expect(h5.subarray(0, 8).toString('latin1')).toBe('\x89HDF\r\n\x1a\n');
    const cacheA = parseCalibrationCache(await fs.readFile(path.join(out, 'a.bin'), 'utf8'));
    // MinMax scales under the header trtexec --calib / nvinfer instantiate; the algorithm is in the provenance.
    expect(cacheA.header.algorithm).toBe('EntropyCalibration2');
    expect(JSON.parse(await fs.readFile(path.join(out, 'a.bin.json'), 'utf8')).algorithm.name).toBe('minmax');

    // The existing tensorfile is now the source (TAO rule): same batches → same min/max scales.
    const b = await cli(['mask_rcnn', 'export', '-m', S.onnx, '-k', 'seal-key', '-o', path.join(out, 'b.etlt'), '--data_type', 'int8', '--cal_image_dir', S.calImages, '--cal_data_file', tf, '--batches', '2', '--batch_size', '4', '--cal_cache_file', path.join(out, 'b.bin'), '--cal_algorithm', 'minmax']);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toMatch(/is used as-is/);
    const cacheB = parseCalibrationCache(await fs.readFile(path.join(out, 'b.bin'), 'utf8'));
    // Images were stored as float64 then read back as float32: the scales agree to float32 precision.
    expect(cacheB.entries.map((e) => e.name)).toEqual(cacheA.entries.map((e) => e.name));
    for (let i = 0; i < cacheA.entries.length; i++) expect(cacheB.entries[i]?.scale).toBeCloseTo(cacheA.entries[i]?.scale ?? NaN, 6);
  });

  it('holds out the folder images the calibration never read (its unused reserve), and the same ones again when the cache is reused', async () => {
    // 10 images, 2 × 4 needed: the source selects all 10 (8 + a reserve of 2 for undecodable
    // images). The reserve was not read, so the check compares on those 2, never on the 8.
    const out = await dir('reserve-heldout');
    const args = ['mask_rcnn', 'export', '-m', S.onnx, '-k', 'seal-key', '-o', path.join(out, 'm.etlt'), '--data_type', 'int8', '--cal_image_dir', S.calImages, '--batches', '2', '--batch_size', '4', '--cal_cache_file', path.join(out, 'cal.bin'), '--int8_search', 'off', '--allow_below_target', '--fidelity_images', '8', '--report_file', path.join(out, 'report.json')];
    const a = await cli(args);
    expect(a.code, a.err).toBe(0);
    expect(a.err).not.toMatch(/no held-out data/);
    const ra = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8')) as ExportReport;
    expect(ra.calibration?.samplesUsed).toBe(8);
    expect(ra.fidelity?.images).toBe(2);
    expect(ra.fidelity?.source).toMatch(/^2 image\(s\) of .* not used for calibration \(2 available\)$/);
    const prov = JSON.parse(await fs.readFile(path.join(out, 'cal.bin.json'), 'utf8')) as { data: { count: number }; int8: { calibrationUsed: number[] } };
    expect(prov.data.count).toBe(10);
    expect(prov.int8.calibrationUsed).toHaveLength(8);
    expect(new Set(prov.int8.calibrationUsed).size).toBe(8);
    // Reused cache: the recorded indices give the same held-out images, so the check is reused too.
    const b = await cli([...args, '--overwrite']);
    expect(b.code, b.err).toBe(0);
    const rb = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8')) as ExportReport;
    expect(rb.calibration?.reused).toBe(true);
    expect(rb.fidelity?.reused).toBe(true);
    expect(rb.fidelity?.source).toBe(ra.fidelity?.source);
  });

  it('refuses a missing or empty image folder instead of calibrating on noise, writing nothing', async () => {
    const out = await dir('noimages');
    const empty = await dir('empty-folder');
    for (const d of [path.join(work, 'missing-folder'), empty]) {
      const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', S.spec, '-o', path.join(out, 'x.etlt'), '--data_type', 'int8', '--cal_image_dir', d, '--cal_cache_file', path.join(out, 'cal.bin')]);
      expect(r.code).toBe(6);
      expect(r.err).toMatch(/E_IMAGE_DIR/);
    }
    expect(await fs.readdir(out)).toEqual([]);
  });

  it('fails with E_CAL_TOO_FEW_SAMPLES unless fewer are accepted', async () => {
    const out = await dir('few');
    const base = ['mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', S.spec, '-o', path.join(out, 'x.etlt'), '--data_type', 'int8', '--cal_image_dir', S.calImages, '--batches', '4', '--batch_size', '8', '--cal_cache_file', path.join(out, 'cal.bin')];
    const r = await cli(base);
    expect(r.code).toBe(6);
    expect(r.err).toMatch(/E_CAL_TOO_FEW_SAMPLES/);
    expect(r.err).toMatch(/--cal_accept_fewer/);
    expect(await fs.readdir(out)).toEqual([]);
    const ok = await cli([...base, '--cal_accept_fewer']);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.err).toMatch(/calibrating on 10 samples instead of 32/);
  });
});

describe('--engine_file', () => {
  it('fails clearly without trtexec, and runs trtexec with the ONNX and cache when it is on PATH', async () => {
    const out = await dir('engine');
    const args = ['mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', S.spec, '-o', path.join(out, 'm.etlt'), '--data_type', 'int8', '--cal_image_dir', S.calImages, '--batches', '2', '--batch_size', '4', '--cal_cache_file', path.join(out, 'cal.bin'), '--engine_file', path.join(out, 'm.engine')];
    // trtexec is looked up on the PATH of the process that runs the pipeline.
    const savedPath = process.env.PATH;
    process.env.PATH = '/usr/bin:/bin';
    const missing = await cli(args).finally(() => (process.env.PATH = savedPath));
    expect(missing.code).toBe(8);
    expect(missing.err).toMatch(/E_TRTEXEC_NOT_FOUND/);
    expect(await fs.readdir(out)).toEqual([]);

    // A stand-in trtexec that records its arguments and writes the engine where asked.
    const bin = await dir('fakebin');
    const record = path.join(work, 'trtexec-args.txt');
    await fs.writeFile(
      path.join(bin, 'trtexec'),
      `#!/bin/sh\necho "&&&& RUNNING TensorRT.trtexec"\nprintf '%s\\n' "$@" > ${record}\nfor a in "$@"; do case "$a" in --saveEngine=*) printf 'ENGINE' > "\${a#--saveEngine=}";; --calib=*) head -1 "\${a#--calib=}" >> ${record};; esac; done\necho "&&&& PASSED"\n`,
      { mode: 0o755 },
    );
    process.env.PATH = `${bin}:/usr/bin:/bin`;
    const ok = await cli(args).finally(() => (process.env.PATH = savedPath));
    expect(ok.code, ok.err).toBe(0);
    expect(await fs.readFile(path.join(out, 'm.engine'), 'utf8')).toBe('ENGINE');
    const argv = (await fs.readFile(record, 'utf8')).split('\n');
    expect(argv).toContain('--int8');
    expect(argv.some((a) => a.startsWith('--onnx='))).toBe(true);
    expect(argv.some((a) => a.startsWith('--calib='))).toBe(true);
    expect(argv).toContain('TRT-101600-EntropyCalibration2');
  });
});

describe('the DeepStream config and cache match what the export used', () => {
  it('INT8 calibrated in BGR with minmax: nvinfer gets BGR, the BGR means, the EntropyCalibration2 cache and the given parser library', async () => {
    const out = await dir('ds-bgr');
    const lib = '/srv/deepstream_tao_apps/post_processor/libnvds_infercustomparser_tao.so';
    const r = await cli(['mask_rcnn', 'export', '-m', S.onnx, '-k', 'seal-key', '-o', path.join(out, 'm.etlt'), '--data_type', 'int8', '--cal_image_dir', S.calImages, '--batches', '1', '--batch_size', '2', '--cal_algorithm', 'minmax', '--channel_order', 'bgr', '--gen_ds_config', '--ds_custom_lib', lib, '--no_fidelity', '--report_file', path.join(out, 'report.json'), '--cal_cache_file', path.join(out, 'cal.bin')]);
    expect(r.code, r.err).toBe(0);
    const p = sectionMap(parseIni(await fs.readFile(path.join(out, 'nvinfer_config.txt'), 'utf8')), 'property')!;
    expect(p.get('model-color-format')).toBe('1');
    expect(p.get('offsets')).toBe('103.53;116.28;123.675');
    expect(p.get('network-mode')).toBe('1');
    expect(p.get('custom-lib-path')).toBe(lib);
    const cache = parseCalibrationCache(await fs.readFile(path.join(out, p.get('int8-calib-file')!), 'utf8'));
    expect(`TRT-${cache.header.version}-${cache.header.algorithm}`).toBe('TRT-101600-EntropyCalibration2');
    expect(cache.entries.every((e) => e.scale > 0)).toBe(true);
    const report = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8')) as ExportReport;
    expect(report.calibration).toMatchObject({ algorithm: 'minmax', cacheHeader: 'TRT-101600-EntropyCalibration2' });
    expect(report.deployment).toMatchObject({ trtVersion: '10.16.0', cacheHeader: 'TRT-101600-EntropyCalibration2', calibrationAlgorithm: 'minmax', floatTensors: [] });
    expect(report.deployment!.trtexec).toMatch(/^trtexec --onnx=.*m\.onnx --saveEngine=.*m\.engine .*--int8 --fp16 --calib=.*cal\.bin$/);
    expect(r.out + r.err).not.toMatch(/custom-lib-path is the default/);
    // No check, no verdict: the last line says the INT8 was not checked (never a ✔).
    expect(r.out).toMatch(/^! INT8 not checked against a target: turned off \(fidelity\.enabled = false\)\.$/m);
    expect(r.out).not.toMatch(/✔/);
  }, 120_000);

  it('FP32 with the imagenet preset and no spec: the config carries that preprocessing, the model\'s class count and the default-lib notice', async () => {
    const out = await dir('ds-fp32');
    const r = await cli(['mask_rcnn', 'export', '-m', S.onnx, '-k', 'seal-key', '-o', path.join(out, 'm.etlt'), '--preset', 'imagenet', '--gen_ds_config']);
    expect(r.code, r.err).toBe(0);
    const p = sectionMap(parseIni(await fs.readFile(path.join(out, 'nvinfer_config.txt'), 'utf8')), 'property')!;
    expect(Number(p.get('net-scale-factor'))).toBeCloseTo((1 / 58.395 + 1 / 57.12 + 1 / 57.375) / 3, 9);
    expect(p.get('maintain-aspect-ratio')).toBe('0'); // imagenet stretches
    expect(p.get('network-mode')).toBe('0');
    expect(p.has('int8-calib-file')).toBe(false);
    expect(Number(p.get('num-detected-classes'))).toBeGreaterThan(2); // from the mask output, not the default 2
    expect(r.err).toMatch(/custom-lib-path is the default/);
  }, 120_000);

  it('--cal_source cache: a MinMaxCalibration / old-version cache with zero scales is refused, and rewritten with the same scales under --overwrite', async () => {
    const out = await dir('cache-src');
    const cache = path.join(out, 'given.bin');
    await fs.writeFile(cache, 'TRT-8601-MinMaxCalibration\nInput: 3c948aaf\nmask_fcn_logits/BiasAdd: 0\n');
    const args = ['mask_rcnn', 'export', '-m', S.onnx, '-k', 'seal-key', '-o', path.join(out, 'm.etlt'), '--data_type', 'int8', '--cal_source', 'cache', '--cal_cache_file', cache, '--gen_ds_config', '--no_fidelity'];
    const refused = await cli(args);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/E_CACHE_FORMAT.*header is TRT-8601-MinMaxCalibration.*TRT-101600-EntropyCalibration2.*zero scales/);
    expect(await fs.readFile(cache, 'utf8')).toMatch(/^TRT-8601-MinMaxCalibration/);
    const ok = await cli([...args, '--overwrite']);
    expect(ok.code, ok.err).toBe(0);
    expect(await fs.readFile(cache, 'utf8')).toBe('TRT-101600-EntropyCalibration2\nInput: 3c948aaf\nmask_fcn_logits/BiasAdd: 3c010204\n');
    const p = sectionMap(parseIni(await fs.readFile(path.join(out, 'nvinfer_config.txt'), 'utf8')), 'property')!;
    expect(path.resolve(out, p.get('int8-calib-file')!)).toBe(cache);
  }, 120_000);

  it('request.floatTensors reach every consumer: no cache line, no Q/DQ pair, trtexec --layerPrecisions, nvinfer layer-device-precision', async () => {
    const out = await dir('float-tensors');
    const nodes = decodeModel(await fs.readFile(S.onnx)).graph!.node ?? [];
    const relu = nodes.find((n) => n.opType === 'Relu' && n.name)!;
    const kept = relu.output![0]!;
    const report = await runExport(
      {
        model: S.onnx,
        key: 'seal-key',
        precision: 'int8',
        floatTensors: [kept],
        calibration: { source: 'image-dir', imageDir: S.calImages, batches: 1, batchSize: 2 },
        fidelity: { enabled: false },
        outputs: { etlt: path.join(out, 'm.etlt'), cache: path.join(out, 'cal.bin'), qdq: path.join(out, 'm.qdq.onnx'), dsConfig: true },
      },
      () => undefined,
    );
    const cache = parseCalibrationCache(await fs.readFile(path.join(out, 'cal.bin'), 'utf8'));
    expect(cache.entries.map((e) => e.name)).not.toContain(kept);
    expect(cache.entries.length).toBeGreaterThan(5);
    const qIn = (decodeModel(await fs.readFile(path.join(out, 'm.qdq.onnx'))).graph!.node ?? []).filter((n) => n.opType === 'QuantizeLinear').map((n) => n.input![0]);
    expect(qIn).not.toContain(kept);
    expect(qIn.length).toBeGreaterThan(5);
    const layers = nodes.filter((n) => [...(n.input ?? []), ...(n.output ?? [])].includes(kept)).map((n) => n.name!).sort();
    const p = sectionMap(parseIni(await fs.readFile(path.join(out, 'nvinfer_config.txt'), 'utf8')), 'property')!;
    expect(p.get('layer-device-precision')).toBe(layers.map((l) => `${l}:fp16:gpu`).join(';'));
    expect(report.deployment!.floatTensors).toEqual([kept]);
    expect(report.deployment!.trtexec).toContain(`--precisionConstraints=obey --layerPrecisions=${layers.map((l) => `${l}:fp16`).join(',')}`);
    expect(JSON.parse(await fs.readFile(path.join(out, 'cal.bin.json'), 'utf8')).target.floatTensors).toEqual([kept]);
  }, 120_000);

  it('refuses INT8 for TensorRT 11 without --qdq_file before any work', async () => {
    const out = await dir('trt11');
    const r = await cli(['mask_rcnn', 'export', '-m', S.onnx, '-k', 'seal-key', '-o', path.join(out, 'm.etlt'), '--data_type', 'int8', '--cal_image_dir', S.calImages, '--gen_ds_config', '--trt_version', '11.4.1', '--cal_cache_file', path.join(out, 'cal.bin')]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/TensorRT 11 removed implicit INT8/);
    expect(await fs.readdir(out)).toEqual([]);
  });
});

describe('the built CLI as a user runs it', () => {
  it('exits with the class exit code and prints plain lines when not on a TTY', async () => {
    const built = path.resolve('out/cli/export-studio.js');
    const exists = await fs.stat(built).then(() => true, () => false);
    if (!exists) execFileSync(process.execPath, ['scripts/build.mjs', '--no-renderer'], { stdio: 'ignore' });
    let code = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [built, 'mask_rcnn', 'export', '-m', path.join(work, 'nope.tlt'), '-k', 'x'], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      code = (e as { status: number }).status;
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(code).toBe(3);
    expect(stderr).toMatch(/error E_FILE_NOT_FOUND: Model not found/);
    expect(stderr.includes('\r') || stderr.includes('\u001b[')).toBe(false); // no TTY redraws in plain mode
  });
});
