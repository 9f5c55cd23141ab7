import { describe, expect, it } from 'vitest';
import type { JobEventBatch, StudioApi } from '../../../shared/api.js';
import type { ExportRequestInput } from '../../../shared/request.js';
import { beginJob, receiveBatch, startingJob, type JobState } from '../store/job.js';
import { tensorStatsOf } from '../wizard/calibration-data.js';
import { createMockApi } from './mock.js';
import { MOCK_HOME, MOCK_KEY } from './mock-data.js';

const KEY = MOCK_KEY;

function int8Request(p: Partial<ExportRequestInput> = {}): ExportRequestInput {
  return {
    model: `${MOCK_HOME}/models/maskrcnn_resnet50.tlt`,
    key: KEY,
    spec: `${MOCK_HOME}/specs/maskrcnn_retrain.txt`,
    precision: 'int8',
    calibration: { source: 'spec-loader', batches: 4, batchSize: 2 },
    outputs: { etlt: `${MOCK_HOME}/exports/m.etlt`, cache: `${MOCK_HOME}/exports/m.cal.bin`, qdq: `${MOCK_HOME}/exports/m.qdq.onnx`, dsConfig: true },
    ...p,
  };
}

/** Start a job and fold its events through the real reducer until it ends. */
async function runToEnd(api: StudioApi, req: ExportRequestInput, onRunning?: (jobId: string) => void): Promise<{ state: JobState; raw: JobEventBatch[] }> {
  let state = startingJob();
  const raw: JobEventBatch[] = [];
  let resolve!: () => void;
  const ended = new Promise<void>((r) => (resolve = r));
  const off = api.onJobEvents((b) => {
    raw.push(b);
    state = receiveBatch(state, b);
    if (state.status === 'done' || state.status === 'failed' || state.status === 'cancelled') resolve();
  });
  const h = await api.startExport(req);
  if (!h.ok) throw new Error(h.error.message);
  state = beginJob(state, h.value.jobId);
  onRunning?.(h.value.jobId);
  await ended;
  off();
  return { state, raw };
}

describe('mock StudioApi (dev page only)', () => {
  it('checks the key like the real host: wrong key → E_WRONG_KEY_OR_CORRUPT, right key → model card', async () => {
    const api = createMockApi({ speed: 0 });
    const bad = await api.inspectModel(`${MOCK_HOME}/models/maskrcnn_resnet50.tlt`, 'nope');
    expect(!bad.ok && bad.error.code).toBe('E_WRONG_KEY_OR_CORRUPT');
    const good = await api.inspectModel(`${MOCK_HOME}/models/maskrcnn_resnet50.tlt`, KEY);
    expect(good.ok && good.value.inputs[0]?.name).toBe('Input');
    const missing = await api.inspectModel('/nowhere.onnx', '');
    expect(!missing.ok && missing.error.code).toBe('E_FILE_NOT_FOUND');
  });

  it('an INT8 job runs every stage to done, writes the artifacts and never logs the key', async () => {
    const api = createMockApi({ speed: 0, noisyLogLines: 20 });
    const { state, raw } = await runToEnd(api, int8Request());
    expect(state.status).toBe('done');
    expect(state.stages.every((s) => s.status === 'done' || s.status === 'skipped')).toBe(true);
    expect(state.stages.find((s) => s.id === 'calibrate')?.status).toBe('done');
    expect(state.artifacts.map((a) => a.role).sort()).toEqual(['cache', 'cache-provenance', 'ds-config', 'etlt', 'labels', 'qdq', 'report']);
    expect(JSON.stringify(raw)).not.toContain(KEY);
    expect(state.report?.command).toContain('********');
    const stats = tensorStatsOf(state.report);
    expect(stats.length).toBeGreaterThan(0);
    expect(stats.every((s) => s.histogram && s.histogram.edges.length === s.histogram.counts.length + 1)).toBe(true);
  });

  it('FP16 skips calibration and Q/DQ', async () => {
    const api = createMockApi({ speed: 0 });
    const { state } = await runToEnd(api, { ...int8Request(), precision: 'fp16', calibration: undefined, outputs: { etlt: `${MOCK_HOME}/exports/f.etlt` } });
    expect(state.status).toBe('done');
    expect(state.stages.find((s) => s.id === 'calibrate')?.status).toBe('skipped');
    expect(state.artifacts.some((a) => a.role === 'cache')).toBe(false);
  });

  it('cancel ends the job as cancelled', async () => {
    const api = createMockApi({ speed: 0.2 });
    const { state } = await runToEnd(api, int8Request({ calibration: { source: 'spec-loader', batches: 50, batchSize: 2 } }), (id) => {
      setTimeout(() => void api.cancelJob(id), 40);
    });
    expect(state.status).toBe('cancelled');
    expect(state.error?.code).toBe('E_CANCELLED');
  });

  it('rejects an invalid request with E_REQUEST_INVALID (same schema as the host)', async () => {
    const api = createMockApi({ speed: 0 });
    const r = await api.startExport({ ...int8Request(), calibration: undefined });
    expect(!r.ok && r.error.code).toBe('E_REQUEST_INVALID');
  });
});

describe('tensorStatsOf', () => {
  it('reads well-formed entries and drops malformed ones', () => {
    const report = {
      calibration: {
        tensorStats: [
          { name: 'a', amax: 1.5, threshold: 1.2 },
          { name: 'b', amax: 2, threshold: 2, histogram: { edges: [0, 1, 2], counts: [5, 6] } },
          { name: 'c', amax: 'x', threshold: 1 },
          { name: 'd', amax: 3, threshold: 2.5, histogram: { edges: [0, 1], counts: [5, 6] } },
          { name: 'e', amax: 3 },
        ],
      },
    } as never;
    const s = tensorStatsOf(report);
    expect(s.map((t) => t.name)).toEqual(['a', 'b', 'd']);
    expect(s[1]?.histogram?.counts).toEqual([5, 6]);
    expect(s[2]?.histogram).toBeUndefined();
    expect(tensorStatsOf(null)).toEqual([]);
  });
});
