import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportRequestSchema, type ExportRequestInput } from '../../shared/request.js';
import { preflightRequest } from './preflight.js';

let dir: string;
const req = (r: Partial<ExportRequestInput> & { outputs: ExportRequestInput['outputs'] }) => ExportRequestSchema.parse({ model: path.join(dir, 'm.onnx'), key: 'k', ...r });
const ids = async (r: ReturnType<typeof req>) => (await preflightRequest(r)).problems.map((p) => p.id).sort();

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'preflight-'));
  await fs.writeFile(path.join(dir, 'm.onnx'), 'model');
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('preflightRequest', () => {
  it('nothing to report for a fresh folder; the output list is the plan', async () => {
    const out = path.join(dir, 'fresh');
    await fs.mkdir(out);
    const p = await preflightRequest(req({ outputs: { etlt: path.join(out, 'a.etlt'), dsConfig: true } }));
    expect(p.problems).toEqual([]);
    expect(p.outputs.map((o) => o.role)).toEqual(['etlt', 'onnx', 'dsConfig', 'labels']);
  });

  it('a missing folder, with the mkdir fix; nothing else about files inside it', async () => {
    const p = await preflightRequest(req({ outputs: { etlt: path.join(dir, 'no', 'such', 'a.etlt') } }));
    expect(p.problems).toEqual([expect.objectContaining({ id: 'output-dir-missing', fix: { kind: 'mkdir', dir: path.join(dir, 'no', 'such') } })]);
  });

  it('an existing output (fix: overwrite) and leftovers a run will not write (warning)', async () => {
    const out = path.join(dir, 'prev');
    await fs.mkdir(out);
    for (const f of ['a.etlt', 'nvinfer_config.txt', 'labels.txt', 'a.onnx']) await fs.writeFile(path.join(out, f), 'x');
    const r = req({ outputs: { etlt: path.join(out, 'a.etlt'), dsConfig: false } });
    const p = await preflightRequest(r);
    expect(p.problems.find((x) => x.id === 'output-exists')).toMatchObject({ severity: 'error', files: [path.join(out, 'a.etlt')], fix: { kind: 'overwrite' } });
    expect(p.problems.find((x) => x.id === 'leftover')).toMatchObject({ severity: 'warning', files: [path.join(out, 'nvinfer_config.txt'), path.join(out, 'labels.txt'), path.join(out, 'a.onnx')] });
    expect(await ids({ ...r, overwrite: true })).toEqual(['leftover']);
  });

  it('an output that would replace an input is an error with no overwrite fix', async () => {
    const p = await preflightRequest(req({ outputs: { etlt: path.join(dir, 'x.etlt'), onnx: path.join(dir, 'm.onnx') }, overwrite: true }));
    expect(p.problems).toEqual([expect.objectContaining({ id: 'output-is-input', severity: 'error' })]);
    expect(p.problems[0]?.fix).toBeUndefined();
  });

  it('unreadable calibration images by header, real and garbage side by side', async () => {
    const imgs = path.join(dir, 'imgs');
    await fs.mkdir(imgs);
    await sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 10, g: 20, b: 30 } } }).jpeg().toFile(path.join(imgs, 'a.jpg'));
    await fs.writeFile(path.join(imgs, 'b.jpg'), 'not a jpeg');
    await fs.writeFile(path.join(imgs, 'c.png'), '');
    const out = path.join(dir, 'cal-out');
    await fs.mkdir(out);
    // The INT8 check off: its held-out shortage (every image calibrates) is the next test's.
    const r = req({ precision: 'int8', calibration: { source: 'image-dir', imageDir: imgs }, fidelity: { enabled: false }, outputs: { etlt: path.join(out, 'a.etlt'), cache: path.join(out, 'cal.bin') } });
    const p = await preflightRequest(r);
    expect(p.problems).toEqual([expect.objectContaining({ id: 'images-unreadable', files: [path.join(imgs, 'b.jpg'), path.join(imgs, 'c.png')], fix: { kind: 'deselect-images', paths: [path.join(imgs, 'b.jpg'), path.join(imgs, 'c.png')] } })]);
    // The same check for an explicit list; a good list is clean.
    expect(await ids({ ...r, calibration: { ...r.calibration!, source: 'images', images: [path.join(imgs, 'a.jpg')] } })).toEqual([]);
    // An existing cache is a warning (reused if its provenance matches).
    await fs.writeFile(path.join(out, 'cal.bin'), 'TRT-8601-EntropyCalibration2\n');
    expect(await ids({ ...r, calibration: { ...r.calibration!, source: 'images', images: [path.join(imgs, 'a.jpg')] } })).toEqual(['cache-exists']);
  });

  it('INT8 whose check would have no held-out image: a warning before Start, accepted as "export without the check"', async () => {
    const imgs = path.join(dir, 'held');
    await fs.mkdir(imgs);
    for (const n of ['a', 'b', 'c', 'd']) await sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toFile(path.join(imgs, `${n}.png`));
    const out = path.join(dir, 'held-out');
    await fs.mkdir(out);
    const base = { precision: 'int8' as const, outputs: { etlt: path.join(out, 'a.etlt'), cache: path.join(out, 'cal.bin') } };
    // 2 × 2 reads all 4 images of the folder: nothing left to hold out.
    const p = await preflightRequest(req({ ...base, calibration: { source: 'image-dir', imageDir: imgs, batches: 2, batchSize: 2 } }));
    expect(p.problems).toEqual([expect.objectContaining({ id: 'no-held-out', severity: 'warning', files: [imgs], fix: { kind: 'accept' }, fixLabel: 'Export without the check' })]);
    expect(p.problems[0]?.message).toMatch(/calibration reads every image of the folder \(4\).*INT8 not checked.*Calibration step/);
    // Neighbours: more images than calibration reads (the reserve is held out), the check off,
    // a hand-picked subset, every image picked by hand, a spec with validation records.
    expect(await ids(req({ ...base, calibration: { source: 'image-dir', imageDir: imgs, batches: 1, batchSize: 3 } }))).toEqual([]);
    expect(await ids(req({ ...base, calibration: { source: 'image-dir', imageDir: imgs, batches: 2, batchSize: 2 }, fidelity: { enabled: false } }))).toEqual([]);
    const all = ['a', 'b', 'c', 'd'].map((n) => path.join(imgs, `${n}.png`));
    expect(await ids(req({ ...base, calibration: { source: 'images', images: all.slice(0, 3), batches: 1, batchSize: 3 } }))).toEqual([]);
    expect(await ids(req({ ...base, calibration: { source: 'images', images: all, batches: 1, batchSize: 4 } }))).toEqual(['no-held-out']);
    const spec = path.join(dir, 'held-spec.txt');
    await fs.writeFile(spec, 'data_config {\n  image_size: "(64, 96)"\n  num_classes: 4\n  validation_file_pattern: "val*.tfrecord"\n}\n');
    expect(await ids(req({ ...base, spec, calibration: { source: 'image-dir', imageDir: imgs, batches: 2, batchSize: 2 } }))).toEqual([]);
    await fs.writeFile(spec, 'data_config {\n  image_size: "(64, 96)"\n  num_classes: 4\n  training_file_pattern: "train*.tfrecord"\n}\n');
    expect(await ids(req({ ...base, spec, calibration: { source: 'image-dir', imageDir: imgs, batches: 2, batchSize: 2 } }))).toEqual(['no-held-out']);
  });
});
