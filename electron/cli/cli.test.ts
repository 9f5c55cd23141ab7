import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliIO } from './program.js';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';
import { sealFile, readModel } from '../pipeline/model/index.js';
import { parseCalibrationCache } from '../pipeline/calibrate/index.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  let out = '';
  let err = '';
  const io: CliIO = {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    isTTY: false,
    env: { PATH: process.env.PATH, ...env },
    signal: new AbortController().signal,
  };
  const prev = process.cwd();
  if (cwd) process.chdir(cwd);
  try {
    const code = await runCli(args, io);
    return { code, out, err };
  } finally {
    if (cwd) process.chdir(prev);
  }
}

let S: SampleLayout;
let work: string;
const CANARY = 'CANARY-k3y-7f3a9';

beforeAll(async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 2, trainPerShard: 8, valImages: 4, calImages: 12 });
  work = root;
}, 240_000);

async function freshDir(name: string): Promise<string> {
  const d = path.join(work, name);
  await fs.mkdir(d, { recursive: true });
  return d;
}

describe('export-studio mask_rcnn export', () => {
  it('exports FP32 with the DeepStream config: the .etlt decrypts to the same ONNX', async () => {
    const out = await freshDir('fp32');
    const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', S.spec, '-o', path.join(out, 'model.etlt'), '--gen_ds_config']);
    expect(r.err + r.out).not.toMatch(/E_INTERNAL/);
    expect(r.code).toBe(0);
    expect((await fs.readdir(out)).sort()).toEqual(['labels.txt', 'model.etlt', 'model.onnx', 'nvinfer_config.txt']);
    const original = await fs.readFile(S.onnx);
    const back = await readModel(path.join(out, 'model.etlt'), 'nvidia_tlt');
    expect(back.format).toBe('etlt');
    expect(Buffer.compare(back.onnx, original)).toBe(0);
    expect(Buffer.compare(await fs.readFile(path.join(out, 'model.onnx')), original)).toBe(0);
    const ds = await fs.readFile(path.join(out, 'nvinfer_config.txt'), 'utf8');
    expect(ds).toMatch(/^\[property\]/m);
    expect(ds).toMatch(/^onnx-file=model\.onnx$/m);
    expect(ds).toMatch(/^network-mode=0$/m);
    expect(ds).toMatch(/^infer-dims=3;320;512$/m);
    expect(ds).toMatch(/^num-detected-classes=5$/m);
    expect(ds).not.toMatch(/int8-calib-file/);
    expect(ds).not.toMatch(/nvidia_tlt/);
    const labels = (await fs.readFile(path.join(out, 'labels.txt'), 'utf8')).trim().split('\n');
    expect(labels[0]).toBe('BG');
    expect(labels[1]).toBe('disc');
    expect(labels[4]).toBe('tri');
    expect(r.err).toMatch(/DeepStream cannot decrypt/);
  });

  it('defaults the output to the model path with .etlt, beside the model (TAO), whatever the working directory', async () => {
    const models = await freshDir('default-out-model');
    const cwd = await freshDir('default-out-cwd');
    const model = path.join(models, 'mrcnn.epoch-3.tlt');
    await fs.copyFile(S.tlt, model);
    const r = await cli(['mask_rcnn', 'export', '-m', model, '-k', 'nvidia_tlt', '-e', S.spec], {}, cwd);
    expect(r.code).toBe(0);
    expect((await fs.readdir(models)).sort()).toEqual(['mrcnn.epoch-3.etlt', 'mrcnn.epoch-3.tlt']);
    expect(await fs.readdir(cwd)).toEqual([]);
  });

  it('refuses an existing output without --overwrite and leaves it intact', async () => {
    const out = await freshDir('exists');
    const target = path.join(out, 'model.etlt');
    await fs.writeFile(target, 'precious');
    const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', S.spec, '-o', target]);
    expect(r.code).toBe(7);
    expect(r.err).toMatch(/E_OUTPUT_EXISTS/);
    expect(r.err).toMatch(/--overwrite/);
    expect(await fs.readFile(target, 'utf8')).toBe('precious');
    expect(await fs.readdir(out)).toEqual(['model.etlt']);
    const again = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', S.spec, '-o', target, '--overwrite']);
    expect(again.code).toBe(0);
    expect((await fs.readFile(target)).length).toBeGreaterThan(1000);
  });

  it('catches a wrong key before any work and writes nothing', async () => {
    const out = await freshDir('wrongkey');
    const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', 'not-the-key', '-e', S.spec, '-o', path.join(out, 'm.etlt'), '--gen_ds_config', '--log_file', path.join(out, 'log.txt')]);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/E_WRONG_KEY_OR_CORRUPT/);
    expect(r.err).toMatch(/hint:/);
    expect(r.err).not.toMatch(/not-the-key/);
    expect(await fs.readdir(out)).toEqual(['log.txt']);
    expect(await fs.readFile(path.join(out, 'log.txt'), 'utf8')).toMatch(/E_WRONG_KEY_OR_CORRUPT/);
  });

  it('shows a spec error with its line and column', async () => {
    const out = await freshDir('badspec');
    const spec = path.join(out, 'spec.txt');
    const text = (await fs.readFile(S.spec, 'utf8')).replace('num_classes: 5', 'num_clases: 5');
    await fs.writeFile(spec, text);
    const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', spec, '-o', path.join(out, 'm.etlt')]);
    expect(r.code).toBe(5);
    const line = text.split('\n').findIndex((l) => l.includes('num_clases')) + 1;
    expect(r.err).toContain(`${spec}:${line}:`);
    expect(r.err).toMatch(/did you mean .?num_classes/);
    expect(await fs.readdir(out)).toEqual(['spec.txt']);
  });

  it('never lets the key reach logs, reports or printed commands (canary)', async () => {
    const out = await freshDir('canary');
    const sealed = path.join(out, 'canary.tlt');
    await sealFile(S.onnx, sealed, CANARY, { format: 'tlt', overwrite: false });
    const r = await cli([
      'mask_rcnn', 'export', '-m', sealed, '-k', CANARY, '-e', S.spec, '-o', path.join(out, 'x.etlt'),
      '--gen_ds_config', '--data_type', 'int8', '--batches', '2', '--batch_size', '4', '--cal_cache_file', path.join(out, 'cal.bin'),
      '--log_file', path.join(out, 'x.log'), '--report_file', path.join(out, 'report.json'), '--results_dir', path.join(out, 'results'), '-v',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out + r.err).not.toContain(CANARY);
    const files = await fs.readdir(out, { recursive: true });
    for (const f of files) {
      const p = path.join(out, f.toString());
      if ((await fs.stat(p)).isDirectory() || p.endsWith('.tlt') || p.endsWith('.etlt')) continue;
      const content = await fs.readFile(p);
      expect(content.includes(CANARY), `${f} contains the key`).toBe(false);
    }
    const report = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8')) as { command: string };
    expect(report.command).toContain('-k "$EXPORT_STUDIO_KEY"');
  });
});

describe('INT8 from the spec loader', () => {
  it('writes a TensorRT cache with provenance, reuses it when nothing changed, and refuses a stale one', async () => {
    const out = await freshDir('int8');
    const args = ['mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', S.spec, '-o', path.join(out, 'm.etlt'), '--data_type', 'int8', '--batches', '2', '--batch_size', '4', '--cal_cache_file', path.join(out, 'cal.bin')];
    const r = await cli(args);
    expect(r.code, r.err).toBe(0);
    const cache = parseCalibrationCache(await fs.readFile(path.join(out, 'cal.bin'), 'utf8'));
    expect(cache.header.algorithm).toBe('EntropyCalibration2');
    expect(cache.header.version).toBe(101600); // default target: TensorRT 10.16.0 (DeepStream 9.2)
    expect(cache.entries.map((e) => e.name)).toContain('Input');
    expect(cache.entries.length).toBeGreaterThan(10);
    const prov = JSON.parse(await fs.readFile(path.join(out, 'cal.bin.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(prov)).toMatch(/sha256/);

    // Same request again: the cache is reused (and the log says why).
    await fs.rm(path.join(out, 'm.etlt'));
    const again = await cli(args);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/reus/i);

    // Different data selection: not reused silently; replacing it needs --overwrite.
    await fs.rm(path.join(out, 'm.etlt'));
    const changed = await cli([...args.slice(0, -6), '--batches', '3', '--batch_size', '4', '--cal_cache_file', path.join(out, 'cal.bin')]);
    expect(changed.code).toBe(7);
    expect(changed.err).toMatch(/E_OUTPUT_EXISTS/);
    expect(changed.err).toMatch(/batch|selection|samples/i);
  });
});

describe('other commands', () => {
  it('--help reads like TAO', async () => {
    const r = await cli(['mask_rcnn', 'export', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['-m, --model', '-k, --key', '-e, --experiment_spec', '-o, --output_file', '--gen_ds_config', '--gpu_index', '--log_file', '--data_type', '--cal_image_dir', '--cal_cache_file', '--batches', '--batch_size']) {
      expect(r.out).toContain(flag);
    }
  });

  it('inspect, seal and unseal take -m -k -o', async () => {
    const out = await freshDir('tools');
    const sealed = path.join(out, 'm.etlt');
    expect((await cli(['seal', '-m', S.onnx, '-k', 'abc', '-o', sealed])).code).toBe(0);
    const ins = await cli(['inspect', '-m', sealed, '-k', 'abc', '--json']);
    expect(ins.code).toBe(0);
    const card = JSON.parse(ins.out) as { format: string; inputs: { name: string }[] };
    expect(card.format).toBe('etlt');
    expect(card.inputs[0]?.name).toBe('Input');
    const plain = path.join(out, 'back.onnx');
    expect((await cli(['unseal', '-m', sealed, '-k', 'abc', '-o', plain])).code).toBe(0);
    expect(Buffer.compare(await fs.readFile(plain), await fs.readFile(S.onnx))).toBe(0);
    const bad = await cli(['unseal', '-m', sealed, '-k', 'abd', '-o', path.join(out, 'bad.onnx')]);
    expect(bad.code).toBe(4);
    expect((await fs.readdir(out)).sort()).toEqual(['back.onnx', 'm.etlt']);
  });

  it('gpus explains an empty list', async () => {
    const r = await cli(['gpus'], { PATH: '/nonexistent' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/No GPU: nvidia-smi not found/);
  });
});
