import { describe, expect, it } from 'vitest';
import { createRng, randomBelow, sampleIndices, shuffled } from './sampling.js';

describe('createRng', () => {
  it('is deterministic per seed and differs between nearby seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 8 }, () => a());
    expect(Array.from({ length: 8 }, () => b())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c())).not.toEqual(sa);
    for (const v of sa) expect(Number.isInteger(v) && v >= 0 && v < 2 ** 32).toBe(true);
  });

  it('keeps the high bits of large seeds', () => {
    expect(createRng(2 ** 32 + 5)()).not.toBe(createRng(5)());
  });

  it('rejects negative and fractional seeds', () => {
    expect(() => createRng(-1)).toThrow(RangeError);
    expect(() => createRng(1.5)).toThrow(RangeError);
  });
});

describe('randomBelow', () => {
  it('covers [0, n) roughly evenly', () => {
    const rng = createRng(7);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) counts[randomBelow(rng, 10)]! += 1;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });
});

describe('sampleIndices', () => {
  it('returns min(k, total) distinct indices in range', () => {
    const s = sampleIndices(1000, 100, 1);
    expect(s).toHaveLength(100);
    expect(new Set(s).size).toBe(100);
    for (const i of s) expect(i >= 0 && i < 1000).toBe(true);
    expect(sampleIndices(5, 10, 1).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(sampleIndices(0, 10, 1)).toEqual([]);
    expect(sampleIndices(10, 0, 1)).toEqual([]);
  });

  it('same seed → same selection; different seed → different', () => {
    expect(sampleIndices(10_000, 50, 42)).toEqual(sampleIndices(10_000, 50, 42));
    expect(sampleIndices(10_000, 50, 42)).not.toEqual(sampleIndices(10_000, 50, 43));
  });

  it('has the prefix property the reserve relies on', () => {
    const k = sampleIndices(5000, 40, 9);
    expect(sampleIndices(5000, 44, 9).slice(0, 40)).toEqual(k);
  });

  it('is uniform: every index is chosen about equally often over many seeds', () => {
    const total = 20;
    const counts = new Array<number>(total).fill(0);
    const seeds = 4000;
    for (let s = 0; s < seeds; s++) for (const i of sampleIndices(total, 5, s)) counts[i]! += 1;
    const expected = (seeds * 5) / total;
    for (const c of counts) expect(Math.abs(c - expected) / expected).toBeLessThan(0.1);
  });

  it('uses memory proportional to k, not total', () => {
    const s = sampleIndices(2 ** 32, 1000, 3);
    expect(new Set(s).size).toBe(1000);
    expect(Math.max(...s)).toBeLessThan(2 ** 32);
  });
});

describe('shuffled', () => {
  it('permutes a copy deterministically', () => {
    const items = Array.from({ length: 30 }, (_, i) => `f${i}`);
    const a = shuffled(items, 5);
    expect([...a].sort()).toEqual([...items].sort());
    expect(a).toEqual(shuffled(items, 5));
    expect(a).not.toEqual(items);
    expect(items[0]).toBe('f0');
  });
});
