import fs from 'node:fs/promises';
import path from 'node:path';
import type { StageId } from '../../shared/events.js';
import { ExportRequestSchema, type ExportRequest } from '../../shared/request.js';
import { SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';

export const PRECIOUS = 'an earlier export the user still needs\n';

/** The stages an INT8 + Q/DQ + DeepStream export of the sample passes through, in order. */
export const EXPORT_STAGES: StageId[] = ['validate', 'spec', 'model', 'inspect', 'calibrate', 'fidelity', 'quantize', 'write', 'deepstream', 'report'];

/**
 * An INT8 export of the sample that passes every stage above: 2 calibration images, a Q/DQ ONNX,
 * the DeepStream config and a report, all in `dir`, with --overwrite so that a pre-existing
 * `model.etlt` is protected only by the all-or-nothing commit.
 */
export async function int8Request(S: SampleLayout, dir: string, over: { etlt?: string; cache?: string } = {}): Promise<ExportRequest> {
  const images = (await fs.readdir(S.calImages)).sort().slice(0, 2).map((n) => path.join(S.calImages, n));
  return ExportRequestSchema.parse({
    model: S.tlt,
    key: SAMPLE_KEY,
    spec: S.spec,
    gpu: 'cpu',
    precision: 'int8',
    overwrite: true,
    calibration: { source: 'images', images, batches: 1, batchSize: 2, reuse: 'never' },
    fidelity: { enabled: true, images: 2, sensitivity: false },
    outputs: {
      etlt: over.etlt ?? path.join(dir, 'model.etlt'),
      cache: over.cache ?? path.join(dir, 'cal.bin'),
      qdq: path.join(dir, 'model.qdq.onnx'),
      dsConfig: true,
      report: path.join(dir, 'report.json'),
    },
  });
}

/** Every entry (hidden ones too) of a folder, sorted. */
export async function entries(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).sort();
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 30_000, stepMs = 10): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
