import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../shared/events.js';
import type { FidelityReport } from '../../shared/report.js';
import { ExportRequestSchema, type ExportRequestInput } from '../../shared/request.js';
import { buildSampleModel } from '../../scripts/sample/model.js';
import { renderScene } from '../../scripts/sample/scenes.js';
import { JobContext } from './context.js';
import { resolvePreprocessing } from './data/preprocess.js';
import { inspectModel } from './onnx/index.js';
import type { OutputSet } from './io/outputs.js';
import type { JobState } from './steps.js';
import { fidelityStep, fp16Share, trtexecPrecisionFlags } from './fidelity-step.js';
import { calibrationSelection } from './fidelity/index.js';

const S = { height: 64, width: 96, numClasses: 4, detections: 12, maskSize: 8, seed: 9 };
const model = Buffer.from(buildSampleModel(S));
let dir = '';

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'es-fid-step-'));
  for (let i = 0; i < 10; i++) {
    const s = await renderScene(i, 5);
    await fs.writeFile(path.join(dir, s.fileName), s.bytes);
  }
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function state(over: Partial<ExportRequestInput>, events: JobEvent[]): JobState & { fidelity?: FidelityReport } {
  const request = ExportRequestSchema.parse({
    model: '/m.onnx',
    key: 'k',
    precision: 'int8',
    calibration: { source: 'image-dir', imageDir: dir, batches: 2, batchSize: 2 },
    outputs: { etlt: '/o.etlt' },
    gpu: 'cpu',
    ...over,
  });
  const pp = resolvePreprocessing(undefined, { specImageSize: [S.height, S.width] });
  // Thresholds of 4 for every tensor: crude, but a real Q/DQ model to compare against.
  const amax = new Map<string, number>([['Input', 3]]);
  const summary = inspectModel(model, { format: 'onnx', fileBytes: model.length, sha256: '0' });
  for (const n of ['conv1/Relu', 'pool1/MaxPool', 'block_1a_conv_1/Relu', 'block_2a_conv_1/Relu', 'fc6/Relu', 'fc7/Relu']) amax.set(n, 4);
  return {
    request,
    // Every progress event delivered (no rate limit), so the test sees the whole progress line.
    ctx: new JobContext((e) => events.push(e), new AbortController().signal, [], { progressIntervalMs: 0 }),
    outputs: {} as OutputSet,
    command: '',
    stageTimes: [],
    artifacts: [],
    roles: new Map(),
    model: { format: 'onnx', onnx: model, fileBytes: model.length, sha256: '0', summary },
    calibrated: { preprocessing: pp, amax, cacheText: '', floatTensors: [], calibrationSeconds: 1 },
  };
}

describe('fidelityStep', () => {
  it('runs for INT8 by default, not for FP32/FP16, and can be switched off', () => {
    expect(fidelityStep.when(state({}, []))).toBe(true);
    expect(fidelityStep.when(state({ precision: 'fp16', calibration: undefined }, []))).toBe(false);
    expect(fidelityStep.when(state({ fidelity: { enabled: false } }, []))).toMatch(/turned off/);
  });

  it('compares on folder images the calibration did not select and logs a summary', async () => {
    const events: JobEvent[] = [];
    const s = state({ fidelity: { images: 8, suggest: 2 } }, events);
    const detail = await fidelityStep.run(s);
    const cal = new Set(await calibrationSelection({ calibration: s.request.calibration!, pp: s.calibrated!.preprocessing }));
    expect(cal.size).toBe(8); // 4 + 4 reserve of the 10
    const r = s.fidelity!;
    expect(r.images).toBe(2);
    expect(r.source).toMatch(/not used for calibration/);
    expect(r.outputs.length).toBeGreaterThan(0);
    // This crude model detects nothing on the held-out images in FP32: agreeing on nothing is not
    // agreement. The verdict is red with the reason, and no search runs (it cannot create detections).
    expect(r.detections).toMatchObject({ fp32: 0, int8: 0 });
    expect(r.verdict?.meetsTarget).toBe(false);
    expect(r.verdict?.checks.map((c) => [c.term, c.value])).toEqual([['detections', null], ['maskIou', null]]);
    expect(r.verdict?.nextStep).toMatch(/^nothing to compare on these 2 held-out image\(s\): the FP32 model detects nothing on them/);
    expect((s as { int8Search?: unknown }).int8Search).toBeUndefined();
    expect(detail).toMatchObject({ alert: true, detail: expect.stringMatching(/^INT8 below target — 2 held-out image\(s\), detection agreement n\/a/) });
    const logs = events.flatMap((e) => (e.type === 'log' ? [e.text] : []));
    expect(logs.some((t) => t.startsWith('INT8 fidelity'))).toBe(true);
    // Progress from the check's plan in seconds: a percentage that never goes back, an ETA once
    // each kind of run was measured, 100 % at the end.
    const progress = events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress' && e.stage === 'fidelity');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((e) => e.unit === '%' && e.total === 100 && e.rate === undefined)).toBe(true);
    expect(progress.every((e, i) => i === 0 || e.done >= progress[i - 1]!.done)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ done: 100, eta: 0 });
    expect(progress.some((e) => e.eta !== undefined && e.eta > 0)).toBe(true);
    expect(logs.some((t) => /fidelity progress plan \(seconds per unit as measured\): open 1\/1 .*images 2\/2 .*solo \d+\/\d+/.test(t))).toBe(true);
  });

  it('skips with a warning when every image went into calibration', async () => {
    const events: JobEvent[] = [];
    const s = state({ calibration: { source: 'image-dir', imageDir: dir, batches: 3, batchSize: 2 } }, events);
    const detail = await fidelityStep.run(s);
    expect(detail).toMatch(/no held-out data/);
    expect(s.fidelity).toBeUndefined();
    expect(events.some((e) => e.type === 'log' && e.level === 'warn' && /fidelity check skipped/.test(e.text))).toBe(true);
  });
});

describe('fp16Share', () => {
  it('counts the tensors kept in FP16 against every calibrated tensor, and nothing without a search or a fallback', () => {
    const kept = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `t${i}`, layers: [], precision: 'fp16' as const, reason: 'r' }));
    expect(fp16Share({ floatTensors: kept(50), algorithms: { entropy: 72, percentile: 20 } })).toEqual({ kept: 50, of: 142 });
    expect(fp16Share({ floatTensors: kept(1), algorithms: { minmax: 49 } })).toEqual({ kept: 1, of: 50 });
    expect(fp16Share({ floatTensors: [], algorithms: { entropy: 10 } })).toBeNull();
    expect(fp16Share(undefined)).toBeNull();
  });
});

describe('trtexecPrecisionFlags', () => {
  it('pins each layer to fp16, quoting names the shell would split', () => {
    expect(trtexecPrecisionFlags(['conv1/Conv2D', 'l4/Conv2D'])).toBe('--fp16 --int8 --precisionConstraints=obey --layerPrecisions=conv1/Conv2D:fp16,l4/Conv2D:fp16');
    expect(trtexecPrecisionFlags(["a b", "it's"])).toBe(`--fp16 --int8 --precisionConstraints=obey --layerPrecisions='a b:fp16,it'\\''s:fp16'`);
  });
});
