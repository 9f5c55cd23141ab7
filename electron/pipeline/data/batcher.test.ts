import { describe, expect, it } from 'vitest';
import { isStudioError, StudioError } from '../../../shared/errors.js';
import { batchSamples, mapOrdered } from './batcher.js';
import { createImageListSource } from './image-dir.js';
import { prefetchBatches } from './loader.js';
import { unitPp } from './test-images.js';
import type { Sample } from './types.js';

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('mapOrdered', () => {
  it('yields in input order although calls finish out of order, with bounded concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const out: number[] = [];
    for await (const r of mapOrdered([5, 1, 4, 2, 3, 0], 3, async (x) => {
      peak = Math.max(peak, ++inFlight);
      await delay(x * 3);
      inFlight--;
      if (x === 4) throw new Error('four');
      return x * 10;
    })) {
      out.push(r.ok ? r.value : -1);
    }
    expect(out).toEqual([50, 10, -1, 20, 30, 0]);
    expect(peak).toBe(3);
  });

  it('stopping early starts at most `concurrency` extra calls', async () => {
    const started: number[] = [];
    for await (const r of mapOrdered([0, 1, 2, 3, 4, 5, 6, 7], 2, async (x) => {
      started.push(x);
      if (x > 0) throw new Error('dropped, never unhandled');
      return x;
    })) {
      expect(r.ok).toBe(true);
      break;
    }
    expect(started.length).toBeLessThanOrEqual(3);
  });
});

describe('batchSamples', () => {
  async function* gen(n: number): AsyncGenerator<Sample> {
    for (let i = 0; i < n; i++) yield { id: `s${i}`, data: Float32Array.from([i, i, i, i, i, i]) };
  }
  it('packs samples back to back with [count, ...dims], keeping or dropping the short tail', async () => {
    const kept = [];
    for await (const b of batchSamples(gen(5), 2, [1, 2, 3])) kept.push(b);
    expect(kept.map((b) => b.dims)).toEqual([[2, 1, 2, 3], [2, 1, 2, 3], [1, 1, 2, 3]]);
    expect([...kept[1]!.data]).toEqual([2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
    expect(kept[2]!.ids).toEqual(['s4']);
    const dropped = [];
    for await (const b of batchSamples(gen(5), 2, [1, 2, 3], { dropPartial: true })) dropped.push(b);
    expect(dropped).toHaveLength(2);
  });
});

describe('prefetchBatches errors', () => {
  it('a failure in the producer reaches the consumer as the same StudioError, after the good batches', async () => {
    let n = 0;
    const src = createImageListSource({
      files: ['a', 'b', 'c', 'd', 'e'],
      pp: unitPp(1, 2),
      preprocess: async () => {
        if (++n === 4) throw new StudioError('E_RUNTIME', 'boom', 'h');
        return new Float32Array(6);
      },
    });
    const seen: number[] = [];
    const err = await (async () => {
      for await (const b of prefetchBatches(src, 2, { sampleDims: [3, 1, 2] })) seen.push(b.count);
    })().catch((e: unknown) => e);
    expect(isStudioError(err) && err.code).toBe('E_RUNTIME');
    expect(seen).toEqual([2]);
  });
});
