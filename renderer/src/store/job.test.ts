import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../shared/events.js';
import { STAGES } from '../../../shared/events.js';
import type { ExportReport } from '../../../shared/report.js';
import { LOG_LIMIT, beginJob, filterLog, formatLogLines, initialJobState, overallFraction, receiveBatch, reduceJobEvents, startingJob } from './job.js';

const report = { seconds: 3, artifacts: [], warnings: [] } as unknown as ExportReport;

describe('reduceJobEvents', () => {
  it('tracks stage states, progress and completion', () => {
    let s = beginJob(startingJob(), 'j1');
    s = reduceJobEvents(s, [
      { type: 'stage', stage: 'validate', status: 'started', time: 1000 },
      { type: 'stage', stage: 'validate', status: 'done', time: 1250 },
      { type: 'stage', stage: 'spec', status: 'skipped', detail: 'no spec', time: 1300 },
      { type: 'stage', stage: 'calibrate', status: 'started', time: 1400 },
      { type: 'progress', stage: 'calibrate', done: 3, total: 10, unit: 'batch', rate: 2.5, eta: 2.8 },
    ], 5000);
    const byId = Object.fromEntries(s.stages.map((x) => [x.id, x]));
    expect(byId['validate']).toMatchObject({ status: 'done', startedAt: 1000, endedAt: 1250 });
    expect(byId['spec']).toMatchObject({ status: 'skipped', detail: 'no spec' });
    expect(byId['calibrate']?.status).toBe('running');
    expect(byId['report']?.status).toBe('pending');
    expect(s.progress).toEqual({ stage: 'calibrate', done: 3, total: 10, unit: 'batch', rate: 2.5, eta: 2.8, etaAt: 5000 });
    // the finished stage clears its progress
    s = reduceJobEvents(s, [{ type: 'stage', stage: 'calibrate', status: 'done', time: 2000 }]);
    expect(s.progress).toBeNull();
    s = reduceJobEvents(s, [{ type: 'result', report }]);
    expect(s.status).toBe('done');
    expect(s.report).toBe(report);
    // Done means every stage resolved and the bar at 100 %, even for stages that never reported.
    expect(s.stages.filter((x) => x.status === 'pending' || x.status === 'running')).toEqual([]);
    expect(overallFraction(s)).toBe(1);
  });

  it('appends log lines with increasing seq and trims the front past LOG_LIMIT', () => {
    let s = beginJob(startingJob(), 'j');
    const batch = (n: number, from: number): JobEvent[] => Array.from({ length: n }, (_, i) => ({ type: 'log', level: 'info', text: `l${from + i}`, time: 0 }));
    s = reduceJobEvents(s, batch(LOG_LIMIT - 5, 0));
    expect(s.log).toHaveLength(LOG_LIMIT - 5);
    s = reduceJobEvents(s, batch(12, LOG_LIMIT - 5));
    expect(s.log).toHaveLength(LOG_LIMIT);
    expect(s.logDropped).toBe(7);
    expect(s.log[0]?.text).toBe('l7');
    expect(s.log.at(-1)?.text).toBe(`l${LOG_LIMIT + 6}`);
    const seqs = s.log.map((l) => l.seq);
    expect(seqs.every((v, i) => i === 0 || v === (seqs[i - 1] ?? -1) + 1)).toBe(true);
  });

  it('keeps one artifact row per path (the latest)', () => {
    let s = beginJob(startingJob(), 'j');
    s = reduceJobEvents(s, [
      { type: 'artifact', role: 'cache', path: '/o/a.bin', bytes: 1, sha256: 'aa' },
      { type: 'artifact', role: 'etlt', path: '/o/m.etlt', bytes: 5, sha256: 'bb' },
      { type: 'artifact', role: 'cache', path: '/o/a.bin', bytes: 2, sha256: 'cc' },
    ]);
    expect(s.artifacts.map((a) => [a.path, a.bytes])).toEqual([
      ['/o/a.bin', 2],
      ['/o/m.etlt', 5],
    ]);
  });

  it('an error fails the running stage; E_CANCELLED is a cancel, not a failure', () => {
    const running = reduceJobEvents(beginJob(startingJob(), 'j'), [{ type: 'stage', stage: 'write', status: 'started', time: 0 }]);
    const failed = reduceJobEvents(running, [{ type: 'error', error: { code: 'E_OUTPUT_EXISTS', message: 'exists', hint: 'h' } }]);
    expect(failed.status).toBe('failed');
    expect(failed.stages.find((x) => x.id === 'write')?.status).toBe('failed');
    expect(failed.error?.code).toBe('E_OUTPUT_EXISTS');
    const cancelled = reduceJobEvents(running, [{ type: 'error', error: { code: 'E_CANCELLED', message: 'c', hint: 'h' } }]);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.stages.find((x) => x.id === 'write')?.status).toBe('cancelled');
  });

  it('returns the same object for an empty batch', () => {
    const s = initialJobState();
    expect(reduceJobEvents(s, [])).toBe(s);
  });
});

describe('receiveBatch / beginJob', () => {
  const ev = (text: string): JobEvent => ({ type: 'log', level: 'info', text, time: 0 });

  it('buffers batches that arrive before startExport answers, then replays only that job', () => {
    let s = startingJob();
    s = receiveBatch(s, { jobId: 'mine', events: [ev('early 1')] });
    s = receiveBatch(s, { jobId: 'other', events: [ev('not mine')] });
    s = receiveBatch(s, { jobId: 'mine', events: [ev('early 2')] });
    s = beginJob(s, 'mine');
    expect(s.log.map((l) => l.text)).toEqual(['early 1', 'early 2']);
    expect(s.early).toEqual([]);
    s = receiveBatch(s, { jobId: 'other', events: [ev('still not mine')] });
    s = receiveBatch(s, { jobId: 'mine', events: [ev('live')] });
    expect(s.log.map((l) => l.text)).toEqual(['early 1', 'early 2', 'live']);
  });

  it('a job the host queues is queued (with what it waits for) until it starts, even when that came before startExport answered', () => {
    let s = startingJob();
    s = receiveBatch(s, { jobId: 'mine', seq: 1, events: [], state: { status: 'queued', gpu: 0, waitingFor: ['busy'] } });
    s = beginJob(s, 'mine');
    expect(s.status).toBe('running');
    expect(s.queued).toEqual({ gpu: 0, waitingFor: ['busy'] });
    // Another job took the GPU in between: the list follows the host.
    s = receiveBatch(s, { jobId: 'mine', seq: 2, events: [], state: { status: 'queued', gpu: 0, waitingFor: ['busy2'] } });
    expect(s.queued).toEqual({ gpu: 0, waitingFor: ['busy2'] });
    // A pool job waits for any GPU of its pool (gpu null).
    s = receiveBatch(s, { jobId: 'mine', seq: 3, events: [], state: { status: 'queued', gpu: null, waitingFor: [] } });
    expect(s.queued).toEqual({ gpu: null, waitingFor: [] });
    s = receiveBatch(s, { jobId: 'mine', seq: 4, events: [], state: { status: 'starting', gpu: 1 } });
    expect(s.queued).toBeNull();
    // A stage event also means it left the queue (a missed state batch cannot leave it "queued").
    let t = receiveBatch(beginJob(startingJob(), 'x'), { jobId: 'x', events: [], state: { status: 'queued', gpu: 'cpu' } });
    expect(t.queued).toEqual({ gpu: 'cpu', waitingFor: [] });
    t = receiveBatch(t, { jobId: 'x', events: [{ type: 'stage', stage: 'validate', status: 'started', time: 1 }] });
    expect(t.queued).toBeNull();
    // Cancelled while queued: ends cancelled, not queued.
    let c = receiveBatch(beginJob(startingJob(), 'c'), { jobId: 'c', events: [], state: { status: 'queued', gpu: 0 } });
    c = receiveBatch(c, { jobId: 'c', events: [{ type: 'error', error: { code: 'E_CANCELLED', message: 'cancelled before it started', hint: '' } }], state: { status: 'cancelled', gpu: 0 } });
    expect(c).toMatchObject({ status: 'cancelled', queued: null });
  });

  it('ignores batches when idle', () => {
    const s = initialJobState();
    expect(receiveBatch(s, { jobId: 'x', events: [ev('a')] })).toBe(s);
  });
});

describe('overallFraction', () => {
  it('counts done stages plus the running stage progress, ignoring skipped ones', () => {
    let s = beginJob(startingJob(), 'j');
    const skipped = STAGES.slice(0, STAGES.indexOf('write'));
    s = reduceJobEvents(
      s,
      skipped.map((stage) => ({ type: 'stage', stage, status: 'skipped', time: 0 }) as JobEvent),
    );
    // 4 stages remain: write, deepstream, engine, report
    s = reduceJobEvents(s, [
      { type: 'stage', stage: 'write', status: 'started', time: 0 },
      { type: 'stage', stage: 'write', status: 'done', time: 1 },
      { type: 'stage', stage: 'deepstream', status: 'started', time: 1 },
      { type: 'progress', stage: 'deepstream', done: 1, total: 2, unit: 'file' },
    ]);
    expect(overallFraction(s)).toBeCloseTo(1.5 / 4);
  });
});

describe('filterLog / formatLogLines', () => {
  const lines = [
    { seq: 0, level: 'debug' as const, text: 'tensor conv1 amax 3.2', time: Date.UTC(2026, 0, 1) },
    { seq: 1, level: 'info' as const, text: 'Batch 1/10', time: Date.UTC(2026, 0, 1, 0, 0, 1) },
    { seq: 2, level: 'warn' as const, text: 'skipped 2 images', time: Date.UTC(2026, 0, 1, 0, 0, 2) },
  ];
  it('filters by level set and case-insensitive text', () => {
    expect(filterLog(lines, { levels: new Set(['info', 'warn']), text: '' }).map((l) => l.seq)).toEqual([1, 2]);
    expect(filterLog(lines, { levels: new Set(['debug', 'info', 'warn']), text: 'BATCH' }).map((l) => l.seq)).toEqual([1]);
    expect(filterLog(lines, { levels: new Set(['info']), text: 'amax' })).toEqual([]);
  });
  it('formats ISO time, padded level and text, one line each', () => {
    expect(formatLogLines(lines.slice(1))).toBe('2026-01-01T00:00:01.000Z INFO  Batch 1/10\n2026-01-01T00:00:02.000Z WARN  skipped 2 images\n');
    expect(formatLogLines([])).toBe('');
  });
});
