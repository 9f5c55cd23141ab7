import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clickSelect, emptySelection, nameMatcher, sampleNeed, selectAll, selectNone, selectRandom } from './selection.js';

const ids = Array.from({ length: 20 }, (_, i) => `id${i}`);
const sorted = (s: ReadonlySet<string>) => [...s].sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));

describe('clickSelect', () => {
  it('plain click toggles one image and moves the anchor', () => {
    let s = clickSelect(emptySelection, ids, 3, false);
    expect(sorted(s.selected)).toEqual(['id3']);
    expect(s.anchor).toBe(3);
    s = clickSelect(s, ids, 3, false);
    expect(s.selected.size).toBe(0);
  });

  it('shift-click selects the range from the anchor, in either direction', () => {
    let s = clickSelect(emptySelection, ids, 5, false);
    s = clickSelect(s, ids, 8, true);
    expect(sorted(s.selected)).toEqual(['id5', 'id6', 'id7', 'id8']);
    s = clickSelect(s, ids, 2, true);
    expect(sorted(s.selected)).toEqual(['id2', 'id3', 'id4', 'id5', 'id6', 'id7', 'id8']);
    expect(s.anchor).toBe(5);
  });

  it('shift-click from a deselected anchor deselects the range', () => {
    let s = selectAll(emptySelection, ids);
    s = clickSelect(s, ids, 4, false); // deselects id4, anchor 4
    s = clickSelect(s, ids, 7, true);
    expect(['id4', 'id5', 'id6', 'id7'].some((i) => s.selected.has(i))).toBe(false);
    expect(s.selected.size).toBe(16);
  });

  it('shift-click without an anchor acts like a plain click; out-of-range index is ignored', () => {
    const s = clickSelect(emptySelection, ids, 2, true);
    expect(sorted(s.selected)).toEqual(['id2']);
    expect(clickSelect(s, ids, 99, false)).toBe(s);
  });
});

describe('selectAll / selectNone', () => {
  it('select all adds the visible ids to an existing selection', () => {
    const s = selectAll({ selected: new Set(['x']), anchor: null }, ['a', 'b']);
    expect([...s.selected].sort()).toEqual(['a', 'b', 'x']);
    expect(selectNone().selected.size).toBe(0);
  });
});

describe('selectRandom', () => {
  it('is deterministic for a seed, picks n distinct visible ids, and differs across seeds', () => {
    const a = selectRandom(ids, 7, 42);
    const b = selectRandom(ids, 7, 42);
    const c = selectRandom(ids, 7, 43);
    expect(sorted(a.selected)).toEqual(sorted(b.selected));
    expect(a.selected.size).toBe(7);
    expect(sorted(a.selected)).not.toEqual(sorted(c.selected));
  });

  it('property: always a subset of size min(n, len)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 60 }), fc.nat(80), fc.nat(), (raw, n, seed) => {
        const pool = [...new Set(raw)];
        const s = selectRandom(pool, n, seed);
        expect(s.selected.size).toBe(Math.min(n, pool.length));
        for (const id of s.selected) expect(pool).toContain(id);
      }),
    );
  });

  it('is roughly uniform (each of 10 ids drawn about half the time for n=5)', () => {
    const pool = ids.slice(0, 10);
    const counts = new Map<string, number>();
    for (let seed = 0; seed < 2000; seed++) for (const id of selectRandom(pool, 5, seed).selected) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const id of pool) expect(counts.get(id) ?? 0).toBeGreaterThan(850);
  });
});

describe('nameMatcher', () => {
  it('substring, case-insensitive', () => {
    const m = nameMatcher('Street');
    expect(m('street_00001.jpg')).toBe(true);
    expect(m('dock_1.jpg')).toBe(false);
  });
  it('glob with * and ?, anchored, regex characters literal', () => {
    expect(nameMatcher('*.png')('a.png')).toBe(true);
    expect(nameMatcher('*.png')('a.png.jpg')).toBe(false);
    expect(nameMatcher('cam?_*')('cam1_x.jpg')).toBe(true);
    expect(nameMatcher('cam?_*')('cam12_x.jpg')).toBe(false);
    expect(nameMatcher('a+(b)*')('a+(b)c')).toBe(true);
  });
  it('empty filter matches everything', () => {
    expect(nameMatcher('  ')('anything')).toBe(true);
  });
});

describe('sampleNeed', () => {
  it('needs batches × batch size and reports the shortfall', () => {
    expect(sampleNeed(70, 10, 8)).toEqual({ needed: 80, selected: 70, short: 10 });
    expect(sampleNeed(100, 10, 8).short).toBe(0);
  });
});
