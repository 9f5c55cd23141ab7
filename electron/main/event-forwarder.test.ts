import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobEventBatch } from '../../shared/api.js';
import type { JobEvent } from '../../shared/events.js';
import { JOB_EVENTS_CHANNEL } from '../../shared/ipc-channels.js';
import { JobEventForwarder, coalesce } from './event-forwarder.js';

const log = (text: string): JobEvent => ({ type: 'log', level: 'info', text, time: 0 });

afterEach(() => vi.useRealTimers());

describe('JobEventForwarder', () => {
  it('merges batches per job within an interval, keeping order, and sends once per job', () => {
    vi.useFakeTimers();
    const sent: [string, JobEventBatch][] = [];
    const f = new JobEventForwarder({ send: (c, b) => void sent.push([c, b]), isDestroyed: () => false }, 50);
    f.push({ jobId: 'a', events: [log('1')] });
    f.push({ jobId: 'b', events: [log('x')] });
    f.push({ jobId: 'a', events: [log('2'), log('3')] });
    f.push({ jobId: 'a', events: [] });
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(sent.map(([c, b]) => [c, b.jobId, b.events.map((e) => (e.type === 'log' ? e.text : ''))])).toEqual([
      [JOB_EVENTS_CHANNEL, 'a', ['1', '2', '3']],
      [JOB_EVENTS_CHANNEL, 'b', ['x']],
    ]);
    f.push({ jobId: 'a', events: [log('4')] });
    vi.advanceTimersByTime(50);
    expect(sent).toHaveLength(3);
  });

  it('stops sending to a destroyed window and drops pending events on dispose', () => {
    vi.useFakeTimers();
    let destroyed = false;
    const send = vi.fn();
    const f = new JobEventForwarder({ send, isDestroyed: () => destroyed }, 50);
    f.push({ jobId: 'a', events: [log('1')] });
    destroyed = true;
    vi.advanceTimersByTime(50);
    f.push({ jobId: 'a', events: [log('2')] });
    f.dispose();
    vi.advanceTimersByTime(100);
    expect(send).not.toHaveBeenCalled();
  });

  it('keeps queue-state changes (even without events) and the latest seq; never merges into a snapshot', () => {
    vi.useFakeTimers();
    const sent: JobEventBatch[] = [];
    const f = new JobEventForwarder({ send: (_c, b) => void sent.push(b), isDestroyed: () => false }, 50);
    f.push({ jobId: 'q', events: [], state: { status: 'queued', gpu: 1, waitingFor: ['a'] }, seq: 1 });
    vi.advanceTimersByTime(50);
    expect(sent).toEqual([{ jobId: 'q', events: [], state: { status: 'queued', gpu: 1, waitingFor: ['a'] }, seq: 1 }]);
    f.push({ jobId: 'a', events: [log('1')], seq: 7 });
    f.push({ jobId: 'a', events: [], state: { status: 'done', gpu: 0 }, seq: 8 });
    vi.advanceTimersByTime(50);
    expect(sent[1]).toEqual({ jobId: 'a', events: [log('1')], state: { status: 'done', gpu: 0 }, seq: 8 });
    const snap = { jobId: 'a', seq: 9 } as unknown as NonNullable<JobEventBatch['snapshot']>;
    const merged = coalesce([{ jobId: 'a', events: [log('x')], seq: 8 }, { jobId: 'a', events: [], seq: 9, snapshot: snap }, { jobId: 'a', events: [log('y')], seq: 10 }]);
    expect(merged.map((b) => [b.seq, b.events.length, Boolean(b.snapshot)])).toEqual([
      [8, 1, false],
      [9, 0, true],
      [10, 1, false],
    ]);
  });

  it('coalesce does not mutate its input', () => {
    const input: JobEventBatch[] = [
      { jobId: 'a', events: [log('1')] },
      { jobId: 'a', events: [log('2')] },
    ];
    coalesce(input);
    expect(input[0]!.events).toHaveLength(1);
  });
});
