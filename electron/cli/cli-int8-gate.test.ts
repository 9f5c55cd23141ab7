/**
 * The INT8 gate and search end to end on the bundled sample (the `npm run demo` model and data):
 * entropy calibration alone keeps almost none of its detections; the search must fix that, and
 * without the search the job must not end green.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliIO } from './program.js';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';
import { parseCalibrationCache } from '../pipeline/calibrate/index.js';
import { analyseQdq } from '../pipeline/fidelity/index.js';
import type { ExportReport } from '../../shared/report.js';
import { ERROR_CLASSES } from '../../shared/errors.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), isTTY: false, env: { PATH: process.env.PATH }, signal: new AbortController().signal };
  const code = await runCli(args, io);
  return { code, out, err };
}

let S: SampleLayout;
let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'gate8-'));
  // The demo's sample (default sizes): 8 validation records are the held-out images.
  S = await makeSample({ dir: path.join(work, 'sample') });
}, 240_000);

async function exportInt8(name: string, extra: string[]) {
  const out = path.join(work, name);
  await fs.mkdir(out, { recursive: true });
  const f = (n: string) => path.join(out, n);
  const r = await cli([
    'mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', S.spec, '-o', f('model.etlt'), '--data_type', 'int8', '--gen_ds_config',
    '--batches', '4', '--batch_size', '8', '--cal_cache_file', f('cal.bin'), '--qdq_file', f('model.qdq.onnx'), '--report_file', f('report.json'), '--results_dir', out,
    ...extra,
  ]);
  const report = JSON.parse(await fs.readFile(f('report.json'), 'utf8')) as ExportReport;
  const status = (await fs.readFile(f('status.json'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { status: string; message: string; int8?: { verdict: string } });
  return { ...r, report, status: status[status.length - 1]!, f };
}

describe('INT8 gate', () => {
  it('without the search, entropy INT8 below its target is not a success: exit 9, red verdict, status.json FAILURE, files still written', async () => {
    const r = await exportInt8('off', ['--int8_search', 'off']);
    expect(ERROR_CLASSES.quality).toBe(9);
    expect(r.code, r.err).toBe(9);
    const v = r.report.fidelity!.verdict!;
    expect(v.meetsTarget).toBe(false);
    expect(v.targetOrigin).toBe('default');
    expect(v.checks.find((c) => c.term === 'detections')!.value!).toBeLessThan(0.9);
    expect(r.report.outcome).toBe('int8-below-target');
    // One-line verdict last on stdout, with the next step; never a tick on the check's stage line.
    const last = r.out.trim().split('\n').pop()!;
    expect(last).toMatch(/^✖ INT8 below target: detection agreement .* \(target ≥ 90\.0 %\).*Next: /);
    expect(r.err).toMatch(/✖ INT8 fidelity check — INT8 below target/);
    expect(r.err).not.toMatch(/✔ INT8 fidelity check/);
    expect(r.status.status).toBe('FAILURE');
    expect(r.status.message).toMatch(/^INT8 below target/);
    expect(r.status.int8?.verdict).toBe('INT8 below target');
    for (const n of ['model.etlt', 'cal.bin', 'model.qdq.onnx', 'nvinfer_config.txt', 'report.json']) await expect(fs.stat(r.f(n))).resolves.toBeTruthy();
  }, 180_000);

  it('--allow_below_target keeps exit 0 but the verdict stays red in the report and status.json', async () => {
    const r = await exportInt8('allow', ['--int8_search', 'off', '--allow_below_target']);
    expect(r.code, r.err).toBe(0);
    expect(r.report.fidelity!.verdict!.meetsTarget).toBe(false);
    expect(r.report.fidelity!.verdict!.allowed).toBe(true);
    expect(r.status.status).toBe('SUCCESS');
    expect(r.status.message).toMatch(/^INT8 below target.*--allow_below_target/);
    expect(r.out.trim().split('\n').pop()).toMatch(/^✖ INT8 below target/);
  }, 180_000);

  it('the search (on by default) brings the demo INT8 to its target, records each step, and exits 0', async () => {
    const r = await exportInt8('auto', []);
    expect(r.code, r.err + r.out).toBe(0);
    const fid = r.report.fidelity!;
    expect(fid.verdict!.meetsTarget).toBe(true);
    expect(fid.detections!.agreement).toBeGreaterThanOrEqual(0.9);
    const s = fid.search!;
    expect(s.mode).toBe('auto');
    expect(s.stoppedBy).toBe('target-met');
    expect(s.steps[0]!.meetsTarget).toBe(false); // the entropy thresholds alone miss it
    expect(s.steps.filter((x) => x.kept && x.meetsTarget).length).toBeGreaterThan(0);
    expect(s.seconds).toBeLessThanOrEqual(s.budgetSeconds + 2); // bounded (one evaluation may straddle the bound)
    expect(r.status.status).toBe('SUCCESS');
    // The verdict says how much of the model the search kept in FP16 (of every calibrated tensor).
    const total = s.floatTensors.length + Object.values(s.algorithms).reduce((a, b) => a + (b ?? 0), 0);
    expect(total).toBe(r.report.calibration!.tensors);
    const share = s.floatTensors.length ? `, ${s.floatTensors.length} of ${total} tensors kept in FP16` : '';
    expect(r.out.trim().split('\n').pop()).toBe(`✔ ${fid.verdict!.summary}.`);
    expect(fid.verdict!.summary.endsWith(`held-out image(s)${share}`)).toBe(true);
    // The written cache carries the chosen thresholds: they differ from the requested entropy ones where the search switched.
    const prov = JSON.parse(await fs.readFile(r.f('cal.bin.json'), 'utf8')) as { int8: { algorithmOf: Record<string, string> }; search: string };
    expect(prov.search).toBe('auto default-target');
    expect(Object.keys(prov.int8.algorithmOf).length + s.floatTensors.length).toBeGreaterThan(0);
  }, 180_000);

  it('a second export with nothing changed reuses the cache and the fidelity result, in at most a fifth of the time', async () => {
    const t0 = performance.now();
    const a = await exportInt8('reuse', []);
    const first = performance.now() - t0;
    expect(a.code, a.err).toBe(0);
    const t1 = performance.now();
    const b = await exportInt8('reuse', ['--overwrite']);
    const second = performance.now() - t1;
    expect(b.code, b.err).toBe(0);
    expect(b.err).toMatch(/reusing the cache/);
    expect(b.err).toMatch(/fidelity check reused/);
    expect(b.report.fidelity!.reused).toBe(true);
    expect(b.report.fidelity!.verdict).toEqual(a.report.fidelity!.verdict);
    expect(second).toBeLessThan(first / 5);
    // A changed target is a different check: not reused (and the cache's search settings differ: recalibrated).
    const c = await exportInt8('reuse', ['--overwrite', '--int8_target', 'detections=0.5']);
    expect(c.err).not.toMatch(/fidelity check reused/);
    expect(c.report.fidelity!.reused).toBeUndefined();
  }, 240_000);

  it('tensors kept in FP16 by the search are absent from the cache and the Q/DQ model and pinned in trtexec and DeepStream', async () => {
    // An SNR target min-max INT8 cannot reach: the search falls back to float as far as its bound allows.
    const r = await exportInt8('fallback', ['--cal_algorithm', 'minmax', '--int8_target', 'snr=60']);
    expect(r.code).toBe(9);
    const s = r.report.fidelity!.search!;
    expect(s.steps.some((x) => x.floatTensors > 0)).toBe(true);
    const float = s.floatTensors.map((t) => t.name);
    expect(float.length).toBeGreaterThan(0);
    const cache = parseCalibrationCache(await fs.readFile(r.f('cal.bin'), 'utf8'));
    const names = new Set(cache.entries.map((e) => e.name));
    for (const n of float) expect(names.has(n), n).toBe(false);
    const q = analyseQdq(await fs.readFile(r.f('model.qdq.onnx')));
    for (const n of float) expect(q.activations.map((a) => a.name)).not.toContain(n);
    // One derivation (report.deployment) carries them to trtexec and nvinfer.
    const d = r.report.deployment!;
    expect([...d.floatTensors].sort()).toEqual([...new Set([...float])].sort());
    expect(d.floatLayers.length).toBeGreaterThan(0);
    const ds = await fs.readFile(r.f('nvinfer_config.txt'), 'utf8');
    expect(ds).toContain(`layer-device-precision=${d.floatLayers.map((l) => `${l}:gpu`).join(';')}`);
    expect(r.report.fidelity!.trtexec).toContain(`--precisionConstraints=obey`);
    expect(r.report.fidelity!.trtexec).toContain(`--layerPrecisions=${d.floatLayers.join(',')}`);
    // The search never returns a mix worse than where it started.
    const first = s.steps[0]!.checks[0]!.value!;
    expect(r.report.fidelity!.verdict!.checks[0]!.value!).toBeGreaterThan(first);
  }, 180_000);

  it('refuses a malformed --int8_target with a usage error', async () => {
    for (const t of ['detections', 'snr=abc', 'recall=0.9', 'detections=1.5', 'snr=20%']) {
      const r = await cli(['mask_rcnn', 'export', '-m', S.tlt, '-k', 'nvidia_tlt', '-e', S.spec, '-o', path.join(work, 'bad.etlt'), '--data_type', 'int8', '--int8_target', t]);
      expect(r.code, t).toBe(2);
      expect(r.err).toMatch(/--int8_target/);
    }
  });
});
