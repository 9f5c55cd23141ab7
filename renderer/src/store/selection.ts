/**
 * Thumbnail-grid selection, pure. `ids` is always the visible (filtered) order, so a
 * shift-click range follows what the user sees.
 */
export interface SelectionState {
  selected: ReadonlySet<string>;
  /** Index in the visible list of the last plain click (range start). */
  anchor: number | null;
}

export const emptySelection: SelectionState = { selected: new Set(), anchor: null };

/**
 * Plain click toggles one image and moves the anchor; shift-click gives the whole range from
 * the anchor the clicked image's new state (select or deselect), like file managers.
 */
export function clickSelect(state: SelectionState, ids: readonly string[], index: number, shift: boolean): SelectionState {
  const id = ids[index];
  if (id === undefined) return state;
  const next = new Set(state.selected);
  if (shift && state.anchor !== null && state.anchor < ids.length) {
    const anchorId = ids[state.anchor];
    const on = anchorId === undefined ? true : state.selected.has(anchorId);
    const [lo, hi] = state.anchor <= index ? [state.anchor, index] : [index, state.anchor];
    for (let i = lo; i <= hi; i++) {
      const v = ids[i];
      if (v === undefined) continue;
      if (on) next.add(v);
      else next.delete(v);
    }
    return { selected: next, anchor: state.anchor };
  }
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return { selected: next, anchor: index };
}

export function selectAll(state: SelectionState, ids: readonly string[]): SelectionState {
  const next = new Set(state.selected);
  for (const id of ids) next.add(id);
  return { selected: next, anchor: state.anchor };
}

export function selectNone(): SelectionState {
  return { selected: new Set(), anchor: null };
}

/** mulberry32: tiny, fast, good enough to make "random N" reproducible for a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Replace the selection with n images drawn without replacement (partial Fisher–Yates). */
export function selectRandom(ids: readonly string[], n: number, seed: number): SelectionState {
  const pool = ids.slice();
  const k = Math.max(0, Math.min(n, pool.length));
  const rand = seededRandom(seed);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    const a = pool[i] as string;
    pool[i] = pool[j] as string;
    pool[j] = a;
  }
  return { selected: new Set(pool.slice(0, k)), anchor: null };
}

/**
 * Name filter: case-insensitive substring, or a glob when it contains * or ?
 * (e.g. "*.png", "cam0?_*").
 */
export function nameMatcher(filter: string): (name: string) => boolean {
  const f = filter.trim().toLowerCase();
  if (f === '') return () => true;
  if (!/[*?]/.test(f)) return (name) => name.toLowerCase().includes(f);
  const re = new RegExp(
    '^' +
      f
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('') +
      '$',
  );
  return (name) => re.test(name.toLowerCase());
}

export interface SampleNeed {
  needed: number;
  selected: number;
  /** How many more images are needed (0 when enough). */
  short: number;
}

export function sampleNeed(selected: number, batches: number, batchSize: number): SampleNeed {
  const needed = Math.max(0, batches) * Math.max(0, batchSize);
  return { needed, selected, short: Math.max(0, needed - selected) };
}
