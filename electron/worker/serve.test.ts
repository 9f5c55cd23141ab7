import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError } from '../../shared/errors.js';
import type { ExportReport } from '../../shared/report.js';
import { ExportRequestSchema } from '../../shared/request.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { serveInMemory } from './memory.js';
import type { HostPort, ReaderCalls, ReaderMethod, WorkerMessage } from './protocol.js';
import { denormalise } from './reads.js';
import type { JobRunner } from './serve.js';

let root: string;
let S: SampleLayout;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'worker-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 2, trainPerShard: 3, valImages: 2, calImages: 4 });
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** Collect a port's messages; `next(pred)` resolves with the first (queued or future) match. */
function inbox(port: HostPort) {
  const seen: WorkerMessage[] = [];
  const waiters: { pred: (m: WorkerMessage) => boolean; resolve: (m: WorkerMessage) => void }[] = [];
  port.onMessage((m) => {
    seen.push(m);
    for (const w of [...waiters]) if (w.pred(m)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  return {
    seen,
    next(pred: (m: WorkerMessage) => boolean): Promise<WorkerMessage> {
      const hit = seen.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

let callSeq = 0;
async function call<M extends ReaderMethod>(port: HostPort, box: ReturnType<typeof inbox>, method: M, args: ReaderCalls[M]['args']): Promise<ReaderCalls[M]['result']> {
  const callId = ++callSeq;
  port.post({ type: 'call', callId, method, args } as never);
  const m = await box.next((x) => x.type === 'reply' && x.callId === callId);
  if (m.type !== 'reply') throw new Error('unreachable');
  if (!m.ok) throw StudioError.fromData(m.error);
  return m.value as ReaderCalls[M]['result'];
}

const fakeReport = { tool: { name: 't', version: '0' } } as unknown as ExportReport;
const request = ExportRequestSchema.parse({ model: 'm.onnx', key: '', outputs: { etlt: 'o.etlt' } });

describe('worker job protocol (in-memory port)', () => {
  it('announces ready, batches events and coalesces progress, then sends done', async () => {
    const run: JobRunner = async (_r, sink) => {
      sink({ type: 'stage', stage: 'model', status: 'started', time: 1 });
      for (let i = 1; i <= 100; i++) sink({ type: 'progress', stage: 'model', done: i, total: 100, unit: 'bytes' });
      sink({ type: 'log', level: 'info', text: 'hello', time: 2 });
      return fakeReport;
    };
    const { port } = serveInMemory({ run, batchMs: 20 });
    const box = inbox(port);
    expect((await box.next((m) => m.type === 'ready')).type).toBe('ready');
    port.post({ type: 'start', jobId: 'j1', request });
    const done = await box.next((m) => m.type === 'done');
    expect(done).toMatchObject({ type: 'done', jobId: 'j1', ok: true });
    const events = box.seen.flatMap((m) => (m.type === 'events' ? m.events : []));
    const progress = events.filter((e) => e.type === 'progress');
    // 100 progress calls in one tick collapse to the last one.
    expect(progress).toEqual([{ type: 'progress', stage: 'model', done: 100, total: 100, unit: 'bytes' }]);
    expect(events.map((e) => e.type)).toEqual(['stage', 'progress', 'log']);
    // Every events message came before done.
    expect(box.seen.findIndex((m) => m.type === 'done')).toBe(box.seen.length - 1);
  });

  it('cancel aborts the job signal; the failure comes back as done with the error data', async () => {
    const run: JobRunner = (_r, sink, signal) =>
      new Promise((_, reject) => {
        sink({ type: 'stage', stage: 'calibrate', status: 'started', time: 1 });
        signal.addEventListener('abort', () => reject(new StudioError('E_CANCELLED', 'The export was cancelled', 'x')));
      });
    const { port, server } = serveInMemory({ run, batchMs: 5 });
    const box = inbox(port);
    port.post({ type: 'start', jobId: 'j2', request });
    await box.next((m) => m.type === 'events');
    expect(server.running).toBe(1);
    port.post({ type: 'cancel', jobId: 'j2' });
    const done = await box.next((m) => m.type === 'done');
    expect(done).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
    expect(server.running).toBe(0);
  });

  it('a runner throwing a plain Error becomes E_INTERNAL', async () => {
    const { port } = serveInMemory({ run: async () => Promise.reject(new Error('boom')) });
    const box = inbox(port);
    port.post({ type: 'start', jobId: 'j3', request });
    expect(await box.next((m) => m.type === 'done')).toMatchObject({ ok: false, error: { code: 'E_INTERNAL' } });
  });
});

describe('reader calls (real files)', () => {
  const { port } = serveInMemory();
  const box = inbox(port);

  it('inspectModel opens the sealed sample with its key and refuses a wrong key', async () => {
    const summary = await call(port, box, 'inspectModel', { path: S.tlt, key: SAMPLE_KEY });
    expect(summary.format).toBe('tlt');
    expect(summary.inputs[0]?.name).toBe('Input');
    expect(summary.inputs[0]?.shape?.slice(1)).toEqual([3, 320, 512]);
    expect(summary.bytes).toBe((await fs.stat(S.tlt)).size);
    await expect(call(port, box, 'inspectModel', { path: S.tlt, key: 'wrong' })).rejects.toMatchObject({ code: 'E_WRONG_KEY_OR_CORRUPT' });
  });

  it('parseSpec reports image size, classes, training files with record counts and the labels JSON', async () => {
    const s = await call(port, box, 'parseSpec', { path: S.spec });
    expect(s.imageSize).toEqual([320, 512]);
    expect(s.numClasses).toBe(5);
    expect(s.trainingFiles.map((f) => path.basename(f.path))).toEqual(['train-00000-of-00002.tfrecord', 'train-00001-of-00002.tfrecord']);
    expect(s.trainingFiles.map((f) => f.records)).toEqual([3, 3]);
    expect(s.valJsonFound).toBe(true);
  });

  it('parseSpec turns a pattern that matches nothing into a warning', async () => {
    const spec = path.join(root, 'nofiles.txt');
    await fs.writeFile(spec, (await fs.readFile(S.spec, 'utf8')).replace('tfrecords/train-*.tfrecord', 'missing/train-*.tfrecord'));
    const s = await call(port, box, 'parseSpec', { path: spec });
    expect(s.trainingFiles).toEqual([]);
    expect(s.warnings.some((w) => /missing/.test(w.message))).toBe(true);
    expect(s.valJsonFound).toBe(false);
  });

  it('listImages lists the images of a folder (sorted, with sizes) and skips other files', async () => {
    await fs.writeFile(path.join(S.images, 'notes.txt'), 'x');
    const l = await call(port, box, 'listImages', { dir: S.images });
    const names = (await fs.readdir(S.images)).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort();
    expect(l.images.map((i) => i.name).sort()).toEqual(names);
    expect(l.images.length).toBeGreaterThan(0);
    const first = l.images[0]!;
    expect(first.bytes).toBe((await fs.stat(first.path)).size);
    await expect(call(port, box, 'listImages', { dir: path.join(root, 'nope') })).rejects.toMatchObject({ code: 'E_IMAGE_DIR' });
  });

  it('thumbnail returns a JPEG no larger than the size asked, keeping the aspect ratio', async () => {
    const file = path.join(root, 'wide.png');
    await sharp({ create: { width: 400, height: 100, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toFile(file);
    const t = await call(port, box, 'thumbnail', { path: file, size: 96 });
    expect(t.jpeg[0]).toBe(0xff);
    expect(t.jpeg[1]).toBe(0xd8);
    const meta = await sharp(t.jpeg).metadata();
    expect([meta.width, meta.height]).toEqual([96, 24]);
  });

  it('previewTensor shows the padded tensor: image in the content box, the mean in the padding', async () => {
    const file = path.join(root, 'red.png');
    await sharp({ create: { width: 200, height: 100, channels: 3, background: { r: 250, g: 20, b: 30 } } }).png().toFile(file);
    const p = await call(port, box, 'previewTensor', { path: file, specPath: null, preprocessing: { preset: 'tao-maskrcnn', size: [64, 64] }, resize: 'keep-aspect-pad' });
    expect([p.width, p.height]).toEqual([64, 64]);
    expect(p.content).toEqual({ width: 64, height: 32 });
    const png = Buffer.from(p.png.replace(/^data:image\/png;base64,/, ''), 'base64');
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    expect(px(10, 10)).toEqual([250, 20, 30]);
    // Padding is tensor value 0, i.e. the preset mean (123.675, 116.28, 103.53) once de-normalised.
    expect(px(10, 50)).toEqual([124, 116, 104]);
    expect(p.preprocessing.mean).toEqual([123.675, 116.28, 103.53]);
    expect(p.stats.min).toBeLessThan(0);
    expect(p.stats.max).toBeGreaterThan(0);
    const stretched = await call(port, box, 'previewTensor', { path: file, specPath: S.spec, preprocessing: null, resize: 'stretch' });
    expect([stretched.width, stretched.height]).toEqual([512, 320]);
    expect(stretched.content).toEqual({ width: 512, height: 320 });
  });

  it('reader errors carry their StudioError code', async () => {
    await expect(call(port, box, 'parseSpec', { path: path.join(root, 'missing.txt') })).rejects.toMatchObject({ code: 'E_SPEC_NOT_FOUND' });
  });
});

describe('denormalise', () => {
  it('inverts (x − mean) · scale per channel and maps BGR/NHWC back to RGB', () => {
    const mean = [10, 20, 30];
    const scale = [0.5, 0.25, 2];
    // One pixel, model order BGR, NHWC: channels hold (B, G, R) normalised.
    const rgb = [200, 100, 50];
    const bgr = [rgb[2]!, rgb[1]!, rgb[0]!];
    const t = Float32Array.from(bgr.map((v, k) => (v - mean[k]!) * scale[k]!));
    expect([...denormalise(t, 1, 1, mean, scale, 'bgr', 'nhwc')]).toEqual(rgb);
  });
});
