import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './cli-run.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { decodeModel, encodeModel } from '../../electron/pipeline/onnx/model.js';
import { nvinferConfig } from '../../electron/pipeline/deploy/dsconfig.js';
import { quickKeyCheck } from '../../electron/pipeline/model/index.js';
import { runExport } from '../../electron/pipeline/run.js';
import { ExportRequestSchema } from '../../shared/request.js';
import { isStudioError, type StudioError } from '../../shared/errors.js';

/**
 * Issue 11: the classes where the right answer is a success — long names, an appended log, a
 * log on a full disk, two concurrent --overwrite exports, the embedded key's file mode, untrusted
 * names in the DeepStream config (read back with the real GLib) and in terminal output.
 */

let root: string;
let S: SampleLayout;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-ok-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 2 });
});
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

async function dir(name: string): Promise<string> {
  const d = path.join(root, name);
  await fs.mkdir(d, { recursive: true });
  return d;
}
const hidden = async (d: string) => (await fs.readdir(d)).filter((n) => n.includes('.export-studio-'));

/** GLib's own key-file reading of a config (what nvinfer does), via test/hostile/glib-keyfile.py. */
function glib(text: string): Record<string, Record<string, string>> {
  const r = spawnSync('python3', [new URL('./glib-keyfile.py', import.meta.url).pathname], { input: text });
  if (r.status !== 0) throw new Error(`GLib refused the file (${r.status}): ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as Record<string, Record<string, string>>;
}

describe('paths that must work', () => {
  it('-o with a 235- and a 255-byte name: the export succeeds, temps and locks fit the file system', async () => {
    for (const len of [235, 250]) {
      const d = await dir(`long-${len}`);
      const out = path.join(d, 'm'.repeat(len) + '.etlt');
      const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', SAMPLE_KEY, '-e', S.spec, '-o', out, '--gen_ds_config', '--log_file', path.join(d, 'l'.repeat(len) + '.log')]);
      expect(r.code, r.all).toBe(0);
      expect((await fs.stat(out)).size).toBeGreaterThan(0);
      expect(await hidden(d)).toEqual([]);
    }
  }, 60_000);

  it('an existing log of ours is appended to, run after run', async () => {
    const d = await dir('append');
    const logFile = path.join(d, 'export.log');
    for (let i = 0; i < 2; i++) {
      const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', SAMPLE_KEY, '-e', S.spec, '-o', path.join(d, `m${i}.etlt`), '--log_file', logFile]);
      expect(r.code, r.all).toBe(0);
    }
    const text = await fs.readFile(logFile, 'utf8');
    expect(text.match(/\[INFO\] export-studio .*: export-studio mask_rcnn export/g)?.length).toBe(2);
    expect(await hidden(d)).toEqual([]);
  }, 60_000);

  it('a full file system for the log only: full from the start → E_DISK_FULL before any work; full midway → the export succeeds with a warning; no temp left', async (ctx) => {
    const disk = await dir('logdisk');
    const mount = (size: string): boolean => {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', disk], { stdio: 'pipe' });
        return true;
      } catch (e) {
        console.warn(`skipped: cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}); run as root to cover the full-disk log`);
        return false;
      }
    };
    if (!mount('4k')) return ctx.skip();
    try {
      await fs.writeFile(path.join(disk, 'filler'), Buffer.alloc(4096)).catch(() => undefined);
      const d = await dir('logdisk-out');
      const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', SAMPLE_KEY, '-e', S.spec, '-o', path.join(d, 'm.etlt'), '-v', '--log_file', path.join(disk, 'export.log')]);
      expect(r.code, r.all).toBe(7);
      expect(r.all).toContain('error E_DISK_FULL:');
      expect(r.all).toContain(path.join(disk, 'export.log'));
      expect((await fs.readdir(disk)).sort()).toEqual(['filler']);
      expect(await fs.readdir(d)).toEqual([]);
    } finally {
      execFileSync('umount', [disk]);
    }
    // Room for the lock and the first page of the log, not for a verbose INT8 log.
    if (!mount('8k')) return ctx.skip();
    try {
      const d = await dir('logdisk-out2');
      const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', SAMPLE_KEY, '-e', S.spec, '-o', path.join(d, 'm.etlt'), '-v', '--log_file', path.join(disk, 'export.log'), '--data_type', 'int8', '--cal_image_dir', S.calImages, '--batches', '1', '--batch_size', '2', '--cal_cache_file', path.join(d, 'cal.bin'), '--allow_below_target']);
      // (--allow_below_target: the two held-out images of this tiny sample show the FP32 model no object, so the check has nothing to compare.)
      expect(r.code, r.all).toBe(0);
      expect(r.all).toMatch(/log could not be written to .*export\.log \(E_DISK_FULL\)/);
      expect(await fs.readdir(disk)).toEqual([]);
      expect((await fs.readdir(d)).filter((n) => n.startsWith('.'))).toEqual([]);
      expect(await fs.readdir(d)).toContain('m.etlt');
    } finally {
      execFileSync('umount', [disk]);
    }
  }, 90_000);

  it('two concurrent --overwrite exports to the same -o with different keys: exactly one succeeds, and the file opens with its key', async () => {
    const d = await dir('race');
    const out = path.join(d, 'm.etlt');
    await fs.writeFile(out, 'old\n');
    const req = (key: string) => ExportRequestSchema.parse({ model: S.onnx, key, spec: S.spec, gpu: 'cpu', overwrite: true, outputs: { etlt: out } });
    const results = await Promise.all(['key-A-1234', 'key-B-5678'].map((k) => runExport(req(k), () => undefined).then(() => ({ k, ok: true as const }), (e: unknown) => ({ k, ok: false as const, e: e as StudioError }))));
    const wins = results.filter((r) => r.ok);
    const losses = results.filter((r) => !r.ok);
    expect(wins.length).toBe(1);
    expect(losses.length).toBe(1);
    const loss = losses[0];
    expect(loss && !loss.ok && isStudioError(loss.e) ? loss.e.code : '').toMatch(/^E_OUTPUT_LOCKED$/);
    await expect(quickKeyCheck(out, wins[0]?.k as string)).resolves.toBeTruthy();
    await expect(quickKeyCheck(out, loss?.k as string)).rejects.toMatchObject({ code: 'E_WRONG_KEY_OR_CORRUPT' });
    expect(await hidden(d)).toEqual([]);
  }, 60_000);

  it('--ds_embed_key writes the config readable by its owner only (0600); without it 0644', async () => {
    for (const embed of [true, false]) {
      const d = await dir(`embed-${embed}`);
      const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', SAMPLE_KEY, '-e', S.spec, '-o', path.join(d, 'm.etlt'), '--gen_ds_config', ...(embed ? ['--ds_embed_key'] : [])]);
      expect(r.code, r.all).toBe(0);
      const mode = (await fs.stat(path.join(d, 'nvinfer_config.txt'))).mode & 0o777;
      expect(mode.toString(8)).toBe(embed ? '600' : (0o644 & ~process.umask()).toString(8));
    }
  }, 60_000);
});

const HOSTILE_NAMES = [
  'generate_detections\n[property]\nmodel-engine-file=/tmp/evil.engine',
  'x\r\nonnx-file=/tmp/evil.onnx',
  'y\ncustom-lib-path=/tmp/evil.so\n#',
  'z\u2028[class-attrs-all]\npre-cluster-threshold=0',
  '\x1b]0;pwned\x07name',
];

describe('untrusted names', () => {
  it('tensor and op names cannot add keys or groups to nvinfer_config.txt (read back with GLib)', () => {
    for (const name of HOSTILE_NAMES) {
      const { text } = nvinferConfig({ onnxFile: 'model.onnx', precision: 'fp32', imageSize: [320, 512], numClasses: 5, outputBlobNames: [name, 'mask_fcn_logits/BiasAdd'], inputName: name, pluginOps: [name] });
      const kf = glib(text);
      expect(Object.keys(kf).sort()).toEqual(['class-attrs-all', 'property']);
      expect(kf.property?.['onnx-file']).toBe('model.onnx');
      expect(kf.property?.['model-engine-file']).toBe('model.onnx_b1_gpu0_fp32.engine');
      expect(kf.property?.['custom-lib-path']).not.toContain('evil');
      expect(kf['class-attrs-all']?.['pre-cluster-threshold']).toBe('0.5');
      // The names survive exactly where they are data: output-blob-names round-trips through GLib's unescaping.
      expect(kf.property?.['output-blob-names']).toBe(`${name};mask_fcn_logits/BiasAdd`);
    }
  });

  it('end to end: a model whose output name carries key-file lines gets a config GLib reads as ours; the terminal sees no escape', async () => {
    const m = decodeModel(await fs.readFile(S.onnx));
    const out0 = m.graph?.output?.[0];
    if (!out0?.name) throw new Error('no output');
    const old = out0.name;
    const evil = (HOSTILE_NAMES[0] as string) + '\x1b[2J\x1b]0;owned\x07';
    const rename = (o: string) => (o === old ? evil : o);
    for (const n of m.graph?.node ?? []) {
      n.output = (n.output ?? []).map(rename);
      n.input = (n.input ?? []).map(rename);
    }
    out0.name = evil;
    const d = await dir('evil-model');
    const model = path.join(d, 'evil.onnx');
    await fs.writeFile(model, encodeModel(m));
    const r = await cli(['mask_rcnn', 'export', '-m', model, '-k', SAMPLE_KEY, '-e', S.spec, '-o', path.join(d, 'm.etlt'), '--gen_ds_config', '-v']);
    expect(r.code, r.all).toBe(0);
    const kf = glib(await fs.readFile(path.join(d, 'nvinfer_config.txt'), 'utf8'));
    expect(Object.keys(kf).sort()).toEqual(['class-attrs-all', 'property']);
    expect(kf.property?.['onnx-file']).toBe('m.onnx');
    expect(kf.property?.['model-engine-file']).toBe('m.onnx_b1_gpu0_fp32.engine');
    const insp = await cli(['inspect', '-m', model]);
    for (const text of [r.all, insp.all]) {
      expect(text.includes('\x07') || text.includes('\x1b')).toBe(false);
      expect(text).not.toContain('\u2028');
    }
    expect(insp.all).toContain('\\x1b');
  }, 60_000);
});
