import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildSampleModel } from '../../../scripts/sample/model.js';
import { renderScene } from '../../../scripts/sample/scenes.js';
import { preprocessImage, resolvePreprocessing } from '../data/preprocess.js';
import type { Batch, ResolvedPreprocessing } from '../data/types.js';
import { buildQdqModel, runCalibration } from '../calibrate/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFidelity, type FidelityResult } from './fidelity.js';
import { analyseQdq } from './qdq-graph.js';
import { StagePlan } from '../progress-plan.js';

const SAMPLE = { height: 96, width: 160, numClasses: 5, detections: 24, maskSize: 14, seed: 3 } as const;

function sampleModel(): Uint8Array {
  return buildSampleModel({ ...SAMPLE });
}

function samplePp(): ResolvedPreprocessing {
  return resolvePreprocessing(undefined, { specImageSize: [SAMPLE.height, SAMPLE.width] });
}

/** Writes `count` rendered scenes (JPEG/PNG) into a fresh temp folder; returns their paths. */
async function writeScenes(count: number, first = 0, dir?: string): Promise<{ dir: string; files: string[] }> {
  const d = dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'es-fid-')));
  const files: string[] = [];
  for (let i = first; i < first + count; i++) {
    const s = await renderScene(i, 11);
    const f = path.join(d, s.fileName);
    await fs.writeFile(f, s.bytes);
    files.push(f);
  }
  return { dir: d, files };
}

async function* batchesOf(files: readonly string[], pp: ResolvedPreprocessing): AsyncGenerator<Batch> {
  for (const f of files) {
    const data = await preprocessImage(await fs.readFile(f), pp, f);
    yield { ids: [f], count: 1, dims: [1, 3, pp.height, pp.width], data };
  }
}

/** MinMax thresholds of the model on the given images. */
async function calibrate(model: Uint8Array, files: readonly string[], pp: ResolvedPreprocessing): Promise<Map<string, number>> {
  const r = await runCalibration({ model, batches: batchesOf(files, pp), totalBatches: files.length, algorithm: 'minmax', provider: 'cpu', threads: 1 });
  return new Map(r.tensors.map((t) => [t.name, t.threshold]));
}

describe('runFidelity on the sample Mask R-CNN-shaped model', () => {
  const pp = samplePp();
  const model = sampleModel();
  let dir = '';
  let calFiles: string[] = [];
  let heldOut: string[] = [];
  let amax = new Map<string, number>();
  let good: FidelityResult;

  beforeAll(async () => {
    const cal = await writeScenes(6, 0);
    dir = cal.dir;
    calFiles = cal.files;
    heldOut = (await writeScenes(3, 100, dir)).files;
    amax = await calibrate(model, calFiles, pp);
    const qdq = buildQdqModel(model, amax);
    good = await runFidelity({ model, qdq, amax, batches: batchesOf(heldOut, pp), source: 'test', sensitivity: true, suggest: 3, provider: 'cpu', threads: 1, minScore: 0 });
  });
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('compares every float output of FP32 and Q/DQ on every held-out image, with high agreement', () => {
    expect(good.images).toBe(heldOut.length);
    // The model's two float outputs, plus the detection scores alone (aligned rows).
    expect(good.outputs.map((o) => o.name).sort()).toEqual(['generate_detections', 'generate_detections:scores', 'mask_fcn_logits/BiasAdd']);
    for (const o of good.outputs) {
      expect(o.cosine).toBeGreaterThan(0.95);
      expect(o.snrDb).toBeGreaterThan(10);
      expect(o.snrDb).toBeLessThan(200); // quantization changed something
      expect(o.maxAbsError).toBeGreaterThan(0);
    }
    expect(good.detections).toBeDefined();
    expect(good.detections!.fp32).toBeGreaterThan(0);
    expect(good.detections!.agreement).toBeGreaterThan(0.5);
    expect(good.masks!.compared).toBe(good.detections!.matched);
  });

  it('ranks the quantized activations, worst first, within the bounded candidate count', () => {
    const acts = analyseQdq(buildQdqModel(model, amax)).activations.filter((a) => a.consumers.length > 0).length;
    expect(good.sensitivityCandidates).toBe(acts);
    expect(good.sensitivityEvaluated).toBe(Math.min(12, acts));
    expect(good.sensitivity).toHaveLength(good.sensitivityEvaluated);
    const snrs = good.sensitivity.map((s) => s.snrDb);
    expect(snrs).toEqual([...snrs].sort((a, b) => a - b));
    // One quantizer alone hurts less than all of them together.
    const full = Math.min(...good.outputs.map((o) => o.snrDb));
    expect(good.sensitivity[good.sensitivity.length - 1]!.snrDb).toBeGreaterThan(full);
  });

  it('finds a deliberately broken scale: that tensor ranks first and is suggested for FP16', async () => {
    // Break the tensor the healthy run ranked least harmful among those it evaluated.
    const victim = good.sensitivity[good.sensitivity.length - 1]!.name;
    const broken = new Map(amax);
    broken.set(victim, amax.get(victim)! / 1000);
    const qdq = buildQdqModel(model, broken);
    const r = await runFidelity({ model, qdq, amax: broken, batches: batchesOf(heldOut, pp), sensitivity: true, suggest: 3, provider: 'cpu', threads: 1, minScore: 0 });
    expect(r.sensitivity[0]!.name).toBe(victim);
    expect(r.suggestedFp16[0]).toBe(victim);
    expect(r.suggestedLayers.length).toBeGreaterThan(0);
    expect(Math.min(...r.outputs.map((o) => o.snrDb))).toBeLessThan(Math.min(...good.outputs.map((o) => o.snrDb)));
  });

  it('scores every live quantizer whatever the pre-screen grouping', async () => {
    const qdq = buildQdqModel(model, amax);
    const live = analyseQdq(qdq).activations.filter((a) => a.consumers.length > 0).map((a) => a.name);
    const all = await runFidelity({ model, qdq, amax, batches: batchesOf(heldOut.slice(0, 1), pp), sensitivity: true, suggest: 0, provider: 'cpu', threads: 1, prescreenGroup: 1, sensitivityCandidates: 1000, sensitivityImages: 1 });
    expect(all.sensitivity.map((s) => s.name).sort()).toEqual([...live].sort());
    expect(all.suggestedFp16).toEqual([]);
  });

  it('starts no solo run that would end past its budget, keeps the images and plans its progress', async () => {
    const qdq = buildQdqModel(model, amax);
    const live = analyseQdq(qdq).activations.filter((a) => a.consumers.length > 0).map((a) => a.name);
    // Given pre-screen scores: the first solo run goes early (after its images) when it fits.
    const scores = new Map(live.map((n, i) => [n, 40 - i]));
    const run = (budgetSeconds: number) => {
      const plan = new StagePlan();
      const ticks: number[] = [];
      return runFidelity({
        model, qdq, amax, batches: batchesOf(heldOut, pp), sensitivity: true, suggest: 0, provider: 'cpu', threads: 1,
        prescreenScores: scores, budgetSeconds, startedAt: performance.now(), keepImages: true, plan,
        onProgress: () => ticks.push(plan.snapshot().fraction),
      }).then((r) => ({ r, plan, ticks }));
    };
    const tight = await run(0.001);
    expect(tight.r.sensitivityEvaluated).toBe(0);
    expect(tight.r.ranking.slice(0, live.length)).toEqual([...live].reverse()); // the pre-screen order stands
    expect(tight.r.held?.length).toBe(heldOut.length);
    expect(tight.r.held?.[0]?.outputs.size).toBeGreaterThan(0);
    expect(tight.plan.describe()).toMatch(/images 3\/3 .*\(ended\), solo 0\/\d+ .*\(ended\)/);
    const roomy = await run(600);
    expect(roomy.r.sensitivityEvaluated).toBe(Math.min(12, live.length));
    expect(roomy.plan.done('solo')).toBe(roomy.r.sensitivityEvaluated);
    expect(roomy.ticks.every((f, i) => i === 0 || f >= roomy.ticks[i - 1]!)).toBe(true);
    expect(roomy.plan.snapshot()).toMatchObject({ fraction: 1, eta: 0 });
  });

  it('is deterministic', async () => {
    const qdq = buildQdqModel(model, amax);
    const again = await runFidelity({ model, qdq, amax, batches: batchesOf(heldOut, pp), source: 'test', sensitivity: true, suggest: 3, provider: 'cpu', threads: 1, minScore: 0 });
    expect({ ...again, seconds: 0, qdqSeconds: 0 }).toEqual({ ...good, seconds: 0, qdqSeconds: 0 });
  });
});
