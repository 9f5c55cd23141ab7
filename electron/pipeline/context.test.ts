import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../shared/events.js';
import { JobContext } from './context.js';
import { StudioError } from '../../shared/errors.js';

function collect(now: () => number, interval = 100) {
  const events: JobEvent[] = [];
  const ctx = new JobContext((e) => events.push(e), new AbortController().signal, ['s3cr3t-KEY'], { progressIntervalMs: interval, now });
  return { ctx, events };
}

describe('JobContext', () => {
  it('redacts the key from logs, stage details and errors', () => {
    const { ctx, events } = collect(() => 0);
    ctx.info('decrypting with s3cr3t-KEY now');
    ctx.stage('model', 'done', 'key s3cr3t-KEY ok');
    ctx.emit({ type: 'error', error: new StudioError('E_INTERNAL', 'boom s3cr3t-KEY', 'hint s3cr3t-KEY', { excerpt: 'x s3cr3t-KEY' }).toData() });
    const text = JSON.stringify(events);
    expect(text).not.toContain('s3cr3t-KEY');
    expect(text.match(/\*{8}/g)?.length).toBe(5);
  });

  it('rate-limits progress but always delivers the last value and completion', async () => {
    let t = 1000;
    const { ctx, events } = collect(() => t, 100);
    for (let i = 1; i <= 50; i++) {
      t += 2; // 50 updates within 100 ms
      ctx.progress('calibrate', i, 100, 'images');
    }
    const during = events.filter((e) => e.type === 'progress').length;
    expect(during).toBeLessThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 150));
    const progress = events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress');
    expect(progress.at(-1)?.done).toBe(50); // trailing value flushed
    ctx.progress('calibrate', 100, 100, 'images');
    expect(events.at(-1)).toMatchObject({ type: 'progress', done: 100, total: 100 });
  });

  it('computes a rate and an ETA from progress over time', () => {
    let t = 0;
    const { ctx, events } = collect(() => t, 0);
    for (let i = 0; i <= 10; i++) {
      t = i * 1000;
      ctx.progress('calibrate', i * 5, 100, 'images');
    }
    const last = events.at(-1) as Extract<JobEvent, { type: 'progress' }>;
    expect(last.rate).toBeCloseTo(5, 5);
    expect(last.eta).toBeCloseTo(10, 5);
  });

  it('passes a step\'s planned ETA through, without a rate of uneven units', () => {
    let t = 0;
    const { ctx, events } = collect(() => t, 0);
    ctx.progress('fidelity', 10, 100, '%', { eta: 42 });
    t = 1000;
    ctx.progress('fidelity', 20, 100, '%', {});
    const p = events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress');
    expect(p[0]).toMatchObject({ done: 10, total: 100, unit: '%', eta: 42 });
    expect(p[0]!.rate).toBeUndefined();
    expect(p[1]!.eta).toBeUndefined();
  });

  it('a progress event delivered late counts its ETA down by the time it waited', () => {
    let t = 1000;
    const { ctx, events } = collect(() => t, 100);
    ctx.progress('fidelity', 10, 100, '%', { eta: 20 });
    t = 1050;
    ctx.progress('fidelity', 11, 100, '%', { eta: 19 }); // pending: within 100 ms of the last
    t = 6050; // a long synchronous run held the thread
    ctx.flushProgress();
    const p = events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress');
    expect(p.map((e) => e.done)).toEqual([10, 11]);
    expect(p[1]!.eta).toBeCloseTo(14, 6);
  });

  it('turns an aborted signal into E_CANCELLED', () => {
    const ac = new AbortController();
    const ctx = new JobContext(() => undefined, ac.signal, []);
    expect(() => ctx.checkCancelled()).not.toThrow();
    ac.abort();
    expect(() => ctx.checkCancelled()).toThrow(expect.objectContaining({ code: 'E_CANCELLED' }));
  });
});
