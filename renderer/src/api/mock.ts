import type { DirListing, FileKind, JobEventBatch, JobSnapshot, QueueJobStatus, RecentFile, Result, Settings, StudioApi, TensorPreview } from '../../../shared/api.js';
import type { StudioErrorData } from '../../../shared/errors.js';
import type { ArtifactRole, JobEvent, LogLevel, StageId } from '../../../shared/events.js';
import { KEY_MASK, redact, shellQuote } from '../../../shared/redact.js';
import type { ExportReport } from '../../../shared/report.js';
import { ExportRequestSchema, type ExportRequest, type ExportRequestInput } from '../../../shared/request.js';
import { planOutputPaths } from '../../../shared/plan.js';
import { newSnapshot, recordJobEvents } from '../../../shared/jobs.js';
import type { StudioClient } from './client.js';
import {
  GOOD_SPEC,
  IMAGE_DIRS,
  MASKRCNN_SUMMARY,
  MOCK_GPUS,
  MOCK_HOME,
  MOCK_KEY,
  PEOPLESEG_SUMMARY,
  SPEC_SYNTAX_ERROR,
  WRONG_KEY_ERROR,
  hueOf,
  mockImages,
  mockTree,
  svgDataUrl,
  thumbnailSvg,
} from './mock-data.js';
import type { TensorStat } from '../wizard/calibration-data.js';

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: StudioErrorData): Result<T> => ({ ok: false, error });

export interface MockOptions {
  /** Multiplies every simulated delay (0 = as fast as timers allow). */
  speed?: number;
  /** Extra debug lines the job logs, to exercise the virtualized log. */
  noisyLogLines?: number;
  /** Start with these settings. */
  settings?: Partial<Settings>;
}

const notFound = (path: string): StudioErrorData => ({
  code: 'E_FILE_NOT_FOUND',
  message: `No such file: ${path}`,
  hint: 'Check the path, or use Browse to pick the file.',
  file: path,
});

function fakeSha(seed: string): string {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619) >>> 0;
  let out = '';
  for (let i = 0; out.length < 64; i++) {
    h = Math.imul(h ^ (h >>> 15) ^ i, 0x2c1b3c6d) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}

/** Per-tensor amax, threshold and a histogram for the calibration charts (CalibrationSummary.tensorStats). */
function fakeTensorStats(): TensorStat[] {
  const names = ['Input', 'conv1/Relu:0', 'block_1a_relu', 'block_2a_relu', 'block_3a_relu', 'block_4a_relu', 'fpn_p2', 'fpn_p3', 'fpn_p4', 'fpn_p5', 'fpn_p6', 'rpn_conv/Relu', 'mask_fcn1/Relu', 'mask_fcn4/Relu'];
  return names.map((name, i) => {
    const amax = Math.round((2.64 + ((i * 37) % 11) * 1.7 + (i === 0 ? 0 : 3)) * 1000) / 1000;
    const bins = 64;
    const edges = Array.from({ length: bins + 1 }, (_, b) => (b / bins) * amax);
    const counts = Array.from({ length: bins }, (_, b) => Math.round(200000 * Math.exp(-b / (4 + (i % 5) * 2)) + 50));
    return { name, amax, threshold: Math.round(amax * 0.9 * 1000) / 1000, histogram: { edges, counts } };
  });
}

/** In-memory StudioApi with realistic data and a simulated job. Dev page only. */
export function createMockApi(opts: MockOptions = {}): StudioApi {
  const speed = opts.speed ?? 1;
  const tree = mockTree();
  const listeners = new Set<(b: JobEventBatch) => void>();
  let settings: Settings = { theme: 'system', rememberKeys: false, ...opts.settings };
  let recent: RecentFile[] = [
    { path: `${MOCK_HOME}/models/maskrcnn_resnet50.tlt`, kind: 'model', openedAt: '2026-11-25T16:02:11.000Z' },
    { path: `${MOCK_HOME}/models/peoplesegnet.onnx`, kind: 'model', openedAt: '2026-11-24T09:40:00.000Z' },
    { path: `${MOCK_HOME}/specs/maskrcnn_retrain.txt`, kind: 'spec', openedAt: '2026-11-25T16:02:30.000Z' },
  ];
  const keyring = new Map<string, string>();
  const jobs = new Map<string, { cancelled: boolean }>();
  let jobCounter = 0;
  const imageIndex = new Map<string, { name: string; path: string }>();

  const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms * speed));
  const exists = (path: string) => {
    const dir = path.slice(0, path.lastIndexOf('/')) || '/';
    return tree[path] !== undefined || (tree[dir]?.entries.some((e) => e.path === path) ?? false);
  };

  /** The demo's job registry (what listJobs answers), folded from the same events the page gets. */
  const registry = new Map<string, JobSnapshot>();

  function emit(jobId: string, events: JobEvent[]): void {
    const snap = registry.get(jobId);
    let state: JobEventBatch['state'];
    let seq: number | undefined;
    if (snap) {
      recordJobEvents(snap, events);
      seq = ++snap.seq;
      const last = events.at(-1);
      const status: QueueJobStatus | null = last?.type === 'result' ? 'done' : last?.type === 'error' ? (last.error.code === 'E_CANCELLED' ? 'cancelled' : 'failed') : null;
      if (status) {
        snap.status = status;
        snap.endedAt = Date.now();
        state = { status, gpu: snap.gpu };
      }
    }
    for (const l of [...listeners]) l({ jobId, events, ...(state ? { state } : {}), ...(seq !== undefined ? { seq } : {}) });
  }

  function command(req: ExportRequestInput): string {
    const a: string[] = ['export-studio', 'mask_rcnn', 'export', '-m', req.model, '-k', req.key ? KEY_MASK : "''"];
    if (req.spec) a.push('-e', req.spec);
    else if (req.preprocessing) a.push('--preprocessing', req.preprocessing.preset ?? 'tao-maskrcnn');
    a.push('-o', req.outputs.etlt, '--data_type', req.precision ?? 'fp32');
    const c = req.calibration;
    if (c) {
      if (c.source === 'image-dir' && c.imageDir) a.push('--cal_image_dir', c.imageDir);
      if (c.source === 'images') a.push('--cal_images', `@selection(${c.images?.length ?? 0} files)`);
      if (c.source === 'tensorfile' && c.tensorfile) a.push('--cal_data_file', c.tensorfile);
      if (c.source === 'spec-loader') a.push('--cal_source', 'spec');
      if (c.source === 'cache') a.push('--cal_source', 'cache');
      if (req.outputs.cache) a.push('--cal_cache_file', req.outputs.cache);
      a.push('--batches', String(c.batches ?? 10), '--batch_size', String(c.batchSize ?? 16), '--seed', String(c.seed ?? 42));
      a.push('--cal_algorithm', c.algorithm ?? 'entropy');
      if (c.algorithm === 'percentile') a.push('--percentile', String(c.percentile ?? 99.99));
      if (c.resize === 'stretch') a.push('--resize', 'stretch');
    }
    if (req.outputs.qdq) a.push('--qdq_file', req.outputs.qdq);
    if (req.outputs.dsConfig) a.push('--gen_ds_config');
    if (req.gpu !== undefined) a.push('--gpu_index', String(req.gpu));
    if (req.overwrite) a.push('--overwrite');
    return redact(a.map(shellQuote).join(' '), [req.key]);
  }

  async function runJob(jobId: string, req: ExportRequest): Promise<void> {
    const state = jobs.get(jobId);
    if (!state) return;
    const start = Date.now();
    const stageTimes: ExportReport['stages'] = [];
    const artifacts: ExportReport['artifacts'] = [];
    const int8 = req.precision === 'int8';
    const log = (level: LogLevel, text: string): JobEvent => ({
      type: 'log',
      level,
      text: redact(text, [req.key]),
      time: Date.now(),
    });
    const stop = (): boolean => {
      if (!state.cancelled) return false;
      emit(jobId, [log('warn', 'cancelled by user'), { type: 'error', error: { code: 'E_CANCELLED', message: 'The export was cancelled', hint: 'Nothing was written: partial outputs were removed.' } }]);
      return true;
    };
    const stage = async (id: StageId, ms: number, lines: string[], detail?: string): Promise<boolean> => {
      const t0 = Date.now();
      emit(jobId, [{ type: 'stage', stage: id, status: 'started', time: t0 }, ...lines.map((l) => log('info', l))]);
      await delay(ms);
      if (stop()) return false;
      emit(jobId, [{ type: 'stage', stage: id, status: 'done', time: Date.now(), ...(detail ? { detail } : {}) }]);
      stageTimes.push({ stage: id, status: 'done', seconds: (Date.now() - t0) / 1000, ...(detail ? { detail } : {}) });
      return true;
    };
    const skip = (id: StageId, detail: string) => {
      emit(jobId, [{ type: 'stage', stage: id, status: 'skipped', detail, time: Date.now() }]);
      stageTimes.push({ stage: id, status: 'skipped', seconds: 0, detail });
    };
    const artifact = (role: ArtifactRole, path: string, bytes: number) => {
      const a = { role, path, bytes, sha256: fakeSha(path + bytes) };
      artifacts.push(a);
      emit(jobId, [{ type: 'artifact', ...a }]);
    };

    if (!(await stage('validate', 150, [`export-studio 0.1.0, request ok (${req.precision})`]))) return;
    if (req.spec) {
      if (!(await stage('spec', 250, [`parsed ${req.spec}: image_size 832x1344, 91 classes`]))) return;
    } else skip('spec', `no spec: preprocessing preset ${req.preprocessing?.preset ?? 'tao-maskrcnn'}`);
    if (!(await stage('model', 400, [`opened ${req.model}`, `key ${KEY_MASK} ok: decrypted 178.5 MB in 212 ms`]))) return;
    if (!(await stage('inspect', 300, ['1873 nodes, opset 12, 5 TensorRT plugin ops (calibrating the runnable part)']))) return;

    let calibration: ExportReport['calibration'];
    if (int8 && req.calibration) {
      const c = req.calibration;
      const total = c.batches;
      emit(jobId, [{ type: 'stage', stage: 'calibrate', status: 'started', time: Date.now() }, log('info', `calibrating with ${c.algorithm}: ${c.batches} batches × ${c.batchSize}, seed ${c.seed}`)]);
      const t0 = Date.now();
      const noisy = opts.noisyLogLines ?? 1500;
      for (let b = 1; b <= total; b++) {
        await delay(220);
        if (stop()) return;
        const elapsed = Math.max(0.001, (Date.now() - t0) / 1000);
        const rate = (b * c.batchSize) / elapsed;
        const events: JobEvent[] = [
          { type: 'progress', stage: 'calibrate', done: b, total, unit: 'batch', rate: rate / c.batchSize, eta: ((total - b) * c.batchSize) / rate },
          log('info', `batch ${b}/${total}: ${c.batchSize} images, ${(rate).toFixed(1)} img/s`),
        ];
        const perBatch = Math.ceil(noisy / total);
        for (let i = 0; i < perBatch; i++) events.push(log('debug', `batch ${b} tensor ${i}: amax ${(1 + ((i * 13) % 97) / 10).toFixed(4)} histogram 2048 bins`));
        if (b === Math.ceil(total / 2)) events.push(log('warn', `skipped 2 images that failed to decode (${MOCK_HOME}/data/calib_images/dock_00421.jpg …)`));
        emit(jobId, events);
      }
      const secs = (Date.now() - t0) / 1000;
      emit(jobId, [{ type: 'stage', stage: 'calibrate', status: 'done', time: Date.now(), detail: `${c.batches * c.batchSize} samples` }]);
      stageTimes.push({ stage: 'calibrate', status: 'done', seconds: secs });
      if (req.outputs.cache) {
        artifact('cache', req.outputs.cache, 41_233);
        artifact('cache-provenance', `${req.outputs.cache}.json`, 1_904);
      }
      calibration = {
        source: c.source,
        algorithm: c.algorithm,
        samplesRequested: c.batches * c.batchSize,
        samplesUsed: c.batches * c.batchSize - 2,
        skipped: [{ reason: 'image failed to decode', count: 2 }],
        tensors: 412,
        reused: false,
        reuseReason: 'no cache at the target path',
        executionProvider: 'CUDAExecutionProvider',
        seconds: secs,
      };
      Object.assign(calibration, { tensorStats: fakeTensorStats() });
      if (req.fidelity?.enabled === false) skip('fidelity', 'fidelity check turned off');
      else if (!(await stage('fidelity', 500, ['FP32 vs INT8 on 8 held-out images: cosine 0.998']))) return;
      skip('search', 'not needed: the calibrated INT8 meets its target');
      if (!(await stage('quantize', 350, [req.outputs.qdq ? 'cal.bin + inserted 826 QuantizeLinear/DequantizeLinear pairs' : 'cal.bin']))) return;
      if (req.outputs.qdq) artifact('qdq', req.outputs.qdq, 178_902_331);
    } else {
      skip('calibrate', `${req.precision.toUpperCase()} needs no calibration`);
      skip('quantize', `${req.precision.toUpperCase()} needs no Q/DQ model`);
      skip('fidelity', `${req.precision.toUpperCase()} needs no fidelity check`);
      skip('search', `${req.precision.toUpperCase()} needs no INT8 search`);
    }

    if (req.outputs.etlt.includes('exists') && !req.overwrite) {
      emit(jobId, [
        { type: 'stage', stage: 'write', status: 'started', time: Date.now() },
        {
          type: 'error',
          error: { code: 'E_OUTPUT_EXISTS', message: `${req.outputs.etlt} already exists`, hint: 'Choose another output path or turn on "Overwrite existing files".', file: req.outputs.etlt },
        },
      ]);
      return;
    }
    if (!(await stage('write', 500, [`encrypting with key ${KEY_MASK}`, `wrote ${req.outputs.etlt}`]))) return;
    artifact('etlt', req.outputs.etlt, 178_456_148);
    if (req.outputs.dsConfig) {
      const dir = req.outputs.etlt.slice(0, req.outputs.etlt.lastIndexOf('/'));
      if (!(await stage('deepstream', 150, ['wrote nvinfer_config.txt and labels.txt (91 classes + BG)']))) return;
      artifact('ds-config', `${dir}/nvinfer_config.txt`, 1_288);
      artifact('labels', `${dir}/labels.txt`, 702);
    } else skip('deepstream', 'not requested');
    skip('engine', 'trtexec not found on PATH');
    const reportPath = req.outputs.etlt.replace(/\.etlt$/, '') + '.report.json';
    if (!(await stage('report', 100, [`wrote ${reportPath}`]))) return;
    artifact('report', reportPath, 9_812);
    const warnings = ['5 TensorRT plugin ops cannot run in ONNX Runtime: their outputs were not calibrated (TensorRT uses the plugins’ own precision).'];
    if (int8) warnings.push('2 calibration images failed to decode and were skipped.');
    const report: ExportReport = {
      tool: { name: 'export-studio', version: '0.1.0' },
      startedAt: new Date(start).toISOString(),
      finishedAt: new Date().toISOString(),
      seconds: (Date.now() - start) / 1000,
      precision: req.precision,
      model: req.model.endsWith('.onnx') ? PEOPLESEG_SUMMARY : MASKRCNN_SUMMARY,
      ...(req.spec ? { spec: { path: req.spec, imageSize: GOOD_SPEC.imageSize, numClasses: GOOD_SPEC.numClasses, warnings: [] } } : {}),
      ...(calibration ? { calibration } : {}),
      artifacts,
      warnings,
      stages: stageTimes,
      command: command(req),
    };
    emit(jobId, [{ type: 'result', report }]);
    jobs.delete(jobId);
  }

  return {
    info: async () => ok({ version: '0.1.0-mock', mode: 'web', platform: 'linux', homeDir: MOCK_HOME, canStoreKeys: false }),
    gpus: async () => ok(MOCK_GPUS),
    pickPath: async () => ok(null),
    browse: async (dir: string | null, _kind: FileKind): Promise<Result<DirListing>> => {
      const d = dir ?? MOCK_HOME;
      const node = tree[d];
      if (!node) return fail(notFound(d));
      const parent = d === '/' ? null : d.slice(0, d.lastIndexOf('/')) || '/';
      return ok({ path: d, parent, entries: node.entries });
    },
    inspectModel: async (path: string, key: string) => {
      await delay(180);
      if (!exists(path)) return fail(notFound(path));
      if (path.endsWith('broken.onnx')) {
        return fail({ code: 'E_ONNX_INVALID', message: 'Not a valid ONNX ModelProto: field 7 (graph) truncated at byte 2031', hint: 'The file is incomplete; copy it again.', file: path, offset: 2031 });
      }
      if (path.endsWith('.onnx')) return ok(PEOPLESEG_SUMMARY);
      if (key === '') return fail({ code: 'E_KEY_REQUIRED', message: 'This model is encrypted and needs its key', hint: 'Enter the key used when the model was trained.', file: path });
      if (key !== MOCK_KEY) return fail(WRONG_KEY_ERROR(path));
      return ok(path.endsWith('.etlt') ? { ...MASKRCNN_SUMMARY, format: 'etlt', etltInputName: 'Input' } : MASKRCNN_SUMMARY);
    },
    parseSpec: async (path: string) => {
      await delay(120);
      if (path.endsWith('maskrcnn_typo.txt')) return fail(SPEC_SYNTAX_ERROR);
      if (!exists(path)) return fail({ ...notFound(path), code: 'E_SPEC_NOT_FOUND' });
      return ok({ ...GOOD_SPEC, path });
    },
    listImages: async (dir: string) => {
      await delay(150);
      const n = IMAGE_DIRS[dir];
      if (n === undefined) return fail({ code: 'E_IMAGE_DIR', message: `${dir} has no images (.jpg, .jpeg, .png, .bmp)`, hint: 'Pick the folder that holds the calibration images (top level only).', file: dir });
      const images = mockImages(dir, n);
      for (const i of images) imageIndex.set(i.id, i);
      return ok({ dir, images });
    },
    thumbnailUrl: (id: string, size?: number) => thumbnailSvg(id, size ?? 160),
    previewTensor: async (id, _spec, _pre, resize): Promise<Result<TensorPreview>> => {
      await delay(120);
      const img = imageIndex.get(id);
      if (!img) return fail(notFound(id));
      const W = 1344;
      const H = 832;
      // Source images are 4:3; keep-aspect fits the height, stretch fills the frame.
      const cw = resize === 'stretch' ? W : Math.round(H * (4 / 3));
      const hue = hueOf(id);
      const svg =
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W / 4}" height="${H / 4}" viewBox="0 0 ${W} ${H}">` +
        `<rect width="${W}" height="${H}" fill="#000"/>` +
        `<svg x="0" y="0" width="${cw}" height="${H}" viewBox="0 0 160 120" preserveAspectRatio="none">` +
        `<rect width="160" height="120" fill="hsl(${(hue + 180) % 360},40%,40%)"/><rect y="82" width="160" height="38" fill="hsl(${hue},30%,62%)"/>` +
        `<rect x="${20 + (hue % 70)}" y="48" width="16" height="40" rx="6" fill="hsl(${hue},50%,80%)"/></svg></svg>`;
      return ok({
        png: svgDataUrl(svg),
        width: W,
        height: H,
        content: { width: cw, height: H },
        stats: { min: -2.1179, max: 2.64, mean: resize === 'stretch' ? 0.0412 : -0.3871 },
        preprocessing: { mean: [123.675, 116.28, 103.53], scale: [0.017125, 0.017507, 0.017429], order: 'rgb', layout: 'nchw', resize, origin: 'spec (TAO Mask R-CNN)' },
      });
    },
    commandFor: async (req) => ok(command(req)),
    planOutputs: async (input) => {
      const parsed = ExportRequestSchema.safeParse(input);
      if (!parsed.success) return { ok: false, error: { code: 'E_REQUEST_INVALID', message: parsed.error.issues.map((i) => i.message).join('; '), hint: 'Fix the listed fields.' } };
      // The mock's paths are absolute already: the shared planner with an identity resolve.
      return ok(planOutputPaths(parsed.data, (p) => p));
    },
    startExport: async (input) => {
      const parsed = ExportRequestSchema.safeParse(input);
      if (!parsed.success) {
        return fail({ code: 'E_REQUEST_INVALID', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), hint: 'Fix the highlighted fields.' });
      }
      const jobId = `job-${++jobCounter}`;
      jobs.set(jobId, { cancelled: false });
      const { key: _key, ...summary } = parsed.data;
      registry.set(jobId, { ...newSnapshot(jobId, summary, parsed.data.gpu), status: 'running', startedAt: Date.now() });
      setTimeout(() => void runJob(jobId, parsed.data), 30 * speed);
      return ok({ jobId });
    },
    cancelJob: async (jobId) => {
      const j = jobs.get(jobId);
      if (j) j.cancelled = true;
      return ok(undefined);
    },
    listJobs: async () => ok([...registry.values()].map((j) => structuredClone(j))),
    clearJobs: async (ids) => {
      let n = 0;
      for (const [id, j] of registry) {
        if (j.endedAt === null || (ids !== null && !ids.includes(id))) continue;
        registry.delete(id);
        n++;
      }
      return ok(n);
    },
    onJobEvents: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    getSettings: async () => ok(settings),
    setSettings: async (patch) => {
      settings = { ...settings, ...patch };
      return ok(settings);
    },
    recentFiles: async () => ok(recent),
    addRecentFile: async (f) => {
      recent = [{ ...f, openedAt: new Date().toISOString() }, ...recent.filter((r) => r.path !== f.path)].slice(0, 10);
      return ok(recent);
    },
    storeKey: async (modelPath, key) => {
      keyring.set(modelPath, key);
      return ok(undefined);
    },
    loadKey: async (modelPath) => ok(keyring.get(modelPath) ?? null),
    openFolder: async () => ok(undefined),
    preflight: async () => ok({ outputs: [], problems: [] }),
    makeDir: async (p) => ok(p),
  };
}

export function createMockClient(opts: MockOptions = {}): StudioClient {
  // Drops have no path in a browser; the dev page pretends the file lives in ~/models.
  return { api: createMockApi(opts), mode: 'mock', pathForFile: (f) => `${MOCK_HOME}/models/${f.name}` };
}
