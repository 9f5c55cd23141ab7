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

  it('coalesce does not mutate its input', () => {
    const input: JobEventBatch[] = [
      { jobId: 'a', events: [log('1')] },
      { jobId: 'a', events: [log('2')] },
    ];
    coalesce(input);
    expect(input[0]!.events).toHaveLength(1);
  });
});
